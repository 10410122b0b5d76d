//! The HTTP layer's one error type. Clients get a stable `code` and a human message;
//! the log gets the cause. Internal errors never show their text to the client.

use minsheng_model::{ErrorBody, FieldError, RuleError};
use poem::http::StatusCode;
use poem_openapi::{ApiResponse, payload::Json};

#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// Malformed request (bad JSON, wrong types, bad parameters).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing, invalid, expired or revoked credentials.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Authenticated, but this role may not do this.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such thing, or not visible to this user.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// A stale `version` or a conflicting state.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The upload is too large.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The file type is not accepted.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Well-formed, but breaks a rule or a limit.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many requests: retry after the seconds in `Retry-After`.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        #[oai(header = "Retry-After")] Option<String>,
    ),
    /// Something failed on our side; the log has the details.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// A service we depend on is unavailable: retry later (after the seconds in
    /// `Retry-After`, when given).
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        #[oai(header = "Retry-After")] Option<String>,
    ),
}

/// What a client is told to wait before retrying when the database is unavailable: about
/// what a PostgreSQL restart or fail-over takes.
const DATABASE_RETRY_AFTER_SECS: u64 = 5;

fn body(code: &str, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        code: code.into(),
        message: message.into(),
        field: None,
    })
}

impl ApiError {
    pub fn bad_request(code: &str, msg: impl Into<String>) -> Self {
        ApiError::BadRequest(body(code, msg))
    }
    pub fn unauthorized(code: &str, msg: impl Into<String>) -> Self {
        ApiError::Unauthorized(body(code, msg))
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        ApiError::Forbidden(body("forbidden", msg))
    }
    pub fn not_found(code: &str, msg: impl Into<String>) -> Self {
        ApiError::NotFound(body(code, msg))
    }
    pub fn conflict(code: &str, msg: impl Into<String>) -> Self {
        ApiError::Conflict(body(code, msg))
    }
    pub fn unprocessable(code: &str, msg: impl Into<String>) -> Self {
        ApiError::Unprocessable(body(code, msg))
    }
    /// 429 with the seconds after which to try again.
    pub fn too_many(code: &str, msg: impl Into<String>, retry_after_secs: u64) -> Self {
        ApiError::TooManyRequests(body(code, msg), Some(retry_after_secs.max(1).to_string()))
    }
    pub fn unavailable(code: &str, msg: impl Into<String>) -> Self {
        ApiError::Unavailable(body(code, msg), None)
    }

    /// Logs the cause and answers 503 `database_unavailable` with `Retry-After`: the database
    /// cannot be reached just now (stopped, restarting, or no connection free in time).
    pub fn database_unavailable(err: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %err, "database unavailable");
        ApiError::Unavailable(
            body("database_unavailable", "服务暂时不可用,请稍后重试"),
            Some(DATABASE_RETRY_AFTER_SECS.to_string()),
        )
    }

    /// A field that failed validation: 422 `validation_failed`, naming the field.
    pub fn field(e: FieldError) -> Self {
        ApiError::Unprocessable(Json(ErrorBody {
            code: "validation_failed".into(),
            message: format!("{}: {}", e.field, e.message_zh),
            field: Some(e.field.into()),
        }))
    }

    /// 422 with the field error's own `code` (not `validation_failed`), naming its field:
    /// for rules with a code of their own (`invalid_area_level`, `department_inactive`).
    pub fn coded_field(e: FieldError) -> Self {
        ApiError::Unprocessable(Json(ErrorBody {
            code: e.code.into(),
            message: format!("{}: {}", e.field, e.message_zh),
            field: Some(e.field.into()),
        }))
    }

    /// Logs the cause and answers 500 with no detail.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        ApiError::Internal(body("internal", "服务器内部错误,请稍后再试"))
    }

    /// The body every variant carries.
    pub fn body(&self) -> &ErrorBody {
        match self {
            ApiError::BadRequest(b)
            | ApiError::Unauthorized(b)
            | ApiError::Forbidden(b)
            | ApiError::NotFound(b)
            | ApiError::Conflict(b)
            | ApiError::PayloadTooLarge(b)
            | ApiError::UnsupportedMediaType(b)
            | ApiError::Unprocessable(b)
            | ApiError::TooManyRequests(b, _)
            | ApiError::Internal(b)
            | ApiError::Unavailable(b, _) => &b.0,
        }
    }

    /// The error's stable code (for logs and metrics).
    pub fn code(&self) -> &str {
        &self.body().code
    }
}

impl From<crate::storage::StoreError> for ApiError {
    fn from(e: crate::storage::StoreError) -> Self {
        use crate::storage::StoreError;
        match e {
            StoreError::Conflict => {
                ApiError::conflict("version_conflict", "案件已被他人更新,请刷新后重试")
            }
            StoreError::NotFound => ApiError::not_found("not_found", "不存在"),
            StoreError::Duplicate(what) => {
                ApiError::conflict("duplicate", format!("{what} 已存在"))
            }
            e @ StoreError::Database(_) if e.is_unavailable() => ApiError::database_unavailable(e),
            StoreError::Database(e) => ApiError::internal(format!("database: {e}")),
        }
    }
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        match e {
            RuleError::Forbidden => ApiError::forbidden("无权进行此操作"),
            RuleError::WrongState { status, action } => ApiError::conflict(
                "invalid_transition",
                format!("案件当前状态为「{}」,不能执行 {action}", status.label_zh()),
            ),
            RuleError::Field(f) => ApiError::field(f),
            RuleError::EscalationAtMaximum => {
                ApiError::conflict("escalation_at_maximum", "督办已是最高级别")
            }
        }
    }
}

/// Turns errors raised by the framework (bad JSON, missing auth, unknown route...) into our
/// JSON shape, so every error a client sees has a `code`.
pub fn framework_error(err: poem::Error) -> poem::Response {
    if err.is_from_response() {
        return err.into_response();
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        // A parameter outside what the document declares (its type, enum, range or
        // pattern): 400 `invalid_<name>`, the code each handler gave before the document
        // said it.
        let code = match e.name {
            // The codes these parameters had before the document stated their formats.
            "from" | "to" => "invalid_date".to_string(),
            "topics" => "invalid_topic".to_string(),
            name => format!("invalid_{}", name.to_ascii_lowercase().replace('-', "_")),
        };
        let json = body(&code, format!("参数 {} 无效: {}", e.name, e.reason));
        return json_error(StatusCode::BAD_REQUEST, &json.0);
    }
    if let Some(field) = err
        .downcast_ref::<poem_openapi::error::ParseRequestPayloadError>()
        .and_then(|e| verified_field(&e.reason))
    {
        // A body field outside its declared length, range or pattern: 422
        // `validation_failed` naming the field, as the handlers' own checks answer.
        let message = err.to_string();
        let code = FIELD_CODES
            .iter()
            .find(|(ty, f, _)| *f == field && message.contains(&format!("\"{ty}\": field `")))
            .map_or("validation_failed", |(_, _, code)| code);
        let json = Json(ErrorBody {
            code: code.into(),
            message: format!("{field}: 不符合接口文档的约束 ({message})"),
            field: Some(field.to_string()),
        });
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, &json.0);
    }
    let status = err.status();
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("invalid_request", err.to_string()),
        StatusCode::UNAUTHORIZED => ("unauthorized", "请先登录".to_string()),
        StatusCode::NOT_FOUND => ("not_found", "不存在".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "不支持此方法".to_string()),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "内容过大".to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", err.to_string()),
        StatusCode::UNPROCESSABLE_ENTITY => ("validation_failed", err.to_string()),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "unhandled error");
            ("internal", "服务器内部错误,请稍后再试".to_string())
        }
        _ => ("error", err.to_string()),
    };
    json_error(status, &body(code, message).0)
}

fn json_error(status: StatusCode, body: &ErrorBody) -> poem::Response {
    poem::Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(serde_json::to_vec(body).unwrap_or_default())
}

/// Body fields whose declared limit had a code of its own before the document stated it:
/// (schema, field, code).
const FIELD_CODES: &[(&str, &str, &str)] = &[
    ("NewUser", "password", "weak_password"),
    ("NewUser", "username", "invalid_username"),
    ("VisitSyncRequest", "visits", "batch_too_large"),
];

/// The field named by poem-openapi's validator failure ("field `x` verification failed"),
/// the innermost first.
fn verified_field(reason: &str) -> Option<&str> {
    let (_, rest) = reason.split_once("field `")?;
    let (field, rest) = rest.split_once('`')?;
    rest.starts_with(" verification failed").then_some(field)
}
