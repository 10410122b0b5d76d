//! Input limits, enforced by the server and checked by the widgets before sending.

use crate::dto::{CaseActionRequest, NewCase};
use crate::enums::{Action, Satisfaction};

/// The numbers behind every check, so the widgets can show them ("12/2000").
pub mod limits {
    /// Description length in characters (not bytes).
    pub const DESCRIPTION_MIN: usize = 5;
    pub const DESCRIPTION_MAX: usize = 2000;
    pub const ADDRESS_MAX: usize = 200;
    pub const NOTE_MAX: usize = 2000;
    pub const REASON_MAX: usize = 500;
    pub const COMMENT_MAX: usize = 500;
    pub const CONTACT_NAME_MAX: usize = 50;
    pub const CLIENT_REQUEST_ID_MIN: usize = 8;
    pub const CLIENT_REQUEST_ID_MAX: usize = 64;
    /// Photos attached to a submission, and to any one later action.
    pub const PHOTOS_PER_ATTACHMENT: usize = 9;
    /// Bytes in one photo, after the phone has shrunk it.
    pub const PHOTO_MAX_BYTES: usize = 10 * 1024 * 1024;
    pub const USERNAME_MAX: usize = 64;
    pub const PASSWORD_MIN: usize = 8;
    pub const PASSWORD_MAX: usize = 128;
    pub const NAME_MAX: usize = 100;
}

/// One field that failed a check: `field` names it, `code` says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message_zh: String,
    pub message_en: String,
}

impl FieldError {
    pub(crate) fn new(
        field: &'static str,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        FieldError {
            field,
            code,
            message_zh: zh.into(),
            message_en: en.into(),
        }
    }
}

pub(crate) fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Checks an optional free-text field's length.
pub(crate) fn text_max(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), FieldError> {
    match value {
        Some(v) if chars(v) > max => Err(FieldError::new(
            field,
            "too_long",
            format!("不能超过{max}个字"),
            format!("must be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn required(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), FieldError> {
    match value.map(str::trim) {
        None | Some("") => Err(FieldError::new(field, "required", "必填", "is required")),
        Some(_) => text_max(field, value, max),
    }
}

/// The description: trimmed length within [`limits::DESCRIPTION_MIN`]..=[`limits::DESCRIPTION_MAX`].
pub fn description(value: &str) -> Result<(), FieldError> {
    let n = chars(value.trim());
    if n < limits::DESCRIPTION_MIN {
        return Err(FieldError::new(
            "description",
            "too_short",
            format!("请至少写{}个字", limits::DESCRIPTION_MIN),
            format!("must be at least {} characters", limits::DESCRIPTION_MIN),
        ));
    }
    text_max("description", Some(value), limits::DESCRIPTION_MAX)
}

/// Latitude and longitude: both or neither, within the globe.
pub fn location(lat: Option<f64>, lng: Option<f64>) -> Result<(), FieldError> {
    match (lat, lng) {
        (None, None) => Ok(()),
        (Some(lat), Some(lng)) => {
            if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
                Err(FieldError::new(
                    "lat",
                    "out_of_range",
                    "纬度应在 -90 到 90 之间",
                    "latitude must be within -90..90",
                ))
            } else if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
                Err(FieldError::new(
                    "lng",
                    "out_of_range",
                    "经度应在 -180 到 180 之间",
                    "longitude must be within -180..180",
                ))
            } else {
                Ok(())
            }
        }
        (Some(_), None) => Err(FieldError::new(
            "lng",
            "required",
            "经纬度须同时提供",
            "lat and lng go together",
        )),
        (None, Some(_)) => Err(FieldError::new(
            "lat",
            "required",
            "经纬度须同时提供",
            "lat and lng go together",
        )),
    }
}

/// A mainland or landline phone number: digits with optional `+`, `-` and spaces, 5..=20 digits.
pub fn phone(value: &str) -> Result<(), FieldError> {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let ok = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
        && (5..=20).contains(&digits);
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "contact_phone",
            "invalid",
            "电话号码格式不正确",
            "not a phone number",
        ))
    }
}

/// A client-generated idempotency key: 8..=64 of `[A-Za-z0-9_-]`.
pub fn client_request_id(value: &str) -> Result<(), FieldError> {
    let n = value.len();
    let ok = (limits::CLIENT_REQUEST_ID_MIN..=limits::CLIENT_REQUEST_ID_MAX).contains(&n)
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "client_request_id",
            "invalid",
            "请求编号无效",
            "must be 8 to 64 letters, digits, '-' or '_'",
        ))
    }
}

/// Every check on a new case that needs no database.
pub fn new_case(c: &NewCase) -> Result<(), FieldError> {
    client_request_id(&c.client_request_id)?;
    description(&c.description)?;
    location(c.lat, c.lng)?;
    text_max("address", c.address.as_deref(), limits::ADDRESS_MAX)?;
    text_max(
        "contact_name",
        c.contact_name.as_deref(),
        limits::CONTACT_NAME_MAX,
    )?;
    if let Some(p) = c.contact_phone.as_deref().filter(|p| !p.is_empty()) {
        phone(p)?;
    }
    Ok(())
}

/// Checks the fields an action needs (reasons for refusals, a department for assignment...).
pub fn action_input(r: &CaseActionRequest) -> Result<(), FieldError> {
    text_max("note", r.note.as_deref(), limits::NOTE_MAX)?;
    text_max("reason", r.reason.as_deref(), limits::REASON_MAX)?;
    text_max("comment", r.comment.as_deref(), limits::COMMENT_MAX)?;
    if r.category_id.is_some() && !matches!(r.action, Action::Accept | Action::Assign) {
        return Err(FieldError::new(
            "category_id",
            "not_allowed",
            "只能在受理或交办时调整类别",
            "may only change with accept or assign",
        ));
    }
    if r.co_department_ids.is_some() && r.action != Action::Whistle {
        return Err(FieldError::new(
            "co_department_ids",
            "not_allowed",
            "只能在吹哨时召集协办部门",
            "may only be given with whistle",
        ));
    }
    if r.leader_id.is_some() && r.action != Action::Escalate {
        return Err(FieldError::new(
            "leader_id",
            "not_allowed",
            "只能在督办升级时指定包案领导",
            "may only be given with escalate",
        ));
    }
    match r.action {
        Action::Whistle | Action::Release if r.department_id.is_none() => {
            return Err(FieldError::new(
                "department_id",
                "required",
                "请选择部门",
                "is required",
            ));
        }
        Action::Whistle
            if r.co_department_ids
                .iter()
                .flatten()
                .any(|d| Some(*d) == r.department_id) =>
        {
            return Err(FieldError::new(
                "co_department_ids",
                "lead_also_co",
                "主办部门不能同时是协办部门",
                "must not contain the lead department",
            ));
        }
        Action::Release => required("reason", r.reason.as_deref(), limits::REASON_MAX)?,
        Action::PartDone | Action::Instruct => {
            required("note", r.note.as_deref(), limits::NOTE_MAX)?
        }
        Action::Reject | Action::Return | Action::Reopen => {
            required("reason", r.reason.as_deref(), limits::REASON_MAX)?
        }
        Action::Progress | Action::Resolve => {
            required("note", r.note.as_deref(), limits::NOTE_MAX)?
        }
        Action::Assign if r.department_id.is_none() => {
            return Err(FieldError::new(
                "department_id",
                "required",
                "请选择承办部门",
                "is required",
            ));
        }
        Action::Merge if r.merge_into.is_none() => {
            return Err(FieldError::new(
                "merge_into",
                "required",
                "请填写合并到的案件",
                "is required",
            ));
        }
        Action::Rate => {
            let Some(s) = r.satisfaction else {
                return Err(FieldError::new(
                    "satisfaction",
                    "required",
                    "请选择满意度",
                    "is required",
                ));
            };
            if let Some(stars) = r.stars
                && !(1..=5).contains(&stars)
            {
                return Err(FieldError::new(
                    "stars",
                    "out_of_range",
                    "星级为1到5",
                    "must be 1 to 5",
                ));
            }
            if s == Satisfaction::Unsatisfied {
                let has_reason = [r.reason.as_deref(), r.comment.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|t| !t.trim().is_empty());
                if !has_reason {
                    return Err(FieldError::new(
                        "reason",
                        "required",
                        "不满意请说明原因",
                        "say why you are unsatisfied",
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_counts_characters_not_bytes() {
        assert!(description("路灯不亮了").is_ok());
        assert_eq!(description("路灯坏").unwrap_err().code, "too_short");
        assert_eq!(
            description(&"字".repeat(2001)).unwrap_err().code,
            "too_long"
        );
        assert!(description(&"字".repeat(2000)).is_ok());
    }

    #[test]
    fn latitude_91_is_refused() {
        assert_eq!(location(Some(91.0), Some(100.0)).unwrap_err().field, "lat");
        assert_eq!(location(Some(25.5), Some(181.0)).unwrap_err().field, "lng");
        assert_eq!(
            location(Some(f64::NAN), Some(1.0)).unwrap_err().field,
            "lat"
        );
        assert!(location(Some(25.5), Some(103.8)).is_ok());
        assert!(location(Some(25.5), None).is_err());
    }

    #[test]
    fn phones_and_request_ids() {
        assert!(phone("13812345678").is_ok());
        assert!(phone("0874-3123456").is_ok());
        assert!(phone("call me").is_err());
        assert!(client_request_id("c0ffee-1234").is_ok());
        assert!(client_request_id("short").is_err());
        assert!(client_request_id("has space in it").is_err());
    }
}
