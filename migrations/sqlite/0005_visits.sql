-- Household visits (入户走访): households bound to a grid and to a responsible cadre (包保),
-- supervisors bound to communities, visit rounds, visits recorded on phones (ids generated
-- there) with their findings, photos and corrections, and weekly meeting records.

CREATE TABLE households (
    id                   INTEGER PRIMARY KEY,
    area_id              INTEGER NOT NULL REFERENCES areas(id),
    address              TEXT NOT NULL,
    head_name            TEXT,
    phone                TEXT,
    members              INTEGER NOT NULL DEFAULT 1,
    -- JSON array of strings
    tags                 TEXT NOT NULL DEFAULT '[]',
    lat                  REAL,
    lng                  REAL,
    responsible_user_id  INTEGER REFERENCES users(id),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (area_id, address)
);
CREATE INDEX households_responsible ON households(responsible_user_id);

-- The communities a supervisor covers, besides the area on the user row.
CREATE TABLE supervisor_areas (
    user_id  INTEGER NOT NULL REFERENCES users(id),
    area_id  INTEGER NOT NULL REFERENCES areas(id),
    PRIMARY KEY (user_id, area_id)
);

CREATE TABLE visit_rounds (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    area_id     INTEGER NOT NULL REFERENCES areas(id),
    starts_on   TEXT NOT NULL,
    due_on      TEXT NOT NULL,
    -- the round's window in epoch ms: [start of starts_on, start of the day after due_on), Beijing time
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE visits (
    id             TEXT PRIMARY KEY,
    household_id   INTEGER NOT NULL REFERENCES households(id),
    round_id       INTEGER REFERENCES visit_rounds(id),
    visitor_id     INTEGER NOT NULL REFERENCES users(id),
    visited_at     INTEGER NOT NULL,
    recorded_at    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    lat            REAL,
    lng            REAL,
    accuracy       REAL,
    distance_m     REAL,
    -- comma-separated VisitFlag names
    flags          TEXT NOT NULL DEFAULT '',
    flagged        BOOLEAN NOT NULL DEFAULT FALSE,
    purpose        TEXT NOT NULL,
    notes          TEXT,
    satisfaction   TEXT,
    follow_up_on   TEXT,
    -- start of the day after follow_up_on (Beijing time): overdue from then without a later visit
    follow_up_due  INTEGER,
    revision       INTEGER NOT NULL,
    -- SHA-256 of the input as sent, so a replay is told from a conflicting edit
    content_hash   TEXT NOT NULL
);
CREATE INDEX visits_household ON visits(household_id, visited_at);
CREATE INDEX visits_round ON visits(round_id);
CREATE INDEX visits_visitor ON visits(visitor_id, visited_at);

CREATE TABLE visit_findings (
    visit_id     TEXT NOT NULL REFERENCES visits(id),
    id           TEXT NOT NULL,
    position     INTEGER NOT NULL,
    text         TEXT NOT NULL,
    category_id  INTEGER REFERENCES categories(id),
    case_id      INTEGER REFERENCES cases(id),
    PRIMARY KEY (visit_id, id)
);
CREATE INDEX visit_findings_case ON visit_findings(case_id);

-- Earlier versions of corrected visits (append-only).
CREATE TABLE visit_revisions (
    visit_id     TEXT NOT NULL REFERENCES visits(id),
    revision     INTEGER NOT NULL,
    snapshot     TEXT NOT NULL,
    replaced_at  INTEGER NOT NULL,
    replaced_by  INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (visit_id, revision)
);

CREATE TABLE visit_photos (
    id            INTEGER PRIMARY KEY,
    visit_id      TEXT NOT NULL REFERENCES visits(id),
    client_id     TEXT NOT NULL,
    uploaded_by   INTEGER NOT NULL REFERENCES users(id),
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    storage_key   TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (visit_id, client_id)
);

CREATE TABLE meetings (
    id             TEXT PRIMARY KEY,
    area_id        INTEGER NOT NULL REFERENCES areas(id),
    supervisor_id  INTEGER NOT NULL REFERENCES users(id),
    held_at        INTEGER NOT NULL,
    attended       BOOLEAN NOT NULL,
    checked        TEXT,
    notes          TEXT,
    recorded_at    INTEGER NOT NULL,
    content_hash   TEXT NOT NULL
);
CREATE INDEX meetings_area ON meetings(area_id, held_at);
