-- 领导包案: the leader who took a case (by `take`, or named by the desk's top-rung
-- `escalate`), and the latest instruction (批示) for the handlers' banner. Every take and
-- instruction is also an event on the case's timeline, written in the same transaction.
CREATE TABLE case_leaders (
    case_id        BIGINT PRIMARY KEY REFERENCES cases(id),
    leader_id      BIGINT NOT NULL REFERENCES users(id),
    taken_at       BIGINT NOT NULL,
    via            TEXT NOT NULL CHECK (via IN ('take', 'escalate')),
    instruction    TEXT,
    instructed_at  BIGINT
);
CREATE INDEX case_leaders_leader ON case_leaders (leader_id, case_id);

-- 一个项目、一名区领导: the leader who took a 民生实事 project.
CREATE TABLE project_leaders (
    project_id     BIGINT PRIMARY KEY REFERENCES projects(id),
    leader_id      BIGINT NOT NULL REFERENCES users(id),
    taken_at       BIGINT NOT NULL
);
