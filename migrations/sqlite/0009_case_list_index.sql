-- The staff list filtered by area and status, newest first: one index range per area.
CREATE INDEX cases_area_status ON cases(area_id, status, id);
