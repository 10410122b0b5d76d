-- The official-account callback refuses replays: every (timestamp, nonce) pair it accepted
-- within the replay window is kept here (pruned after the window), so it holds across
-- instances. `ts` is WeChat's timestamp, in seconds.
CREATE TABLE wechat_nonces (
    ts       BIGINT NOT NULL,
    nonce    TEXT NOT NULL,
    PRIMARY KEY (ts, nonce)
);

-- Messages are deduplicated per sender: a MsgId is only unique for one follower, and one
-- follower must never be handed another's stored reply.
ALTER TABLE wechat_messages DROP CONSTRAINT wechat_messages_pkey;
ALTER TABLE wechat_messages ADD PRIMARY KEY (openid, msg_id);

-- A web-view ticket, and the session made from it, name the session that asked for it:
-- revoking that session revokes them too.
ALTER TABLE sessions ADD COLUMN parent_hash TEXT;
CREATE INDEX sessions_parent ON sessions(parent_hash);
