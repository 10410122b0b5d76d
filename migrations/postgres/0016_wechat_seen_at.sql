-- When the user last signed in through the mini-program (`/api/v1/auth/wechat`), in ms.
-- WeChat's msg_sec_check v2 answers only for a user who opened the mini-program in the
-- last two hours, so the content check calls it only within that window.
ALTER TABLE users ADD COLUMN wechat_seen_at BIGINT;
