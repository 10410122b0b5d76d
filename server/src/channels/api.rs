//! The desk's side of the channels: content-security holds waiting for a dispatcher, and
//! Open311 API keys for admins (the same as `minsheng create-api-key` / `revoke-api-key`).

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::app::{AppState, Tag};
use crate::auth::BearerAuth;
use crate::error::ApiError;

pub struct ChannelsApi {
    pub state: Arc<AppState>,
}

/// A case kept private by the content check.
#[derive(Object)]
pub struct ContentHold {
    pub case_id: i64,
    pub tracking_no: String,
    /// `review` (WeChat asks for a person to look), `risky`, `pending` (WeChat not answered
    /// yet) or `unchecked` (WeChat cannot be asked: the case came from the official account,
    /// Open311 or the desk, its resident has not signed in through the mini-program in the
    /// last two hours, WeChat refused for good, or every attempt failed).
    pub verdict: String,
    /// WeChat's label (20001 politics, 20002 porn, 20006 crime, 21000 other …).
    pub label: Option<i64>,
    /// Whether the resident asked for the case to be public.
    pub want_public: bool,
    pub attempts: i64,
    /// The text held, for the desk to read.
    pub description: String,
    pub category_name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A dispatcher's decision on a held case.
#[derive(Object, serde::Deserialize)]
pub struct HoldDecision {
    /// `true`: the text is fine, publish the case if its resident asked; `false`: keep it private.
    pub publish: bool,
}

/// A new Open311 client or 12345 hotline platform.
#[derive(Object, serde::Deserialize)]
pub struct NewApiKey {
    #[oai(validator(min_length = 1, max_length = 64))]
    pub name: String,
    /// `open311` (the default) or `hotline`.
    pub scope: Option<minsheng_model::ApiKeyScope>,
}

/// The key, shown this once.
#[derive(Object)]
pub struct ApiKeyCreated {
    pub name: String,
    pub key: String,
}

#[derive(ApiResponse)]
pub enum KeyCreated {
    /// Created; the key is not shown again.
    #[oai(status = 201)]
    Created(Json<ApiKeyCreated>),
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done.
    #[oai(status = 204)]
    Done,
}

#[OpenApi]
impl ChannelsApi {
    /// Cases the content check keeps private, for the dispatch desk.
    #[oai(path = "/api/v1/content-holds", method = "get", tag = "Tag::Cases")]
    async fn holds(&self, auth: BearerAuth) -> Result<Json<Vec<ContentHold>>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::runs_the_desk(&p)?;
        let scope = self.state.scope(&p).await?;
        let mut out = Vec::new();
        for h in self.state.db.content_holds(200).await? {
            if let Some(c) = self.state.db.case(h.case_id).await?
                && crate::policy::sees_case(&scope, &c)
            {
                out.push(ContentHold {
                    case_id: h.case_id,
                    tracking_no: c.tracking_no.unwrap_or_default(),
                    verdict: h.verdict,
                    label: h.label,
                    want_public: h.want_public,
                    attempts: h.attempts,
                    description: c.description,
                    category_name: c.category_name,
                    created_at: crate::to_time(c.created_at),
                });
            }
        }
        Ok(Json(out))
    }

    /// Decide a held case after reading it: publish it (as its resident asked) or keep it private.
    #[oai(
        path = "/api/v1/content-holds/:case_id/decision",
        method = "post",
        tag = "Tag::Cases"
    )]
    async fn decide(
        &self,
        auth: BearerAuth,
        case_id: Path<i64>,
        body: crate::contract::StrictJson<HoldDecision>,
    ) -> Result<Done, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::runs_the_desk(&p)?;
        let scope = self.state.scope(&p).await?;
        let visible = match self.state.db.case(case_id.0).await? {
            Some(c) => crate::policy::sees_case(&scope, &c),
            None => false,
        };
        if !visible || self.state.db.content_check(case_id.0).await?.is_none() {
            return Err(ApiError::not_found(
                "hold_not_found",
                "该诉求没有待复核的内容检测",
            ));
        }
        // The decision and its timeline event, in one transaction.
        self.state
            .db
            .decide_hold(
                case_id.0,
                body.0.publish,
                p.id(),
                p.role.as_str(),
                self.state.clock.now_ms(),
            )
            .await?;
        self.state.feed.committed();
        self.state.case_cache.forget(case_id.0); // see content_check::run
        Ok(Done::Done)
    }

    /// Issue an Open311 or 12345 hotline API key (admin).
    #[oai(
        path = "/api/v1/admin/api-keys",
        method = "post",
        tag = "Tag::Reference"
    )]
    async fn create_key(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewApiKey>,
    ) -> Result<KeyCreated, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        let name = body.0.name.trim().to_string();
        if name.is_empty() {
            return Err(ApiError::unprocessable("validation_failed", "name: 必填"));
        }
        let scope = body.0.scope.unwrap_or(minsheng_model::ApiKeyScope::Open311);
        let key = crate::auth::new_secret(super::hotline::key_prefix(scope));
        self.state
            .db
            .create_api_key(
                &name,
                scope.as_str(),
                &crate::auth::secret_hash(&key),
                crate::now_ms(),
                Some(p.id()),
            )
            .await?;
        Ok(KeyCreated::Created(Json(ApiKeyCreated { name, key })))
    }

    /// Every Open311 / hotline API key (admin): names and dates, never a secret.
    #[oai(
        path = "/api/v1/admin/api-keys",
        method = "get",
        tag = "Tag::Reference"
    )]
    async fn keys(
        &self,
        auth: BearerAuth,
    ) -> Result<Json<Vec<minsheng_model::ApiKeyView>>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        Ok(Json(
            self.state
                .db
                .api_keys()
                .await?
                .into_iter()
                .map(|k| minsheng_model::ApiKeyView {
                    id: k.id,
                    name: k.name,
                    scope: minsheng_model::ApiKeyScope::parse(&k.scope)
                        .unwrap_or(minsheng_model::ApiKeyScope::Open311),
                    created_at: crate::to_time(k.created_at),
                    revoked_at: k.revoked_at.map(crate::to_time),
                })
                .collect(),
        ))
    }

    /// Revoke an Open311 API key by name (admin).
    #[oai(
        path = "/api/v1/admin/api-keys/:name",
        method = "delete",
        tag = "Tag::Reference"
    )]
    async fn revoke_key(&self, auth: BearerAuth, name: Path<String>) -> Result<Done, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        if !self
            .state
            .db
            .revoke_api_key(name.0.trim(), crate::now_ms(), Some(p.id()))
            .await?
        {
            return Err(ApiError::not_found(
                "api_key_not_found",
                "没有该名称的有效密钥",
            ));
        }
        Ok(Done::Done)
    }
}
