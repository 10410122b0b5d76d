//! The 12345 hotline channel: API keys with their scope, the hotline's category codes, the
//! tickets and the cases they became, the results to call the platform back with (an outbox
//! fed from the event log), and FixMyStreet's inbound updates.

use sqlx::FromRow;

use minsheng_model::AuditEntity;

use super::cases::INSERT_EVENT;
use super::{AuditRecord, Db, EventLogLock, StoreResult, UserRow, audit, with_db};

/// A live API key and the resident user it submits as.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    pub key_id: i64,
    /// `open311` or `hotline`.
    pub scope: String,
    pub user: UserRow,
}

#[derive(Debug, Clone, FromRow)]
struct KeyRow {
    key_id: i64,
    scope: String,
}

/// The admin's table: the hotline's codes and the default category.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HotlineCategoryTable {
    pub default_category_id: Option<i64>,
    /// `(code, category_id)`, by code.
    pub mappings: Vec<(String, i64)>,
}

/// A ticket already taken in.
#[derive(Debug, Clone, FromRow)]
pub struct HotlineTicketRow {
    pub case_id: i64,
    pub ticket_no: String,
    pub due_at: Option<i64>,
}

/// A result to send to the platform.
#[derive(Debug, Clone)]
pub struct NewHotlineCallback {
    pub case_id: i64,
    pub event_id: i64,
    pub ticket_no: String,
    pub payload: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct HotlineCallbackRow {
    pub id: i64,
    pub case_id: i64,
    pub event_id: i64,
    pub ticket_no: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
}

/// A citizen's update from FixMyStreet, to put on the case's timeline.
#[derive(Debug, Clone)]
pub struct Open311Update {
    pub api_key_id: i64,
    pub update_id: String,
    pub case_id: i64,
    pub actor_id: i64,
    /// The case's status (the event does not change it).
    pub status: String,
    pub note: String,
    pub data: serde_json::Value,
}

const CALLBACK_COLS: &str = "id, case_id, event_id, ticket_no, payload, status, attempts, error";

impl Db {
    /// The live key with this hash, its scope and its user.
    pub async fn api_key_auth(&self, key_hash: &str) -> StoreResult<Option<ApiKeyAuth>> {
        let Some(user) = self.api_key_user(key_hash).await? else {
            return Ok(None);
        };
        let key = with_db!(self, p => sqlx::query_as::<_, KeyRow>(
            "SELECT id AS key_id, scope FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        ).bind(key_hash).fetch_optional(p).await)?;
        Ok(key.map(|k| ApiKeyAuth {
            key_id: k.key_id,
            scope: k.scope,
            user,
        }))
    }

    /// The admin's category table.
    pub async fn hotline_categories(&self) -> StoreResult<HotlineCategoryTable> {
        let default_category_id = with_db!(self, p => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT default_category_id FROM hotline_settings WHERE id = 1",
        ).fetch_optional(p).await)?
        .flatten();
        let mappings = with_db!(self, p => sqlx::query_as::<_, (String, i64)>(
            "SELECT code, category_id FROM hotline_categories ORDER BY code",
        ).fetch_all(p).await)?;
        Ok(HotlineCategoryTable {
            default_category_id,
            mappings,
        })
    }

    /// Replaces the category table, with its audit entry, in one transaction.
    pub async fn put_hotline_categories(
        &self,
        t: &HotlineCategoryTable,
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<()> {
        let before = self.hotline_categories().await?;
        with_db!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO hotline_settings (id, default_category_id, updated_at) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET default_category_id = excluded.default_category_id, updated_at = excluded.updated_at",
            )
            .bind(t.default_category_id).bind(now).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM hotline_categories").execute(&mut *tx).await?;
            for (code, cat) in &t.mappings {
                sqlx::query("INSERT INTO hotline_categories (code, category_id, updated_at) VALUES ($1, $2, $3)")
                    .bind(code).bind(cat).bind(now).execute(&mut *tx).await?;
            }
            let rec = AuditRecord::new(actor, "update", AuditEntity::HotlineCategories, None)
                .before(&before)
                .after(t);
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        }.await)?;
        Ok(())
    }

    /// The ticket `ticket_no` of key `key_id`, if it came in before.
    pub async fn hotline_ticket(
        &self,
        key_id: i64,
        ticket_no: &str,
    ) -> StoreResult<Option<HotlineTicketRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, HotlineTicketRow>(
            "SELECT case_id, ticket_no, due_at FROM hotline_tickets WHERE api_key_id = $1 AND ticket_no = $2",
        ).bind(key_id).bind(ticket_no).fetch_optional(p).await)?)
    }

    /// The ticket a case came from, if any.
    pub async fn hotline_ticket_of_case(
        &self,
        case_id: i64,
    ) -> StoreResult<Option<HotlineTicketRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, HotlineTicketRow>(
            "SELECT case_id, ticket_no, due_at FROM hotline_tickets WHERE case_id = $1",
        ).bind(case_id).fetch_optional(p).await)?)
    }

    /// Records which case a ticket became (again after a crash between the two: nothing
    /// changes), and puts the hotline's deadline on the case.
    pub async fn record_hotline_ticket(
        &self,
        key_id: i64,
        ticket_no: &str,
        case_id: i64,
        category_code: Option<&str>,
        due_at: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "INSERT INTO hotline_tickets (api_key_id, ticket_no, case_id, category_code, due_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(key_id).bind(ticket_no).bind(case_id).bind(category_code).bind(due_at).bind(now)
            .execute(&mut *tx).await?.rows_affected();
            if n == 1 && due_at.is_some() {
                sqlx::query("UPDATE cases SET due_at = $1 WHERE id = $2")
                    .bind(due_at).bind(case_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        }.await)?;
        Ok(())
    }

    /// The note of the case's latest event of `kind` (the resolution text for a close).
    pub async fn latest_note(&self, case_id: i64, kind: &str) -> StoreResult<Option<String>> {
        Ok(with_db!(self, p => sqlx::query_scalar::<_, Option<String>>(
            "SELECT note FROM case_events WHERE case_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1",
        ).bind(case_id).bind(kind).fetch_optional(p).await)?
        .flatten())
    }

    /// Moves the hotline cursor from `from` to `to` and stores the callbacks, in one
    /// transaction; `false` (and nothing stored) when another instance moved it first.
    pub async fn advance_hotline_cursor(
        &self,
        name: &str,
        from: i64,
        to: i64,
        callbacks: &[NewHotlineCallback],
        now: i64,
    ) -> StoreResult<bool> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE log_cursors SET last_id = $1 WHERE name = $2 AND last_id = $3")
                .bind(to).bind(name).bind(from).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Ok::<_, sqlx::Error>(false);
            }
            for c in callbacks {
                sqlx::query(
                    "INSERT INTO hotline_callbacks (case_id, event_id, ticket_no, payload, status, attempts, next_at, created_at)
                     VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (event_id) DO NOTHING",
                )
                .bind(c.case_id).bind(c.event_id).bind(&c.ticket_no).bind(&c.payload).bind(now)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        }.await)?)
    }

    /// Claims one due callback for `lease_ms` (a crashed sender's claim lapses and is retried).
    pub async fn claim_hotline_callback(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<HotlineCallbackRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE hotline_callbacks SET status = 'sending', attempts = attempts + 1, next_at = $1
             WHERE id = (SELECT id FROM hotline_callbacks WHERE status IN ('pending', 'sending') AND next_at <= $2 ORDER BY id LIMIT 1)
               AND status IN ('pending', 'sending') AND next_at <= $2
             RETURNING {CALLBACK_COLS}"
        ));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, HotlineCallbackRow>(sql)
            .bind(now + lease_ms).bind(now).fetch_optional(p).await)?,
        )
    }

    /// Records how a call went: `sent`, `failed`, or `pending` again at `next_at`; only the
    /// claim that is still current (`attempts`) may record it.
    pub async fn finish_hotline_callback(
        &self,
        id: i64,
        attempts: i64,
        status: &str,
        error: Option<&str>,
        next_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        with_db!(self, p => {
            sqlx::query(
                "UPDATE hotline_callbacks SET status = $1, error = $2, next_at = $3,
                 sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END
                 WHERE id = $5 AND attempts = $6 AND status = 'sending'",
            )
            .bind(status).bind(error).bind(next_at).bind(now).bind(id).bind(attempts).execute(p).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Every callback of a case, for tests and support.
    pub async fn hotline_callbacks_of(&self, case_id: i64) -> StoreResult<Vec<HotlineCallbackRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CALLBACK_COLS} FROM hotline_callbacks WHERE case_id = $1 ORDER BY id"
        ));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, HotlineCallbackRow>(sql)
            .bind(case_id).fetch_all(p).await)?,
        )
    }

    /// The event an update became, if this key sent it before.
    pub async fn open311_update_event(
        &self,
        api_key_id: i64,
        update_id: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(with_db!(self, p => sqlx::query_scalar::<_, i64>(
            "SELECT event_id FROM open311_updates WHERE api_key_id = $1 AND update_id = $2",
        ).bind(api_key_id).bind(update_id).fetch_optional(p).await)?)
    }

    /// Puts a citizen's update on the case's timeline (a `citizen_update` event that does not
    /// change the status), once per (key, update_id); returns its event id and whether it is new.
    pub async fn record_open311_update(
        &self,
        u: &Open311Update,
        now: i64,
    ) -> StoreResult<(i64, bool)> {
        if let Some(e) = self
            .open311_update_event(u.api_key_id, &u.update_id)
            .await?
        {
            return Ok((e, false));
        }
        let data = u.data.to_string();
        let r = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            (*tx).lock_event_log().await?;
            let event = sqlx::query_scalar::<_, i64>(INSERT_EVENT)
                .bind(u.case_id).bind(now).bind(Some(u.actor_id)).bind("resident").bind("citizen_update")
                .bind(Some(&u.status)).bind(&u.status).bind(Some(&u.note)).bind(Some(&data))
                .fetch_one(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO open311_updates (api_key_id, update_id, case_id, event_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(u.api_key_id).bind(&u.update_id).bind(u.case_id).bind(event).bind(now)
            .execute(&mut *tx).await?;
            sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2")
                .bind(now).bind(u.case_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(event)
        }.await);
        match r {
            Ok(e) => Ok((e, true)),
            // The same update sent twice at once: the other one stored it.
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                match self
                    .open311_update_event(u.api_key_id, &u.update_id)
                    .await?
                {
                    Some(e) => Ok((e, false)),
                    None => Err(sqlx::Error::Database(d).into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}
