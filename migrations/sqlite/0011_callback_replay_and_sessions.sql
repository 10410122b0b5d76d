-- The official-account callback refuses replays: every (timestamp, nonce) pair it accepted
-- within the replay window is kept here (pruned after the window), so it holds across
-- instances. `ts` is WeChat's timestamp, in seconds.
CREATE TABLE wechat_nonces (
    ts       INTEGER NOT NULL,
    nonce    TEXT NOT NULL,
    PRIMARY KEY (ts, nonce)
);

-- Messages are deduplicated per sender: a MsgId is only unique for one follower, and one
-- follower must never be handed another's stored reply. SQLite cannot change a primary
-- key, so the table is rebuilt.
CREATE TABLE wechat_messages_by_sender (
    openid      TEXT NOT NULL,
    msg_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    case_id     INTEGER REFERENCES cases(id),
    reply       TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (openid, msg_id)
);
INSERT INTO wechat_messages_by_sender (openid, msg_id, kind, case_id, reply, created_at)
    SELECT openid, msg_id, kind, case_id, reply, created_at FROM wechat_messages;
DROP TABLE wechat_messages;
ALTER TABLE wechat_messages_by_sender RENAME TO wechat_messages;
CREATE INDEX wechat_messages_openid ON wechat_messages(openid, created_at);

-- A web-view ticket, and the session made from it, name the session that asked for it:
-- revoking that session revokes them too.
ALTER TABLE sessions ADD COLUMN parent_hash TEXT;
CREATE INDEX sessions_parent ON sessions(parent_hash);
