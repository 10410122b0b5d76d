-- The working calendar (法定节假日与调休): per year, the dates that are off and the weekend
-- dates that are working days, each with its holiday's name. A date not listed is a working
-- day from Monday to Friday. Days are Beijing-time dates 'YYYY-MM-DD'; times epoch ms.
CREATE TABLE calendar_years (
    year        BIGINT PRIMARY KEY,
    -- 'bundled' (loaded from the shipped holiday-cn file) or 'admin' (put through the API)
    source      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  BIGINT REFERENCES users(id)
);
CREATE TABLE calendar_days (
    day      TEXT PRIMARY KEY,
    year     BIGINT NOT NULL REFERENCES calendar_years(year) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    off_day  BOOLEAN NOT NULL
);
CREATE INDEX calendar_days_year ON calendar_days(year);

-- A category's resolution deadline in working days (NULL: in natural hours, `resolve_hours`).
ALTER TABLE categories ADD COLUMN resolve_workdays BIGINT;
-- The working days a case's deadline was counted in when it was set (NULL: natural hours).
ALTER TABLE cases ADD COLUMN due_workdays BIGINT;
