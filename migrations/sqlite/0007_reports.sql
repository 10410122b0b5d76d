-- Daily work reports (每日工作报备) and the points ledger (积分考核, 按事计分).
-- Times are epoch milliseconds; days are Beijing-time dates 'YYYY-MM-DD'.

-- One report per cadre per day; a resubmission updates it and keeps `filed_at` and `status`.
CREATE TABLE work_reports (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    day         TEXT NOT NULL,
    summary     TEXT NOT NULL,
    plan        TEXT,
    -- on_time | late, decided by the first filing against the day's deadline
    status      TEXT NOT NULL,
    -- JSON ReportFigures as of the last submission
    figures     TEXT NOT NULL,
    filed_at    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (user_id, day)
);
CREATE INDEX work_reports_day ON work_reports(day);
CREATE INDEX work_reports_filed ON work_reports(filed_at);

-- Every client_request_id a report was submitted with, so a retried submission is a no-op.
CREATE TABLE work_report_requests (
    user_id            INTEGER NOT NULL REFERENCES users(id),
    client_request_id  TEXT NOT NULL,
    report_id          INTEGER NOT NULL REFERENCES work_reports(id),
    PRIMARY KEY (user_id, client_request_id)
);

-- Points per event kind, set by an admin. `version` rises on every change; an event earns
-- points only if its rule is active when the worker sees it and was already active
-- (`active_since`) when the event happened.
CREATE TABLE point_rules (
    kind          TEXT PRIMARY KEY,
    points        INTEGER NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    version       INTEGER NOT NULL DEFAULT 1,
    active_since  INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER,
    updated_by    INTEGER REFERENCES users(id)
);
INSERT INTO point_rules (kind, points) VALUES
    ('case_resolved_on_time', 3),
    ('case_resolved_late', -2),
    ('case_escalated', -1),
    ('rating_satisfied', 2),
    ('rating_unsatisfied', -3),
    ('visit_made', 1),
    ('report_on_time', 1),
    ('report_late', -1),
    ('report_missing', -2);

-- The ledger: each entry names its cause (source_kind 'event' | 'visit' | 'report' |
-- 'missing', source_id the event id, visit id, report id or '<user id>:<day>') and is
-- written once per (kind, source, user): `user_key` is the user id or 0, because NULLs
-- never collide in a unique key.
CREATE TABLE point_entries (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    source_kind    TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    user_id        INTEGER REFERENCES users(id),
    user_key       INTEGER NOT NULL,
    department_id  INTEGER REFERENCES departments(id),
    case_id        INTEGER REFERENCES cases(id),
    points         INTEGER NOT NULL,
    rule_version   INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (kind, source_kind, source_id, user_key)
);
CREATE INDEX point_entries_at ON point_entries(at);
CREATE INDEX point_entries_user ON point_entries(user_id, at);
CREATE INDEX point_entries_department ON point_entries(department_id, at);
