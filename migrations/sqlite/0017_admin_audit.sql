-- The admin console (issue 17).

-- Every administrative change, written in the same transaction as the change: who, when,
-- what, the values before and after as JSON (never a password, a hash or a key's secret).
-- Nothing is ever deleted from it.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at_ms        BIGINT NOT NULL,
    actor_id     BIGINT REFERENCES users(id),
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    BIGINT,
    before_json  TEXT,
    after_json   TEXT
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id, id);
CREATE INDEX audit_log_actor ON audit_log(actor_id, id);
CREATE INDEX audit_log_at ON audit_log(at_ms);

-- An inactive area stays readable but no point is located in it any more. `boundary_multi`
-- is the whole boundary as imported (a GeoJSON MultiPolygon's coordinates); `boundary`
-- stays the outline of its largest polygon, for the clients that draw one ring.
ALTER TABLE areas ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE areas ADD COLUMN boundary_multi TEXT;

-- Departments: their kind, whether they take new cases, and the public duty card (责任清单).
ALTER TABLE departments ADD COLUMN kind TEXT NOT NULL DEFAULT 'functional';
ALTER TABLE departments ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE departments ADD COLUMN duty_handles TEXT;
ALTER TABLE departments ADD COLUMN duty_post TEXT;
ALTER TABLE departments ADD COLUMN duty_phone TEXT;
ALTER TABLE departments ADD COLUMN duty_hours TEXT;
