//! `/api/v1/auth/...`: login, logout, the current user, web-view tickets.

use std::sync::Arc;

use minsheng_model::{
    ErrorBody, LoginRequest, LoginResponse, Role, UserView, WechatLoginRequest, limits,
};
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

/// Changing one's own password.
#[derive(Object)]
pub struct PasswordChange {
    /// The password in use now.
    pub old_password: String,
    /// The new password, 8 to 128 characters.
    pub new_password: String,
}

/// A password an admin sets for a user.
#[derive(Object)]
pub struct PasswordReset {
    /// The new password, 8 to 128 characters.
    pub new_password: String,
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
        all_areas: u.all_areas,
        active: u.active,
        last_sign_in_at: None,
    }
}

/// 422 `weak_password` unless the password's length is within the rules.
pub fn check_password_rules(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if (limits::PASSWORD_MIN..=limits::PASSWORD_MAX).contains(&n) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "weak_password",
            format!(
                "密码长度应为{}到{}位",
                limits::PASSWORD_MIN,
                limits::PASSWORD_MAX
            ),
        ))
    }
}

/// 403 with a code of its own.
fn refused(code: &str, message: &str) -> ApiError {
    ApiError::Forbidden(Json(ErrorBody {
        code: code.into(),
        message: message.into(),
        field: None,
    }))
}

impl AppState {
    /// Takes one try out of a username's allowance of wrong passwords (429 `account_locked`,
    /// with `Retry-After`, once it is used up). The try counts as a failure until
    /// [`crate::storage::Db::clear_login_failures`] says it was right.
    pub async fn password_try(&self, username: &str) -> Result<(), ApiError> {
        let g = &self.cfg.guard;
        if g.login_max_failures <= 0 {
            return Ok(());
        }
        let now = crate::now_ms();
        let window = g.login_lock_secs * 1000;
        if let Err(oldest) = self
            .db
            .reserve_login_attempt(username, now, now - window, g.login_max_failures)
            .await?
        {
            let until = oldest + window;
            return Err(ApiError::too_many(
                "account_locked",
                "密码错误次数过多,账号已暂时锁定,请稍后再试",
                ((until - now).max(0) as u64).div_ceil(1000),
            ));
        }
        Ok(())
    }
}

impl AuthApi {
    async fn session_for(&self, user: UserRow) -> Result<LoginOk, ApiError> {
        self.session_under(user, None).await
    }

    async fn session_under(
        &self,
        user: UserRow,
        parent: Option<(&str, i64)>,
    ) -> Result<LoginOk, ApiError> {
        let (token, expires) = self.state.start_session_under(&user, parent).await?;
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
        // The try is counted before the password is checked, atomically, so a burst of
        // parallel guesses gets no more tries than the limit.
        self.state.password_try(&username).await?;
        let user = self.state.db.user_by_username(&username).await?;
        let stored = match user.as_ref().and_then(|u| u.password_hash.clone()) {
            Some(h) => h,
            None => password::dummy_hash().await,
        };
        let ok = password::verify(body.0.password, stored).await;
        match user {
            Some(u) if ok && u.active => {
                self.state.db.clear_login_failures(&username).await?;
                self.session_for(u).await
            }
            _ => Err(bad()),
        }
    }

    /// Log in from the mini-program with the code from `wx.login()`; one resident per openid.
    /// Residents only: a staff member whose account is bound to this WeChat (to receive
    /// messages) gets 403 `staff_password_login` and signs in with the password.
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
        if user.role != Role::Resident.as_str() {
            return Err(refused(
                "staff_password_login",
                "工作人员请使用账号和密码登录",
            ));
        }
        if !user.active {
            return Err(ApiError::forbidden("账号已停用"));
        }
        // The content check may ask WeChat about this user's text for two hours from now.
        self.state
            .db
            .record_wechat_sign_in(user.id, crate::now_ms())
            .await?;
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
        self.state.end_session(&p.token_hash).await?;
        Ok(NoContent::Done)
    }

    /// Change one's own password: every other session of this user ends (this one stays).
    /// A wrong `old_password` is 403 `wrong_password` and counts towards the login lockout;
    /// a new password outside the length rules is 422 `weak_password`; an account without a
    /// password (WeChat residents) is 409 `no_password`.
    #[oai(path = "/password", method = "post")]
    async fn change_password(
        &self,
        auth: BearerAuth,
        body: Json<PasswordChange>,
    ) -> Result<NoContent, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let (Some(username), Some(stored)) =
            (p.user.username.clone(), p.user.password_hash.clone())
        else {
            return Err(ApiError::conflict("no_password", "此账号未设置密码"));
        };
        check_password_rules(&body.new_password)?;
        self.state.password_try(&username).await?;
        if !password::verify(body.0.old_password, stored).await {
            return Err(refused("wrong_password", "原密码错误"));
        }
        self.state.db.clear_login_failures(&username).await?;
        self.state
            .set_password(p.id(), body.0.new_password, Some(&p.token_hash), None)
            .await?;
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
        // A ticket cannot outlive the session that asks for it.
        let expires = expires.min(
            self.state
                .db
                .session_expiry(&p.token_hash)
                .await?
                .unwrap_or(now),
        );
        let ticket = super::new_secret("mt_");
        self.state
            .db
            .insert_session(
                &secret_hash(&ticket),
                p.id(),
                "ticket",
                now,
                expires,
                Some(&p.token_hash),
            )
            .await?;
        Ok(Json(TicketResponse {
            ticket,
            expires_at: crate::to_time(expires),
        }))
    }

    /// Exchange a ticket for a session; a ticket works once, and only while fresh. The
    /// session ends no later than the one that asked for the ticket, and with it.
    #[oai(path = "/ticket/exchange", method = "post")]
    async fn exchange(
        &self,
        body: crate::contract::StrictJson<TicketExchange>,
    ) -> Result<LoginOk, ApiError> {
        let (p, until) = self.state.redeem_ticket_until(&body.ticket).await?;
        self.session_under(p.user, Some((&p.token_hash, until)))
            .await
    }
}
