-- The public board (公开晾晒) and 民生实事 projects.

-- A photo is shown on the public board only once the desk has approved it.
ALTER TABLE photos ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE projects (
    id             INTEGER PRIMARY KEY,
    title          TEXT NOT NULL,
    description    TEXT,
    area_id        INTEGER NOT NULL REFERENCES areas(id),
    budget         REAL,
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    parent_id      INTEGER REFERENCES projects(id),
    -- its share of the parent's progress, relative to the parent's stages and other children
    weight         REAL NOT NULL DEFAULT 1,
    created_by     INTEGER NOT NULL REFERENCES users(id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX projects_parent ON projects(parent_id);

CREATE TABLE project_stages (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL REFERENCES projects(id),
    position       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    planned_start  TEXT NOT NULL,
    planned_end    TEXT NOT NULL,
    -- Beijing midnight after planned_end, epoch ms: late from then while not done
    late_after     INTEGER NOT NULL,
    weight         REAL NOT NULL,
    done           BOOLEAN NOT NULL DEFAULT FALSE,
    done_at        INTEGER,
    note           TEXT
);
CREATE INDEX project_stages_project ON project_stages(project_id, position);

CREATE TABLE project_photos (
    id            INTEGER PRIMARY KEY,
    stage_id      INTEGER NOT NULL REFERENCES project_stages(id),
    uploaded_by   INTEGER NOT NULL REFERENCES users(id),
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    storage_key   TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX project_photos_stage ON project_photos(stage_id);

-- Each project's append-only timeline: creation and every stage change.
CREATE TABLE project_events (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    stage_id    INTEGER REFERENCES project_stages(id),
    at          INTEGER NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    note        TEXT
);
CREATE INDEX project_events_project ON project_events(project_id, id);
