//! Machine intake channels: Open311 API keys and the public request view, WeChat
//! official-account message bookkeeping (MsgId dedup, drafts), content-security verdicts.

use sqlx::FromRow;

use minsheng_model::AuditEntity;

use super::{
    AuditRecord, Bind, Db, EventLogLock, Sql, StoreError, StoreResult, UserRow, audit, bind_all,
    unique_as, with_db,
};

/// An API key as listed (never its hash).
#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Statuses Open311 calls `closed`; everything else is `open`.
pub const CLOSED_STATUSES: [&str; 3] = ["closed", "rejected", "merged"];

/// A case as Open311 reads it: the public view is made from it by the anonymiser
/// (`channels::open311`), the full one only for the API key that created it.
#[derive(Debug, Clone, FromRow)]
pub struct Open311Row {
    pub id: i64,
    pub created_by: i64,
    /// Names the text may mention, for the anonymiser: the contact and the submitter.
    pub contact_name: Option<String>,
    pub submitter_name: Option<String>,
    pub tracking_no: Option<String>,
    pub status: String,
    pub category_code: String,
    pub category_name: String,
    pub description: String,
    pub department_name: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Filters of `GET requests` (all optional but the time window and the page).
#[derive(Debug, Clone, Default)]
pub struct Open311Filter {
    /// Tracking numbers; when given, the other filters are ignored.
    pub ids: Vec<String>,
    pub category_code: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// `Some(true)`: closed only; `Some(false)`: open only.
    pub closed: Option<bool>,
    pub limit: i64,
    pub offset: i64,
    /// The user of the API key asking: its own cases are listed whatever their state, besides
    /// the public ones.
    pub owner: Option<i64>,
}

/// Which cases Open311 lists: the public ones that are neither rejected nor merged, and the
/// asking API key's own (`$owner`, NULL for none).
fn open311_visible(sql: &mut Sql, owner: Option<i64>) {
    sql.push(" AND (c.public = TRUE AND c.status NOT IN ('rejected', 'merged')");
    if let Some(owner) = owner {
        sql.push(" OR c.created_by = ").bind(Bind::I64(owner));
    }
    sql.push(")");
}

/// One timeline event of a public case (FixMyStreet's `servicerequestupdates`).
#[derive(Debug, Clone, FromRow)]
pub struct Open311UpdateRow {
    pub id: i64,
    pub tracking_no: Option<String>,
    pub at: i64,
    pub kind: String,
    pub to_status: String,
}

/// A content-security verdict waiting for WeChat or for a dispatcher.
#[derive(Debug, Clone, FromRow)]
pub struct ContentCheckRow {
    pub case_id: i64,
    pub verdict: String,
    pub label: Option<i64>,
    pub want_public: bool,
    pub openid: Option<String>,
    pub attempts: i64,
    pub next_at: i64,
}

/// What a location or image message adds to a draft.
#[derive(Debug, Clone, Default)]
pub struct Attachment {
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub area_id: Option<i64>,
    /// The timeline event's `data`.
    pub data: serde_json::Value,
    pub note: String,
}

const OPEN311_SELECT: &str = "SELECT c.id, c.created_by, c.contact_name, u.display_name AS submitter_name,
    c.tracking_no, c.status, cat.code AS category_code, cat.name AS category_name,
    c.description, d.name AS department_name, c.address, c.lat, c.lng, c.due_at, c.created_at, c.updated_at
    FROM cases c JOIN categories cat ON cat.id = c.category_id LEFT JOIN departments d ON d.id = c.department_id
    LEFT JOIN users u ON u.id = c.created_by
    WHERE c.tracking_no IS NOT NULL";

const USER_COLS: &str = "u.id, u.username, u.password_hash, u.openid, u.display_name, u.role, u.department_id, u.area_id, u.all_areas, u.active, u.created_at";

impl Db {
    /// Creates an Open311 client: its resident user and its key (stored as a hash), with
    /// its audit entry (the name, never the key).
    pub async fn create_api_key(
        &self,
        name: &str,
        scope: &str,
        key_hash: &str,
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<i64> {
        let display = if scope == "hotline" {
            format!("12345热线 · {name}")
        } else {
            format!("Open311 · {name}")
        };
        with_db!(self, p => {
            // Writes first, and the unique name decides a clash: a read first would make
            // SQLite upgrade a read snapshot to a write, which fails (database is locked)
            // when another writer committed in between.
            let mut tx = p.begin().await?;
            let user = sqlx::query_scalar::<_, i64>(
                "INSERT INTO users (display_name, role, active, created_at) VALUES ($1, 'resident', TRUE, $2) RETURNING id",
            )
            .bind(&display).bind(now).fetch_one(&mut *tx).await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO api_keys (name, key_hash, user_id, created_at, scope) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(name).bind(key_hash).bind(user).bind(now).bind(scope).fetch_one(&mut *tx).await
            .map_err(unique_as("api key name"))?;
            let mut rec = AuditRecord::new(actor, "issue", AuditEntity::ApiKey, Some(id));
            rec.after = Some(serde_json::json!({ "name": name, "user_id": user, "scope": scope }));
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Revokes a key by name, with its audit entry; `false` when no live key has that name.
    pub async fn revoke_api_key(
        &self,
        name: &str,
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<bool> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let Some(id) = sqlx::query_scalar::<_, i64>(
                "UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING id",
            )
            .bind(now).bind(name).fetch_optional(&mut *tx).await? else {
                return Ok(false);
            };
            let mut rec = AuditRecord::new(actor, "revoke", AuditEntity::ApiKey, Some(id));
            rec.before = Some(serde_json::json!({ "name": name, "revoked": false }));
            rec.after = Some(serde_json::json!({ "name": name, "revoked": true }));
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }.await)?)
    }

    /// Every API key, newest first (names and dates only).
    pub async fn api_keys(&self) -> StoreResult<Vec<ApiKeyRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, ApiKeyRow>(
            "SELECT id, name, scope, created_at, revoked_at FROM api_keys ORDER BY id DESC",
        ).fetch_all(p).await)?)
    }

    /// The user behind a live API key.
    pub async fn api_key_user(&self, key_hash: &str) -> StoreResult<Option<UserRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLS} FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.active = TRUE"
        ));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, UserRow>(sql).bind(key_hash).fetch_optional(p).await)?,
        )
    }

    /// Cases Open311 may list (see [`open311_visible`]), newest first.
    pub async fn open311_requests(&self, f: &Open311Filter) -> StoreResult<Vec<Open311Row>> {
        let mut sql = Sql::new(OPEN311_SELECT);
        open311_visible(&mut sql, f.owner);
        if !f.ids.is_empty() {
            sql.push_in("c.tracking_no", f.ids.iter().cloned());
        } else {
            if let Some(code) = &f.category_code {
                sql.push(" AND cat.code = ").bind(Bind::Str(code.clone()));
            }
            if let Some(v) = f.from {
                sql.push(" AND c.created_at >= ").bind(Bind::I64(v));
            }
            if let Some(v) = f.to {
                sql.push(" AND c.created_at <= ").bind(Bind::I64(v));
            }
            if let Some(closed) = f.closed {
                let statuses = minsheng_model::Status::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .filter(|s| CLOSED_STATUSES.contains(s) == closed)
                    .map(String::from);
                sql.push_in("c.status", statuses);
            }
        }
        sql.push(" ORDER BY c.id DESC LIMIT ")
            .bind(Bind::I64(f.limit));
        sql.push(" OFFSET ").bind(Bind::I64(f.offset));
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, Open311Row>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The tracking number of a case an Open311 client created with this token: any of
    /// `owner`'s, otherwise only a listed public one.
    pub async fn open311_token(
        &self,
        token: &str,
        owner: Option<i64>,
    ) -> StoreResult<Option<String>> {
        let mut sql = Sql::new(
            "SELECT c.tracking_no FROM cases c WHERE c.tracking_no IS NOT NULL
             AND c.created_by IN (SELECT user_id FROM api_keys) AND c.client_request_id = ",
        );
        sql.bind(Bind::Str(token.to_string()));
        open311_visible(&mut sql, owner);
        sql.push(" LIMIT 1");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_scalar::<_, Option<String>>(q), sql.binds.clone()).fetch_optional(p).await)?
                .flatten(),
        )
    }

    /// Status changes of the cases Open311 may list (see [`open311_visible`]) in a time
    /// window, oldest first.
    pub async fn open311_updates(
        &self,
        from: i64,
        to: i64,
        limit: i64,
        offset: i64,
        owner: Option<i64>,
    ) -> StoreResult<Vec<Open311UpdateRow>> {
        let mut sql = Sql::new(
            "SELECT e.id, c.tracking_no, e.at, e.kind, e.to_status
             FROM case_events e JOIN cases c ON c.id = e.case_id
             WHERE c.tracking_no IS NOT NULL AND e.kind <> 'citizen_update' AND e.at >= ",
        );
        sql.bind(Bind::I64(from));
        sql.push(" AND e.at <= ").bind(Bind::I64(to));
        open311_visible(&mut sql, owner);
        sql.push(" ORDER BY e.id LIMIT ").bind(Bind::I64(limit));
        sql.push(" OFFSET ").bind(Bind::I64(offset));
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, Open311UpdateRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The id of the case with this tracking number.
    pub async fn case_id_by_tracking(&self, tracking_no: &str) -> StoreResult<Option<i64>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT id FROM cases WHERE tracking_no = $1")
                .bind(tracking_no).fetch_optional(p).await
        })?)
    }

    /// The reply stored for this sender's message, if it was seen before: `Some(Some(r))`
    /// once handled (`r` empty when it had no reply), `Some(None)` while another delivery is
    /// still working on it, `None` when it is new.
    pub async fn wechat_stored(
        &self,
        openid: &str,
        msg_id: &str,
    ) -> StoreResult<Option<Option<String>>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT reply FROM wechat_messages WHERE openid = $1 AND msg_id = $2",
            )
            .bind(openid).bind(msg_id).fetch_optional(p).await
        })?)
    }

    /// Records a callback's (timestamp, nonce) pair: `false` when it was seen already (a
    /// replay). Pairs whose timestamp is before `forget_before` (seconds) are pruned first,
    /// so the table holds one replay window's worth.
    pub async fn wechat_nonce_fresh(
        &self,
        ts: i64,
        nonce: &str,
        forget_before: i64,
    ) -> StoreResult<bool> {
        let inserted = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM wechat_nonces WHERE ts < $1")
                .bind(forget_before).execute(&mut *tx).await?;
            let n = sqlx::query(
                "INSERT INTO wechat_nonces (ts, nonce) VALUES ($1, $2) ON CONFLICT (ts, nonce) DO NOTHING",
            )
            .bind(ts).bind(nonce).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        }.await)?;
        Ok(inserted == 1)
    }

    /// Forgets a (timestamp, nonce) pair whose message failed, so WeChat's retry is not
    /// taken for a replay.
    pub async fn wechat_forget_nonce(&self, ts: i64, nonce: &str) -> StoreResult<()> {
        with_db!(self, p => {
            sqlx::query("DELETE FROM wechat_nonces WHERE ts = $1 AND nonce = $2")
                .bind(ts).bind(nonce).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Claims a sender's MsgId for processing: `None` if it is new (now claimed), otherwise
    /// what [`Db::wechat_stored`] says about it.
    pub async fn wechat_claim(
        &self,
        msg_id: &str,
        openid: &str,
        kind: &str,
        now: i64,
    ) -> StoreResult<Option<Option<String>>> {
        let inserted = with_db!(self, p => {
            sqlx::query(
                "INSERT INTO wechat_messages (msg_id, openid, kind, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (openid, msg_id) DO NOTHING",
            )
            .bind(msg_id).bind(openid).bind(kind).bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            return Ok(None);
        }
        Ok(Some(self.wechat_stored(openid, msg_id).await?.flatten()))
    }

    /// Records the outcome of a claimed message.
    pub async fn wechat_finish(
        &self,
        msg_id: &str,
        openid: &str,
        case_id: Option<i64>,
        reply: &str,
    ) -> StoreResult<()> {
        with_db!(self, p => {
            sqlx::query("UPDATE wechat_messages SET case_id = $1, reply = $2 WHERE openid = $3 AND msg_id = $4")
                .bind(case_id).bind(reply).bind(openid).bind(msg_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Gives a claim back after a failure, so WeChat's retry can try again.
    pub async fn wechat_release(&self, msg_id: &str, openid: &str) -> StoreResult<()> {
        with_db!(self, p => {
            sqlx::query("DELETE FROM wechat_messages WHERE openid = $1 AND msg_id = $2 AND reply IS NULL")
                .bind(openid).bind(msg_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The newest draft (a case still `submitted`) this official-account user made since `since`.
    pub async fn wechat_draft(&self, openid: &str, since: i64) -> StoreResult<Option<i64>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT m.case_id FROM wechat_messages m JOIN cases c ON c.id = m.case_id
                 WHERE m.openid = $1 AND m.kind = 'text' AND m.created_at >= $2 AND c.status = 'submitted'
                 ORDER BY m.created_at DESC, c.id DESC LIMIT 1",
            )
            .bind(openid).bind(since).fetch_optional(p).await
        })?)
    }

    /// Adds a location or photo reference to a case with an `attach` event. A location only
    /// fills a case that has no coordinates yet, and then also places it in its area.
    pub async fn attach_to_case(
        &self,
        case_id: i64,
        actor_id: i64,
        a: &Attachment,
        now: i64,
    ) -> StoreResult<()> {
        let data = a.data.to_string();
        with_db!(self, p => {
            let mut tx = p.begin().await?;
            let status = sqlx::query_scalar::<_, String>("SELECT status FROM cases WHERE id = $1")
                .bind(case_id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
            if a.lat.is_some() {
                sqlx::query(
                    "UPDATE cases SET lat = $1, lng = $2, address = COALESCE(address, $3),
                        area_id = COALESCE($4, area_id), updated_at = $5
                     WHERE id = $6 AND lat IS NULL",
                )
                .bind(a.lat).bind(a.lng).bind(&a.address).bind(a.area_id).bind(now).bind(case_id)
                .execute(&mut *tx).await?;
            }
            (*tx).lock_event_log().await?;
            sqlx::query(
                "INSERT INTO case_events (case_id, at, actor_id, actor_role, kind, from_status, to_status, note, data)
                 VALUES ($1, $2, $3, 'resident', 'attach', $4, $4, $5, $6)",
            )
            .bind(case_id).bind(now).bind(actor_id).bind(&status).bind(&a.note).bind(&data)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Records a verdict that keeps a case private (`pending` or `unchecked`).
    pub async fn record_content_check(&self, c: &ContentCheckRow, now: i64) -> StoreResult<()> {
        with_db!(self, p => {
            sqlx::query(
                "INSERT INTO content_checks (case_id, verdict, label, want_public, openid, attempts, next_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (case_id) DO NOTHING",
            )
            .bind(c.case_id).bind(&c.verdict).bind(c.label).bind(c.want_public).bind(&c.openid)
            .bind(c.attempts).bind(c.next_at).bind(now)
            .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn content_check(&self, case_id: i64) -> StoreResult<Option<ContentCheckRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, ContentCheckRow>(
                "SELECT case_id, verdict, label, want_public, openid, attempts, next_at FROM content_checks WHERE case_id = $1",
            )
            .bind(case_id).fetch_optional(p).await
        })?)
    }

    /// Cases still held (pending, unchecked, review or risky), oldest first.
    pub async fn content_holds(&self, limit: i64) -> StoreResult<Vec<ContentCheckRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, ContentCheckRow>(
                "SELECT case_id, verdict, label, want_public, openid, attempts, next_at FROM content_checks
                 WHERE verdict IN ('pending', 'unchecked', 'review', 'risky') ORDER BY case_id LIMIT $1",
            )
            .bind(limit).fetch_all(p).await
        })?)
    }

    /// Pending checks whose retry time has come.
    pub async fn due_content_checks(
        &self,
        now: i64,
        limit: i64,
    ) -> StoreResult<Vec<ContentCheckRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, ContentCheckRow>(
                "SELECT case_id, verdict, label, want_public, openid, attempts, next_at FROM content_checks
                 WHERE verdict = 'pending' AND next_at <= $1 ORDER BY next_at LIMIT $2",
            )
            .bind(now).bind(limit).fetch_all(p).await
        })?)
    }

    /// Takes a pending check for one retry (safe with several instances: one update wins).
    pub async fn claim_content_check(
        &self,
        c: &ContentCheckRow,
        next_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let n = with_db!(self, p => {
            sqlx::query(
                "UPDATE content_checks SET attempts = attempts + 1, next_at = $1, updated_at = $2
                 WHERE case_id = $3 AND verdict = 'pending' AND next_at = $4",
            )
            .bind(next_at).bind(now).bind(c.case_id).bind(c.next_at).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Settles a check; `publish` makes the case public if its resident asked for that.
    /// `only_pending` (a retried check) settles it only if nobody has meanwhile, so a check
    /// answering late never overrules the desk's decision; `false` when it did not.
    pub async fn settle_content_check(
        &self,
        case_id: i64,
        verdict: &str,
        label: Option<i64>,
        publish: bool,
        only_pending: bool,
        now: i64,
    ) -> StoreResult<bool> {
        with_db!(self, p => {
            let mut tx = p.begin().await?;
            let settled = sqlx::query(
                "UPDATE content_checks SET verdict = $1, label = $2, updated_at = $3
                 WHERE case_id = $4 AND (verdict = 'pending' OR NOT $5)",
            )
            .bind(verdict).bind(label).bind(now).bind(case_id).bind(only_pending)
            .execute(&mut *tx).await?.rows_affected();
            if settled == 0 {
                return Ok(false);
            }
            if publish {
                sqlx::query(
                    "UPDATE cases SET public = (SELECT want_public FROM content_checks WHERE case_id = $1) WHERE id = $1",
                )
                .bind(case_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .map_err(Into::into)
    }
}
