-- Supervision (督办): the escalation scan looks for open cases by deadline.
CREATE INDEX cases_due ON cases(status, due_at);
