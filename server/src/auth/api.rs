//! `/api/v1/auth/...`: login, logout, the current user, web-view tickets.

use std::sync::Arc;

use minsheng_model::{LoginRequest, LoginResponse, Role, UserView, WechatLoginRequest};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{BearerAuth, password, secret_hash, wechat};
use crate::app::{AppState, Tag};
use crate::error::ApiError;
use crate::storage::UserRow;

pub struct AuthApi {
    pub state: Arc<AppState>,
}

/// A single-use ticket to open a widget in a web-view as this user.
#[derive(Object)]
pub struct TicketResponse {
    /// Put it in the web-view URL's fragment: `/w/track#ticket=...`.
    pub ticket: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A ticket to exchange for a session.
#[derive(Object, serde::Deserialize)]
pub struct TicketExchange {
    pub ticket: String,
}

#[derive(ApiResponse)]
pub enum LoginOk {
    #[oai(status = 200)]
    Ok(Json<LoginResponse>),
}

#[derive(ApiResponse)]
pub enum NoContent {
    #[oai(status = 204)]
    Done,
}

/// The API's view of a user.
pub fn user_view(u: &UserRow) -> UserView {
    UserView {
        id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: Role::parse(&u.role).unwrap_or(Role::Resident),
        department_id: u.department_id,
        area_id: u.area_id,
        active: u.active,
    }
}

impl AuthApi {
    async fn session_for(&self, user: UserRow) -> Result<LoginOk, ApiError> {
        let (token, expires) = self.state.start_session(&user).await?;
        Ok(LoginOk::Ok(Json(LoginResponse {
            token,
            expires_at: crate::to_time(expires),
            user: user_view(&user),
        })))
    }
}

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl AuthApi {
    /// Log in with username and password (staff, and residents registered on the web).
    #[oai(path = "/login", method = "post")]
    /// After `MINSHENG_LOGIN_MAX_FAILURES` wrong passwords for a username within
    /// `MINSHENG_LOGIN_LOCK_SECS`, it is locked (429 `account_locked` with `Retry-After`, even
    /// with the right password) until the oldest of them is that old.
    async fn login(
        &self,
        req: &poem::Request,
        body: crate::contract::StrictJson<LoginRequest>,
    ) -> Result<LoginOk, ApiError> {
        let limits = &self.state.limits;
        limits.login_ip.check(&limits.client_ip(req))?;
        let bad = || ApiError::unauthorized("invalid_credentials", "用户名或密码错误");
        let username = body.username.trim().to_string();
        if username.is_empty() || username.chars().count() > minsheng_model::limits::USERNAME_MAX {
            return Err(bad());
        }
        let g = &self.state.cfg.guard;
        let now = crate::now_ms();
        let window = g.login_lock_secs * 1000;
        let (failures, oldest) = self
            .state
            .db
            .login_failures(&username, now - window)
            .await?;
        if g.login_max_failures > 0 && failures >= g.login_max_failures {
            let until = oldest.unwrap_or(now) + window;
            return Err(ApiError::too_many(
                "account_locked",
                "密码错误次数过多,账号已暂时锁定,请稍后再试",
                ((until - now).max(0) as u64).div_ceil(1000),
            ));
        }
        let user = self.state.db.user_by_username(&username).await?;
        let stored = match user.as_ref().and_then(|u| u.password_hash.clone()) {
            Some(h) => h,
            None => password::dummy_hash().await,
        };
        let ok = password::verify(body.0.password, stored).await;
        match user {
            Some(u) if ok && u.active => {
                if failures > 0 {
                    self.state.db.clear_login_failures(&username).await?;
                }
                self.session_for(u).await
            }
            _ => {
                self.state
                    .db
                    .record_login_failure(&username, now, now - window)
                    .await?;
                Err(bad())
            }
        }
    }

    /// Log in from the mini-program with the code from `wx.login()`; one resident per openid.
    #[oai(path = "/wechat", method = "post")]
    async fn wechat(
        &self,
        body: crate::contract::StrictJson<WechatLoginRequest>,
    ) -> Result<LoginOk, ApiError> {
        let code = body.code.trim();
        if code.is_empty() || code.len() > 128 {
            return Err(ApiError::bad_request("wechat_invalid_code", "登录码无效"));
        }
        let openid = wechat::code_to_openid(&self.state.http, &self.state.cfg.wechat, code).await?;
        let user = self
            .state
            .db
            .wechat_resident(&openid, crate::now_ms())
            .await?;
        if !user.active {
            return Err(ApiError::forbidden("账号已停用"));
        }
        self.session_for(user).await
    }

    /// Bind the caller's WeChat account (code from `wx.login()`) so they receive subscribe
    /// messages; for staff who log in with a password.
    #[oai(path = "/wechat/bind", method = "post")]
    async fn bind_wechat(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<WechatLoginRequest>,
    ) -> Result<Json<UserView>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let code = body.code.trim();
        if code.is_empty() || code.len() > 128 {
            return Err(ApiError::bad_request("wechat_invalid_code", "登录码无效"));
        }
        let openid = wechat::code_to_openid(&self.state.http, &self.state.cfg.wechat, code).await?;
        if !self.state.db.bind_openid(p.id(), &openid).await? {
            return Err(ApiError::conflict(
                "wechat_already_bound",
                "该微信已绑定其他账号",
            ));
        }
        self.state.sessions_changed(None);
        let user = self
            .state
            .db
            .user(p.id())
            .await?
            .ok_or_else(|| ApiError::internal("user vanished"))?;
        Ok(Json(user_view(&user)))
    }

    /// End this session (the token stops working at once).
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, auth: BearerAuth) -> Result<NoContent, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        self.state
            .db
            .revoke_session(&p.token_hash, crate::now_ms())
            .await?;
        self.state.sessions_changed(Some(&p.token_hash));
        Ok(NoContent::Done)
    }

    /// The current user.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, auth: BearerAuth) -> Result<Json<UserView>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        Ok(Json(user_view(&p.user)))
    }

    /// A short-lived, single-use ticket for opening a widget in a web-view as this user.
    #[oai(path = "/ticket", method = "post")]
    async fn ticket(&self, auth: BearerAuth) -> Result<Json<TicketResponse>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let now = crate::now_ms();
        let expires = now + self.state.cfg.ticket_seconds * 1000;
        let ticket = super::new_secret("mt_");
        self.state
            .db
            .insert_session(&secret_hash(&ticket), p.id(), "ticket", now, expires)
            .await?;
        Ok(Json(TicketResponse {
            ticket,
            expires_at: crate::to_time(expires),
        }))
    }

    /// Exchange a ticket for a session; a ticket works once, and only while fresh.
    #[oai(path = "/ticket/exchange", method = "post")]
    async fn exchange(
        &self,
        body: crate::contract::StrictJson<TicketExchange>,
    ) -> Result<LoginOk, ApiError> {
        let user = self.state.redeem_ticket(&body.ticket).await?.user;
        self.session_for(user).await
    }
}
