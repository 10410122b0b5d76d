-- The 12345 hotline as a channel, and FixMyStreet's inbound updates.

-- What an API key may do: `open311` (GeoReport v2, the keys issued before) or `hotline`
-- (`POST /api/v1/hotline/tickets`).
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'open311' CHECK (scope IN ('open311', 'hotline'));

-- The hotline's category codes, mapped to ours by the admin; one row holds the default.
CREATE TABLE hotline_categories (
    code         TEXT PRIMARY KEY,
    category_id  INTEGER NOT NULL REFERENCES categories(id),
    updated_at   INTEGER NOT NULL
);
CREATE TABLE hotline_settings (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    default_category_id  INTEGER REFERENCES categories(id),
    updated_at           INTEGER NOT NULL
);

-- One row a ticket: the case it became (a resend finds it here), and the hotline's own
-- deadline, which wins over the category's whenever the case's deadline is set.
CREATE TABLE hotline_tickets (
    api_key_id     INTEGER NOT NULL REFERENCES api_keys(id),
    ticket_no      TEXT NOT NULL,
    case_id        INTEGER NOT NULL UNIQUE REFERENCES cases(id),
    category_code  TEXT,
    due_at         INTEGER,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, ticket_no)
);

-- Results to call the platform back with, one per case event (resolve, close, return,
-- reject), written by the worker that advances the `hotline_callbacks` log cursor.
CREATE TABLE hotline_callbacks (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    event_id    INTEGER NOT NULL UNIQUE REFERENCES case_events(id),
    ticket_no   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    error       TEXT
);
CREATE INDEX hotline_callbacks_due ON hotline_callbacks (status, next_at);

-- FixMyStreet's updates (`POST servicerequestupdates`): one timeline event each, once per
-- (key, update_id).
CREATE TABLE open311_updates (
    api_key_id  INTEGER NOT NULL REFERENCES api_keys(id),
    update_id   TEXT NOT NULL,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    event_id    INTEGER NOT NULL REFERENCES case_events(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, update_id)
);
