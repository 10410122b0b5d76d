-- The case ledger: reference data, users, sessions, cases, their timeline and photos.
-- Times are milliseconds since the Unix epoch (UTC), the same in both databases.

CREATE TABLE areas (
    id         INTEGER PRIMARY KEY,
    parent_id  INTEGER REFERENCES areas(id),
    level      TEXT NOT NULL,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    name_en    TEXT,
    -- materialized path "/1/4/17/" so a subtree is one LIKE on an index
    path       TEXT NOT NULL DEFAULT '',
    lat        REAL,
    lng        REAL,
    boundary   TEXT
);
CREATE INDEX areas_path ON areas(path);

CREATE TABLE departments (
    id       INTEGER PRIMARY KEY,
    code     TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    name_en  TEXT,
    area_id  INTEGER REFERENCES areas(id)
);

CREATE TABLE categories (
    id             INTEGER PRIMARY KEY,
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    name_en        TEXT,
    tier           TEXT NOT NULL,
    resolve_hours  INTEGER NOT NULL,
    accept_hours   INTEGER NOT NULL,
    sign_hours     INTEGER NOT NULL,
    default_department_id INTEGER REFERENCES departments(id),
    active         BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT UNIQUE,
    password_hash  TEXT,
    openid         TEXT UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    department_id  INTEGER REFERENCES departments(id),
    area_id        INTEGER REFERENCES areas(id),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     INTEGER NOT NULL
);

-- Bearer sessions and single-use web-view tickets; only a SHA-256 of the secret is kept.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE cases (
    id                 INTEGER PRIMARY KEY,
    tracking_no        TEXT UNIQUE,
    client_request_id  TEXT NOT NULL,
    created_by         INTEGER NOT NULL REFERENCES users(id),
    channel            TEXT NOT NULL,
    category_id        INTEGER NOT NULL REFERENCES categories(id),
    description        TEXT NOT NULL,
    lat                REAL,
    lng                REAL,
    address            TEXT,
    area_id            INTEGER REFERENCES areas(id),
    department_id      INTEGER REFERENCES departments(id),
    anonymous          BOOLEAN NOT NULL DEFAULT FALSE,
    public             BOOLEAN NOT NULL DEFAULT FALSE,
    contact_name       TEXT,
    contact_phone      TEXT,
    status             TEXT NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    escalation_level   INTEGER NOT NULL DEFAULT 0,
    merged_into        INTEGER REFERENCES cases(id),
    satisfaction       TEXT,
    stars              INTEGER,
    accept_due_at      INTEGER,
    sign_due_at        INTEGER,
    due_at             INTEGER,
    resolved_at        INTEGER,
    closed_at          INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (created_by, client_request_id)
);
CREATE INDEX cases_status ON cases(status, id);
CREATE INDEX cases_area ON cases(area_id, id);
CREATE INDEX cases_department ON cases(department_id, status);
CREATE INDEX cases_created_by ON cases(created_by, id);
CREATE INDEX cases_created_at ON cases(created_at);
CREATE INDEX cases_resolved ON cases(status, resolved_at);

-- Append-only: the timeline of every case and the source of the live feed.
CREATE TABLE case_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    at           INTEGER NOT NULL,
    actor_id     INTEGER REFERENCES users(id),
    actor_role   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    note         TEXT,
    data         TEXT
);
CREATE INDEX case_events_case ON case_events(case_id, id);

CREATE TABLE photos (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    event_id      INTEGER REFERENCES case_events(id),
    uploaded_by   INTEGER NOT NULL REFERENCES users(id),
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    storage_key   TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX photos_case ON photos(case_id);
