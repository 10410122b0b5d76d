//! Users and sessions.

use minsheng_model::AuditEntity;

use super::{
    AuditRecord, Bind, Db, Sql, StoreResult, UserRow, UsernameLock, audit, bind_all, unique_as,
    with_db,
};

const USER_COLS: &str = "SELECT id, username, password_hash, openid, display_name, role, department_id, area_id, all_areas, active, created_at FROM users";

/// A user to create; the password is already hashed.
pub struct NewUserRecord<'a> {
    pub username: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub openid: Option<&'a str>,
    pub display_name: &'a str,
    pub role: &'a str,
    pub department_id: Option<i64>,
    pub area_id: Option<i64>,
    pub all_areas: bool,
}

/// Which users the admin list shows.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<String>,
    pub department_id: Option<i64>,
    /// Users whose area is one of these.
    pub area_ids: Option<Vec<i64>>,
    pub active: Option<bool>,
    /// Part of the username or display name, any case.
    pub q: Option<String>,
}

/// `%text%` for LIKE, with LIKE's own wildcards escaped (`ESCAPE '\'`).
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Db {
    /// Creates a staff user with its audit entry (the command line's has no actor).
    pub async fn create_staff_user(
        &self,
        u: &NewUserRecord<'_>,
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<i64> {
        let one = || sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE id = $1"));
        let id = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO users (username, password_hash, openid, display_name, role, department_id, area_id, all_areas, active, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9) RETURNING id",
            )
            .bind(u.username).bind(u.password_hash).bind(u.openid).bind(u.display_name)
            .bind(u.role).bind(u.department_id).bind(u.area_id).bind(u.all_areas).bind(now)
            .fetch_one(&mut *tx).await?;
            let row = sqlx::query_as::<_, UserRow>(one()).bind(id).fetch_one(&mut *tx).await?;
            audit!(tx, now, &AuditRecord::new(actor, "create", AuditEntity::User, Some(id)).after(&row))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }.await)
        .map_err(unique_as("username"))?;
        Ok(id)
    }

    /// Users matching the admin list's filters, each with when they last signed in (their
    /// newest session's start).
    pub async fn users_filtered(&self, f: &UserFilter) -> StoreResult<Vec<(UserRow, Option<i64>)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            last_sign_in: Option<i64>,
        }
        let mut sql = Sql::new(
            "SELECT u.id, u.username, u.password_hash, u.openid, u.display_name, u.role, u.department_id,
                    u.area_id, u.all_areas, u.active, u.created_at,
                    (SELECT MAX(s.created_at) FROM sessions s WHERE s.user_id = u.id AND s.kind = 'session') AS last_sign_in
             FROM users u WHERE 1 = 1",
        );
        if let Some(r) = &f.role {
            sql.push(" AND u.role = ").bind(Bind::Str(r.clone()));
        }
        if let Some(d) = f.department_id {
            sql.push(" AND u.department_id = ").bind(Bind::I64(d));
        }
        if let Some(ids) = &f.area_ids {
            if ids.is_empty() {
                sql.push(" AND 1 = 0");
            }
            sql.push_in_i64("u.area_id", ids);
        }
        if let Some(a) = f.active {
            sql.push(" AND u.active = ").bind(Bind::Bool(a));
        }
        if let Some(q) = &f.q {
            let ilike = self.ilike();
            let pat = like_pattern(q);
            sql.push(" AND (u.username ")
                .push(ilike)
                .push(" ")
                .bind(Bind::Str(pat.clone()));
            sql.push(" ESCAPE '\\' OR u.display_name ")
                .push(ilike)
                .push(" ")
                .bind(Bind::Str(pat));
            sql.push(" ESCAPE '\\')");
        }
        sql.push(" ORDER BY u.id");
        let q = sql.sql();
        let rows = with_db!(self, p => bind_all!(sqlx::query_as::<_, Row>(q), sql.binds.clone()).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| (r.user, r.last_sign_in)).collect())
    }

    /// When the user last signed in (their newest session's start).
    pub async fn last_sign_in(&self, user_id: i64) -> StoreResult<Option<i64>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(created_at) FROM sessions WHERE user_id = $1 AND kind = 'session'",
            )
            .bind(user_id).fetch_one(p).await
        })?)
    }

    /// Changes a user's display name, role and department, with its audit entry; a role
    /// change revokes their sessions, and a role that cannot hold the city-wide grant
    /// (`keep_city` false) loses it. `None` when there is no such user.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_user(
        &self,
        id: i64,
        display_name: &str,
        role: &str,
        department_id: Option<i64>,
        keep_city: bool,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<Option<UserRow>> {
        let one = || sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE id = $1"));
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let Some(before) = sqlx::query_as::<_, UserRow>(one()).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(None);
            };
            sqlx::query(
                "UPDATE users SET display_name = $1, role = $2, department_id = $3,
                 all_areas = (all_areas AND $4) WHERE id = $5",
            )
            .bind(display_name).bind(role).bind(department_id).bind(keep_city).bind(id)
            .execute(&mut *tx).await?;
            if before.role != role {
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(now).bind(id).execute(&mut *tx).await?;
            }
            let after = sqlx::query_as::<_, UserRow>(one()).bind(id).fetch_one(&mut *tx).await?;
            audit!(tx, now, &AuditRecord::new(actor, "update", AuditEntity::User, Some(id)).before(&before).after(&after))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(after))
        }.await)?)
    }

    pub async fn create_user(&self, u: &NewUserRecord<'_>, now: i64) -> StoreResult<i64> {
        let id = with_db!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO users (username, password_hash, openid, display_name, role, department_id, area_id, all_areas, active, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9) RETURNING id",
            )
            .bind(u.username).bind(u.password_hash).bind(u.openid).bind(u.display_name)
            .bind(u.role).bind(u.department_id).bind(u.area_id).bind(u.all_areas).bind(now)
            .fetch_one(p).await
        })
        .map_err(unique_as("username"))?;
        Ok(id)
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE username = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, UserRow>(sql).bind(username).fetch_optional(p).await)?,
        )
    }

    pub async fn user(&self, id: i64) -> StoreResult<Option<UserRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE id = $1"));
        Ok(with_db!(self, p => sqlx::query_as::<_, UserRow>(sql).bind(id).fetch_optional(p).await)?)
    }

    pub async fn users(&self) -> StoreResult<Vec<UserRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{USER_COLS} ORDER BY id"));
        Ok(with_db!(self, p => sqlx::query_as::<_, UserRow>(sql).fetch_all(p).await)?)
    }

    /// The resident bound to this WeChat openid, created on first login.
    pub async fn wechat_resident(&self, openid: &str, now: i64) -> StoreResult<UserRow> {
        with_db!(self, p => {
            sqlx::query(
                "INSERT INTO users (openid, display_name, role, active, created_at)
                 VALUES ($1, '微信用户', 'resident', TRUE, $2) ON CONFLICT (openid) DO NOTHING",
            )
            .bind(openid).bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        let sql = sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE openid = $1"));
        Ok(with_db!(self, p => sqlx::query_as::<_, UserRow>(sql).bind(openid).fetch_one(p).await)?)
    }

    /// Records a sign-in through the mini-program at `now` (the content check's two-hour window).
    pub async fn record_wechat_sign_in(&self, user_id: i64, now: i64) -> StoreResult<()> {
        with_db!(self, p => {
            sqlx::query("UPDATE users SET wechat_seen_at = $1 WHERE id = $2")
                .bind(now).bind(user_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// When the user last signed in through the mini-program, if ever.
    pub async fn wechat_seen_at(&self, user_id: i64) -> StoreResult<Option<i64>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, Option<i64>>("SELECT wechat_seen_at FROM users WHERE id = $1")
                .bind(user_id).fetch_optional(p).await
        })?
        .flatten())
    }

    /// Turns a user on or off, with its audit entry; turning off also revokes every
    /// session they hold. False when there is no such user.
    pub async fn set_user_active(
        &self,
        id: i64,
        active: bool,
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<bool> {
        let one = || sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE id = $1"));
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let Some(before) = sqlx::query_as::<_, UserRow>(one()).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(false);
            };
            sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
                .bind(active).bind(id).execute(&mut *tx).await?;
            if !active {
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(now).bind(id).execute(&mut *tx).await?;
            }
            let after = sqlx::query_as::<_, UserRow>(one()).bind(id).fetch_one(&mut *tx).await?;
            let action = if active { "reactivate" } else { "deactivate" };
            audit!(tx, now, &AuditRecord::new(actor, action, AuditEntity::User, Some(id)).before(&before).after(&after))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }.await)?)
    }

    /// Sets where a staff member answers for: an area (or none) and the city-wide grant,
    /// with its audit entry. False when there is no such user.
    pub async fn set_user_access(
        &self,
        id: i64,
        area_id: Option<i64>,
        all_areas: bool,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool> {
        let one = || sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE id = $1"));
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let Some(before) = sqlx::query_as::<_, UserRow>(one()).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(false);
            };
            sqlx::query("UPDATE users SET area_id = $1, all_areas = $2 WHERE id = $3")
                .bind(area_id).bind(all_areas).bind(id).execute(&mut *tx).await?;
            let after = sqlx::query_as::<_, UserRow>(one()).bind(id).fetch_one(&mut *tx).await?;
            audit!(tx, now, &AuditRecord::new(actor, "access", AuditEntity::User, Some(id)).before(&before).after(&after))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }.await)?)
    }

    /// Stores a session or ticket; `parent` is the session that asked for it (a ticket, and
    /// the session made from one), revoked with it.
    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: i64,
        kind: &str,
        now: i64,
        expires_at: i64,
        parent: Option<&str>,
    ) -> StoreResult<()> {
        with_db!(self, p => {
            sqlx::query("INSERT INTO sessions (token_hash, user_id, kind, created_at, expires_at, parent_hash) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(token_hash).bind(user_id).bind(kind).bind(now).bind(expires_at).bind(parent)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The active user behind a live session, with the session's expiry; `None` when the token
    /// is unknown, expired, revoked or its user is disabled.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<(UserRow, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            expires_at: i64,
        }
        let row = with_db!(self, p => {
            sqlx::query_as::<_, Row>(
                "SELECT u.id, u.username, u.password_hash, u.openid, u.display_name, u.role, u.department_id,
                        u.area_id, u.all_areas, u.active, u.created_at, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.kind = 'session' AND s.revoked_at IS NULL
                   AND s.expires_at > $2 AND u.active = TRUE",
            )
            .bind(token_hash).bind(now).fetch_optional(p).await
        })?;
        Ok(row.map(|r| (r.user, r.expires_at)))
    }

    /// The expiry of a live session (not revoked; expired or not).
    pub async fn session_expiry(&self, token_hash: &str) -> StoreResult<Option<i64>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT expires_at FROM sessions WHERE token_hash = $1 AND kind = 'session' AND revoked_at IS NULL",
            )
            .bind(token_hash).fetch_optional(p).await
        })?)
    }

    /// The live sessions among `token_hashes`, each with its active user and expiry, as
    /// [`Db::session_user`] finds them (the open event streams' watcher asks for many at once).
    pub async fn live_sessions(
        &self,
        token_hashes: &[String],
        now: i64,
    ) -> StoreResult<Vec<(String, UserRow, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            token_hash: String,
            #[sqlx(flatten)]
            user: UserRow,
            expires_at: i64,
        }
        if token_hashes.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT s.token_hash, u.id, u.username, u.password_hash, u.openid, u.display_name, u.role,
                    u.department_id, u.area_id, u.all_areas, u.active, u.created_at, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.kind = 'session' AND s.revoked_at IS NULL AND u.active = TRUE AND s.expires_at > ",
        );
        sql.bind(Bind::I64(now));
        sql.push_in("s.token_hash", token_hashes.iter().cloned());
        let q = sql.sql();
        let rows = with_db!(self, p => bind_all!(sqlx::query_as::<_, Row>(q), sql.binds.clone()).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.token_hash, r.user, r.expires_at))
            .collect())
    }

    /// The active users among `ids`.
    pub async fn active_users(&self, ids: &[i64]) -> StoreResult<Vec<UserRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(USER_COLS);
        sql.push(" WHERE active = TRUE");
        sql.push_in_i64("id", ids);
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, UserRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// Whether a token was ever issued (to tell "expired" from "unknown").
    pub async fn session_known(&self, token_hash: &str) -> StoreResult<bool> {
        let n = with_db!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions WHERE token_hash = $1 AND kind = 'session'")
                .bind(token_hash).fetch_one(p).await
        })?;
        Ok(n > 0)
    }

    /// Revokes a session with every ticket and session descended from it; how many of
    /// those descendants were still live.
    pub async fn revoke_session(&self, token_hash: &str, now: i64) -> StoreResult<u64> {
        let n = with_db!(self, p => {
            sqlx::query(
                "WITH RECURSIVE tree(h) AS (
                     SELECT CAST($2 AS TEXT)
                     UNION SELECT s.token_hash FROM sessions s JOIN tree ON s.parent_hash = tree.h
                 )
                 UPDATE sessions SET revoked_at = $1
                 WHERE token_hash IN (SELECT h FROM tree) AND revoked_at IS NULL",
            )
            .bind(now).bind(token_hash).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n.saturating_sub(1))
    }

    /// Uses up a web-view ticket, once, while it is fresh and the session that asked for it
    /// is live: the user it was issued to, that session's hash and its expiry.
    pub async fn consume_ticket(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<(i64, String, i64)>> {
        let ticket = with_db!(self, p => {
            sqlx::query_as::<_, (i64, Option<String>)>(
                "UPDATE sessions SET revoked_at = $1
                 WHERE token_hash = $2 AND kind = 'ticket' AND revoked_at IS NULL AND expires_at > $1
                 RETURNING user_id, parent_hash",
            )
            .bind(now).bind(token_hash).fetch_optional(p).await
        })?;
        let Some((user_id, Some(parent))) = ticket else {
            return Ok(None);
        };
        let expires = with_db!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT expires_at FROM sessions
                 WHERE token_hash = $1 AND kind = 'session' AND revoked_at IS NULL AND expires_at > $2",
            )
            .bind(&parent).bind(now).fetch_optional(p).await
        })?;
        Ok(expires.map(|e| (user_id, parent, e)))
    }

    /// Sets a user's password hash and revokes their sessions, all but `keep` (the caller's
    /// own, when they change their own password). `false` when there is no such user.
    /// `audit`: the entry of an admin's reset (it records no values).
    pub async fn set_password(
        &self,
        user_id: i64,
        hash: &str,
        keep: Option<&str>,
        now: i64,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<bool> {
        let n = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash).bind(user_id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(0);
            }
            if let Some(rec) = audit {
                audit!(tx, now, rec)?;
            }
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1
                 WHERE user_id = $2 AND revoked_at IS NULL AND token_hash <> $3",
            )
            .bind(now).bind(user_id).bind(keep.unwrap_or("")).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        }.await)?;
        Ok(n == 1)
    }

    /// Takes one login attempt for `username` out of its allowance: records it as a failure
    /// at once (a right password clears the failures after), unless `max` failures since
    /// `since` are recorded already; then `Err` with the oldest of them. Older failures are
    /// forgotten. Attempts for one username are counted one at a time (see [`UsernameLock`]),
    /// so parallel tries cannot all read the same count.
    pub async fn reserve_login_attempt(
        &self,
        username: &str,
        now: i64,
        since: i64,
        max: i64,
    ) -> StoreResult<Result<(), i64>> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            tx.lock_username(username).await?;
            sqlx::query("DELETE FROM login_failures WHERE username = $1 AND at < $2")
                .bind(username).bind(since).execute(&mut *tx).await?;
            let (n, oldest) = sqlx::query_as::<_, (i64, Option<i64>)>(
                "SELECT COUNT(*), MIN(at) FROM login_failures WHERE username = $1",
            ).bind(username).fetch_one(&mut *tx).await?;
            if n >= max {
                tx.commit().await?;
                return Ok::<_, sqlx::Error>(Err(oldest.unwrap_or(now)));
            }
            sqlx::query("INSERT INTO login_failures (username, at) VALUES ($1, $2)")
                .bind(username).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Ok(()))
        }.await)?)
    }

    /// Forgets a username's failed logins (after a successful one).
    pub async fn clear_login_failures(&self, username: &str) -> StoreResult<()> {
        with_db!(self, p => sqlx::query("DELETE FROM login_failures WHERE username = $1")
            .bind(username).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
