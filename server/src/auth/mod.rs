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
use crate::storage::{Scope, UserRow};

/// `Authorization: Bearer <token>` from `/api/v1/auth/login` or `/api/v1/auth/wechat`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct BearerAuth(pub Bearer);

/// The authenticated caller.
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

    /// Fails with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden("无权访问"))
        }
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

    /// Uses up a single-use web-view ticket and returns the user it was issued to
    /// (401 `invalid_ticket` when unknown, used, expired, or the user is disabled).
    pub async fn redeem_ticket(&self, ticket: &str) -> Result<Principal, ApiError> {
        let bad = || ApiError::unauthorized("invalid_ticket", "链接已失效,请重新打开");
        let user_id = self
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
        Ok(Principal {
            user,
            role,
            token_hash: String::new(),
        })
    }

    /// Starts a session for a user and returns the token and its expiry.
    pub async fn start_session(&self, user: &UserRow) -> Result<(String, i64), ApiError> {
        let hours = if user.role == Role::Resident.as_str() {
            self.cfg.resident_session_hours
        } else {
            self.cfg.staff_session_hours
        };
        let now = crate::now_ms();
        let expires = now + (hours * 3_600_000.0) as i64;
        let token = new_secret("ms_");
        self.db
            .insert_session(&secret_hash(&token), user.id, "session", now, expires)
            .await?;
        Ok((token, expires))
    }

    /// Which cases this caller may see.
    pub async fn scope(&self, p: &Principal) -> Result<Scope, ApiError> {
        Ok(match p.role {
            Role::Admin => Scope::All,
            Role::Resident => Scope::Owner(p.id()),
            Role::Handler => p
                .user
                .department_id
                .map_or(Scope::Nothing, Scope::Department),
            Role::Dispatcher | Role::Supervisor | Role::Leader => match p.user.area_id {
                None => Scope::All,
                Some(a) => match self.areas().await?.iter().find(|area| area.id == a) {
                    Some(area) => Scope::Subtree(area.path.clone()),
                    None => Scope::Nothing,
                },
            },
        })
    }
}
