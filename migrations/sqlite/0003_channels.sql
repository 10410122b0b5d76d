-- Machine intake channels: Open311 API keys, WeChat official-account messages, and the
-- content-security verdicts that keep a case private until WeChat has passed its text.

-- An Open311 client. Each key submits as its own resident user, so idempotency and
-- limits work per client exactly as they do per resident. Only a SHA-256 of the key is kept.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    key_hash    TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- One row per official-account MsgId: WeChat retries a message it thinks went unanswered,
-- and a retry must get the same reply and never a second case.
CREATE TABLE wechat_messages (
    msg_id      TEXT PRIMARY KEY,
    openid      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    case_id     INTEGER REFERENCES cases(id),
    reply       TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX wechat_messages_openid ON wechat_messages(openid, created_at);

-- Cases whose text WeChat has not passed (yet): `review` and `risky` wait for a dispatcher,
-- `pending` is retried. A case here stays private; `want_public` is what the resident asked.
CREATE TABLE content_checks (
    case_id      INTEGER PRIMARY KEY REFERENCES cases(id),
    verdict      TEXT NOT NULL,
    label        INTEGER,
    want_public  BOOLEAN NOT NULL,
    openid       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX content_checks_due ON content_checks(verdict, next_at);
