//! Who is calling: bearer sessions for staff and residents, password and WeChat login,
//! and single-use tickets that carry a session into a mini-program web-view.

pub mod api;
pub mod password;
pub mod sessions;
pub mod wechat;

use minsheng_model::Role;
use poem_openapi::{SecurityScheme, auth::Bearer};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::ApiError;
use crate::storage::UserRow;

/// `Authorization: Bearer <token>` from `/api/v1/auth/login` or `/api/v1/auth/wechat`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct BearerAuth(pub Bearer);

/// The authenticated caller. What they may see or do is `crate::policy`'s to say.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRow,
    pub role: Role,
    pub token_hash: String,
}

impl Principal {
    pub fn id(&self) -> i64 {
        self.user.id
    }
}

/// A new random secret (session token or ticket), shown once to the client.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// What the database keeps instead of the secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl AppState {
    /// Resolves a bearer token to its user: 401 `session_expired` for an expired or revoked
    /// session (the widget then asks the mini-program to log in again), 401 `invalid_token` otherwise.
    pub async fn authenticate(&self, auth: &BearerAuth) -> Result<Principal, ApiError> {
        let hash = secret_hash(&auth.0.token);
        let now = crate::now_ms();
        if let Some(hit) = self.sessions.get(&hash, now) {
            return Ok(Principal {
                user: hit.user.clone(),
                role: hit.role,
                token_hash: hash,
            });
        }
        match self.db.session_user(&hash, now).await? {
            Some((user, expires_at)) => {
                let role = Role::parse(&user.role)
                    .ok_or_else(|| ApiError::internal("unknown role in database"))?;
                self.sessions
                    .put(&hash, user.clone(), role, expires_at, now);
                Ok(Principal {
                    user,
                    role,
                    token_hash: hash,
                })
            }
            None if self.db.session_known(&hash).await? => Err(ApiError::unauthorized(
                "session_expired",
                "登录已过期,请重新登录",
            )),
            None => Err(ApiError::unauthorized("invalid_token", "登录凭证无效")),
        }
    }

    /// Says that sessions or the users behind them changed: `Some(hash)` for one session
    /// revoked, `None` for anything else (a user deactivated, rebound, …). Forgets the cached
    /// sessions here at once and tells the other instances to forget theirs; open event
    /// streams of a revoked session end at once, and every open stream's session is read
    /// again (see `feed::streams`).
    pub fn sessions_changed(&self, token_hash: Option<&str>) {
        match token_hash {
            Some(h) => {
                self.sessions.remove(h);
                self.feed.streams.revoked(h);
            }
            None => self.sessions.clear(),
        }
        self.feed.streams.recheck();
        self.feed.sessions_changed();
    }

    /// Uses up a single-use web-view ticket and returns the user it was issued to, with the
    /// hash of the session that asked for it (401 `invalid_ticket` when unknown, used,
    /// expired, the asking session has ended, or the user is disabled).
    pub async fn redeem_ticket(&self, ticket: &str) -> Result<Principal, ApiError> {
        Ok(self.redeem_ticket_until(ticket).await?.0)
    }

    /// [`AppState::redeem_ticket`], with the asking session's expiry: nothing made from the
    /// ticket may outlive it.
    pub async fn redeem_ticket_until(&self, ticket: &str) -> Result<(Principal, i64), ApiError> {
        let bad = || ApiError::unauthorized("invalid_ticket", "链接已失效,请重新打开");
        let (user_id, parent, parent_expires) = self
            .db
            .consume_ticket(&secret_hash(ticket.trim()), crate::now_ms())
            .await?
            .ok_or_else(bad)?;
        let user = self
            .db
            .user(user_id)
            .await?
            .filter(|u| u.active)
            .ok_or_else(bad)?;
        let role = Role::parse(&user.role)
            .ok_or_else(|| ApiError::internal("unknown role in database"))?;
        Ok((
            Principal {
                user,
                role,
                token_hash: parent,
            },
            parent_expires,
        ))
    }

    /// Starts a session for a user and returns the token and its expiry.
    pub async fn start_session(&self, user: &UserRow) -> Result<(String, i64), ApiError> {
        self.start_session_under(user, None).await
    }

    /// Starts a session; under a parent (the hash of the session that asked for a web-view
    /// ticket, and its expiry) it ends no later than the parent and is revoked with it.
    pub async fn start_session_under(
        &self,
        user: &UserRow,
        parent: Option<(&str, i64)>,
    ) -> Result<(String, i64), ApiError> {
        let hours = if user.role == Role::Resident.as_str() {
            self.cfg.resident_session_hours
        } else {
            self.cfg.staff_session_hours
        };
        let now = crate::now_ms();
        let mut expires = now + (hours * 3_600_000.0) as i64;
        if let Some((_, until)) = parent {
            expires = expires.min(until);
        }
        let token = new_secret("ms_");
        self.db
            .insert_session(
                &secret_hash(&token),
                user.id,
                "session",
                now,
                expires,
                parent.map(|(h, _)| h),
            )
            .await?;
        Ok((token, expires))
    }

    /// Revokes a session and everything made from it (tickets, web-view sessions), here and,
    /// through [`AppState::sessions_changed`], in the other instances' caches.
    pub async fn end_session(&self, token_hash: &str) -> Result<(), ApiError> {
        let descendants = self.db.revoke_session(token_hash, crate::now_ms()).await?;
        // The descendants' hashes are not at hand: then forget every cached session.
        self.sessions_changed((descendants == 0).then_some(token_hash));
        Ok(())
    }

    /// Sets a user's password (already checked against the rules) and ends their sessions,
    /// all but `keep`.
    pub async fn set_password(
        &self,
        user_id: i64,
        new_password: String,
        keep: Option<&str>,
        audit: Option<crate::storage::AuditRecord>,
    ) -> Result<bool, ApiError> {
        let hash = password::hash(new_password)
            .await
            .map_err(ApiError::internal)?;
        let found = self
            .db
            .set_password(user_id, &hash, keep, crate::now_ms(), audit.as_ref())
            .await?;
        if found {
            self.sessions_changed(None);
        }
        Ok(found)
    }
}
