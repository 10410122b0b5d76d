-- City-wide access is an explicit grant, no longer the absence of an area: a dispatcher,
-- supervisor or leader with neither an area nor this grant sees nothing.
ALTER TABLE users ADD COLUMN all_areas BOOLEAN NOT NULL DEFAULT FALSE;

-- Those who saw the whole city because they had no area keep it, now said explicitly, so
-- no deployment loses access by upgrading. An admin can bind them to an area later.
UPDATE users SET all_areas = TRUE
 WHERE area_id IS NULL AND role IN ('dispatcher', 'supervisor', 'leader');
