//! The subscribe-message outbox: a cursor over the event log, and messages to send.

use super::{Db, FeedRow, StoreResult, with_db};

/// A message to write for an event.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: i64,
    pub case_id: i64,
    pub event_id: i64,
    pub template: String,
    pub payload: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub user_id: i64,
    pub case_id: i64,
    pub event_id: i64,
    pub template: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
}

/// A user who can receive subscribe messages.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub id: i64,
    pub openid: String,
}

impl Db {
    /// Where the named cursor stands, created at the log's current end on first use
    /// (history is not replayed as messages).
    pub async fn log_cursor(&self, name: &str) -> StoreResult<i64> {
        let end = self.last_event_id().await?;
        self.cursor_at(name, end).await
    }

    /// Where the named cursor over the event log stands, created at `initial` on first use.
    pub async fn cursor_at(&self, name: &str, initial: i64) -> StoreResult<i64> {
        with_db!(self, p => {
            sqlx::query("INSERT INTO log_cursors (name, last_id) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(initial).execute(p).await.map(|_| ())
        })?;
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT last_id FROM log_cursors WHERE name = $1").bind(name).fetch_one(p).await
        })?)
    }

    /// Moves the cursor from `from` to `to` and stores the messages, in one transaction;
    /// `false` (and nothing stored) when another instance moved it first.
    pub async fn advance_cursor(
        &self,
        name: &str,
        from: i64,
        to: i64,
        msgs: &[NewNotification],
        now: i64,
    ) -> StoreResult<bool> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE log_cursors SET last_id = $1 WHERE name = $2 AND last_id = $3")
                .bind(to).bind(name).bind(from).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Ok::<_, sqlx::Error>(false);
            }
            for m in msgs {
                sqlx::query(
                    "INSERT INTO notifications (user_id, case_id, event_id, template, payload, status, attempts, next_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (event_id, user_id) DO NOTHING",
                )
                .bind(m.user_id).bind(m.case_id).bind(m.event_id).bind(&m.template).bind(&m.payload).bind(now)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        }.await)?)
    }

    /// Events after `after`, for the outbox worker.
    pub async fn events_after(&self, after: i64, limit: i64) -> StoreResult<Vec<FeedRow>> {
        self.feed_after(after, limit).await
    }

    /// Active users among `user_ids` and the handlers of `department` who have a WeChat openid.
    pub async fn recipients(
        &self,
        user_id: Option<i64>,
        department: Option<i64>,
    ) -> StoreResult<(Option<Recipient>, Vec<Recipient>)> {
        let owner = match user_id {
            Some(u) => with_db!(self, p => {
                sqlx::query_as::<_, Recipient>("SELECT id, openid FROM users WHERE id = $1 AND openid IS NOT NULL AND active = TRUE")
                    .bind(u).fetch_optional(p).await
            })?,
            None => None,
        };
        let handlers = match department {
            Some(d) => with_db!(self, p => {
                sqlx::query_as::<_, Recipient>(
                    "SELECT id, openid FROM users WHERE department_id = $1 AND role = 'handler' AND openid IS NOT NULL AND active = TRUE",
                )
                .bind(d).fetch_all(p).await
            })?,
            None => Vec::new(),
        };
        Ok((owner, handlers))
    }

    /// Claims one due message for `lease_ms` (a crashed sender's claim lapses and is retried).
    pub async fn claim_notification(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<NotificationRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, NotificationRow>(
                "UPDATE notifications SET status = 'sending', attempts = attempts + 1, next_at = $1
                 WHERE id = (SELECT id FROM notifications WHERE status IN ('pending', 'sending') AND next_at <= $2 ORDER BY id LIMIT 1)
                   AND status IN ('pending', 'sending') AND next_at <= $2
                 RETURNING id, user_id, case_id, event_id, template, payload, status, attempts",
            )
            .bind(now + lease_ms).bind(now).fetch_optional(p).await
        })?)
    }

    /// Records how a send went: `sent`, `skipped`, `failed`, or `pending` again at `next_at`.
    pub async fn finish_notification(
        &self,
        id: i64,
        status: &str,
        error: Option<&str>,
        next_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        with_db!(self, p => {
            sqlx::query(
                "UPDATE notifications SET status = $1, error = $2, next_at = $3,
                 sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END WHERE id = $5",
            )
            .bind(status).bind(error).bind(next_at).bind(now).bind(id).execute(p).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Every message of a case, for tests and support.
    pub async fn notifications_of(&self, case_id: i64) -> StoreResult<Vec<NotificationRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, NotificationRow>(
                "SELECT id, user_id, case_id, event_id, template, payload, status, attempts FROM notifications WHERE case_id = $1 ORDER BY id",
            )
            .bind(case_id).fetch_all(p).await
        })?)
    }

    /// Binds a WeChat openid to a user; `false` when another user already holds it.
    pub async fn bind_openid(&self, user_id: i64, openid: &str) -> StoreResult<bool> {
        let r = with_db!(self, p => {
            sqlx::query("UPDATE users SET openid = $1 WHERE id = $2").bind(openid).bind(user_id).execute(p).await.map(|_| ())
        });
        match r {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
