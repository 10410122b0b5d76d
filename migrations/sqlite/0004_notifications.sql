-- WeChat subscribe messages. The event log is the outbox: a worker advances a cursor over
-- it (claimed with a conditional update, so one instance handles each event) and writes the
-- messages each event causes; a sender then claims messages one at a time.

CREATE TABLE log_cursors (
    name     TEXT PRIMARY KEY,
    last_id  INTEGER NOT NULL
);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    event_id    INTEGER NOT NULL REFERENCES case_events(id),
    template    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    error       TEXT,
    UNIQUE (event_id, user_id)
);
CREATE INDEX notifications_due ON notifications(status, next_at);
