-- 吹哨报到: the departments summoned to a case (one lead, any number of co-handlers), each
-- with its report-in deadline and state; `ladder_level` is how far its own report-in
-- ladder has climbed (claimed step by step with a conditional update, once across instances).
CREATE TABLE case_summons (
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    role           TEXT NOT NULL CHECK (role IN ('lead', 'co')),
    state          TEXT NOT NULL CHECK (state IN ('summoned', 'reported_in', 'part_done', 'released')),
    due_at         INTEGER NOT NULL,
    summoned_at    INTEGER NOT NULL,
    reported_at    INTEGER,
    done_at        INTEGER,
    released_at    INTEGER,
    release_reason TEXT,
    ladder_level   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, department_id)
);
CREATE INDEX case_summons_department ON case_summons (department_id, state);
CREATE INDEX case_summons_due ON case_summons (state, due_at);

-- Points for answering a whistle: reporting in by the deadline, and late (for the handler
-- who reported in and the summoned department).
INSERT INTO point_rules (kind, points) VALUES
    ('report_in_on_time', 1),
    ('report_in_late', -1);
