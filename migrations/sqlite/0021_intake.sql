-- The desk's intake (来电、来信、来访登记) and its approvals: the 12345 hotline's own ticket
-- number of a case taken from the hotline, and when the desk decided a photo's publication
-- (approved or refused for the public board; NULL: waiting for the desk). Photos approved
-- before count as decided when they were uploaded.
ALTER TABLE cases ADD COLUMN hotline_ticket_no TEXT;
ALTER TABLE photos ADD COLUMN publication_decided_at INTEGER;
UPDATE photos SET publication_decided_at = created_at WHERE public;
CREATE INDEX photos_publication_waiting ON photos(publication_decided_at, case_id);
-- The desk's look for open cases of a category nearby (`GET /api/v1/cases/nearby`).
CREATE INDEX cases_category_created ON cases(category_id, created_at);
