//! The audit log: every administrative change, written by [`audit!`] inside the change's
//! own transaction, so a change and its entry commit or fail together.

use minsheng_model::AuditEntity;
use serde_json::Value;

use super::{Bind, Db, Sql, StoreResult, bind_all, with_db};

/// One entry to write: who did what to which record, with its values before and after.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// `None` for the command line.
    pub actor_id: Option<i64>,
    pub action: &'static str,
    pub entity: AuditEntity,
    pub entity_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl AuditRecord {
    /// An entry for `entity` `entity_id` changed by `actor_id`, values to be added.
    pub fn new(
        actor_id: Option<i64>,
        action: &'static str,
        entity: AuditEntity,
        entity_id: Option<i64>,
    ) -> AuditRecord {
        AuditRecord {
            actor_id,
            action,
            entity,
            entity_id,
            before: None,
            after: None,
        }
    }

    /// With the values before the change (any serializable row or view).
    pub fn before(mut self, v: &impl serde::Serialize) -> AuditRecord {
        self.before = serde_json::to_value(v).ok();
        self
    }

    /// With the values after the change.
    pub fn after(mut self, v: &impl serde::Serialize) -> AuditRecord {
        self.after = serde_json::to_value(v).ok();
        self
    }
}

pub(crate) const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at_ms, actor_id, action, entity, entity_id, before_json, after_json)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Writes an [`AuditRecord`] on a transaction (`&mut *tx` of either database), at `now`.
macro_rules! audit {
    ($tx:expr, $now:expr, $rec:expr) => {{
        let r: &$crate::storage::AuditRecord = $rec;
        sqlx::query($crate::storage::audit::INSERT_AUDIT)
            .bind($now)
            .bind(r.actor_id)
            .bind(r.action)
            .bind(r.entity.as_str())
            .bind(r.entity_id)
            .bind(r.before.as_ref().map(|v| v.to_string()))
            .bind(r.after.as_ref().map(|v| v.to_string()))
            .execute(&mut *$tx)
            .await
    }};
}
pub(crate) use audit;

/// Which entries to list, newest first.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub entity: Option<AuditEntity>,
    pub entity_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// Inclusive, epoch ms.
    pub from: Option<i64>,
    /// Exclusive, epoch ms.
    pub to: Option<i64>,
    /// Entries with ids below this one.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// An entry as stored, with its actor's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

impl Db {
    /// A page of the audit log, newest first.
    pub async fn audit_log(&self, f: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
        let mut sql = Sql::new(
            "SELECT l.id, l.at_ms, l.actor_id, u.display_name AS actor_name, l.action, l.entity,
                    l.entity_id, l.before_json, l.after_json
             FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id WHERE 1 = 1",
        );
        if let Some(e) = f.entity {
            sql.push(" AND l.entity = ")
                .bind(Bind::Str(e.as_str().into()));
        }
        if let Some(v) = f.entity_id {
            sql.push(" AND l.entity_id = ").bind(Bind::I64(v));
        }
        if let Some(v) = f.actor_id {
            sql.push(" AND l.actor_id = ").bind(Bind::I64(v));
        }
        if let Some(v) = f.from {
            sql.push(" AND l.at_ms >= ").bind(Bind::I64(v));
        }
        if let Some(v) = f.to {
            sql.push(" AND l.at_ms < ").bind(Bind::I64(v));
        }
        if let Some(v) = f.before_id {
            sql.push(" AND l.id < ").bind(Bind::I64(v));
        }
        sql.push(" ORDER BY l.id DESC LIMIT ")
            .bind(Bind::I64(f.limit));
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, AuditRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }
}
