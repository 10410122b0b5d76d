-- Failed logins per username, for the lockout (kept in the database so it holds across instances).
CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    username  TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX login_failures_user ON login_failures(username, at);
