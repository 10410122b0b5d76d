//! Open for all to see (全程阳光公开): the public board's API (no login) and 民生实事 projects.
//!
//! Every public response passes through [`anonymise`], which scrubs every text in it, so a
//! field added later cannot leak what the anonymiser would have caught.

pub mod api;
pub mod live;
pub mod projects;
mod scrub;

pub use scrub::{scrub, scrub_address};

use minsheng_model::ErrorBody;
use poem_openapi::payload::Json;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// What a machine value must look like to pass unscrubbed.
#[derive(Clone, Copy)]
enum Shape {
    /// A tracking number, `MS` and digits.
    Tracking,
    /// A lowercase code: a status, a kind, a period.
    Code,
    /// An admin-defined category code (Open311's `service_code`).
    ServiceCode,
    /// A time, a date or a month.
    Time,
    /// Digits only: a cursor, an event id.
    Digits,
    /// A link to one of our public photos.
    PhotoLink,
}

/// Keys whose values are codes, times or our own links, never free text, with the shape
/// each must have. A value under one of these keys that does not have its shape is scrubbed
/// like any text: nothing passes because of its key alone.
const MACHINE_KEYS: &[(&str, Shape)] = &[
    ("tracking_no", Shape::Tracking),
    ("service_request_id", Shape::Tracking),
    ("status", Shape::Code),
    ("kind", Shape::Code),
    ("what", Shape::Code),
    ("satisfaction", Shape::Code),
    ("period", Shape::Code),
    ("group_by", Shape::Code),
    ("service_code", Shape::ServiceCode),
    ("from", Shape::Time),
    ("to", Shape::Time),
    ("day", Shape::Time),
    ("month", Shape::Time),
    ("deadline", Shape::Time),
    ("planned_start", Shape::Time),
    ("planned_end", Shape::Time),
    ("next_cursor", Shape::Digits),
    ("update_id", Shape::Digits),
    ("photos", Shape::PhotoLink),
];

fn shape_of(key: &str) -> Option<Shape> {
    if let Some((_, shape)) = MACHINE_KEYS.iter().find(|(k, _)| *k == key) {
        return Some(*shape);
    }
    // `created_at`, `requested_datetime`, …
    (key == "at" || key.ends_with("_at") || key.ends_with("_datetime")).then_some(Shape::Time)
}

fn has_shape(s: &str, shape: Shape) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match shape {
        Shape::Tracking => s
            .strip_prefix("MS")
            .is_some_and(|d| d.len() <= 30 && digits(d)),
        Shape::Code => {
            (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        }
        Shape::ServiceCode => {
            (1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        }
        Shape::Time => {
            chrono::DateTime::parse_from_rfc3339(s).is_ok()
                || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
                || chrono::NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").is_ok()
        }
        Shape::Digits => s.len() <= 20 && digits(s),
        Shape::PhotoLink => ["/api/v1/public/photos/", "/api/v1/public/project-photos/"]
            .iter()
            .any(|p| {
                s.strip_prefix(p)
                    .is_some_and(|id| id.len() <= 20 && digits(id))
            }),
    }
}

fn walk(v: &mut Value, key: Option<&str>, known: &[&str]) {
    match v {
        Value::String(s) => {
            let machine = key
                .and_then(shape_of)
                .is_some_and(|shape| has_shape(s, shape));
            if !machine {
                *s = scrub(s, known);
            }
        }
        Value::Array(items) => {
            for i in items {
                walk(i, key, known);
            }
        }
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                walk(val, Some(k.as_str()), known);
            }
        }
        _ => {}
    }
}

/// The answer when a public value cannot be scrubbed: nothing of it is sent.
pub fn unscrubbable(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "a public answer could not be anonymised; not sent");
    ApiError::Internal(Json(ErrorBody {
        code: "anonymise_failed".into(),
        message: "公开内容未能完成脱敏,暂不提供".into(),
        field: None,
    }))
}

/// The one door out for public data: `value` with every free text scrubbed of personal
/// details (see [`scrub`]), `known` naming people it is known to mention. It fails closed:
/// a value that cannot be turned into JSON and back is an error (`anonymise_failed`),
/// never the value as it came in.
pub fn anonymise<T: Serialize + DeserializeOwned>(value: T, known: &[&str]) -> Result<T, ApiError> {
    let mut json = serde_json::to_value(&value).map_err(unscrubbable)?;
    drop(value);
    walk(&mut json, None, known);
    serde_json::from_value(json).map_err(unscrubbable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Shown {
        tracking_no: String,
        at: String,
        summary: String,
        nested: Vec<String>,
    }

    #[test]
    fn every_text_is_scrubbed_but_codes_and_times_are_kept() {
        let out = anonymise(
            Shown {
                tracking_no: "MS20261201000042".into(),
                at: "2026-12-01T08:00:00Z".into(),
                summary: "王小明反映 13812345678 停水".into(),
                nested: vec!["联系人:李桂英,谢谢".into()],
            },
            &["王小明"],
        )
        .unwrap();
        assert_eq!(out.tracking_no, "MS20261201000042");
        assert_eq!(out.at, "2026-12-01T08:00:00Z");
        assert_eq!(out.summary, "***反映 *********** 停水");
        assert_eq!(out.nested, vec!["联系人:***,谢谢".to_string()]);
    }

    const SECRETS: [&str; 3] = ["王小明", "13812345678", "53030219900101123X"];

    fn assert_clean(text: &str) {
        for secret in SECRETS {
            assert!(
                !text.contains(secret),
                "{secret} passed the anonymiser: {text}"
            );
        }
    }

    #[derive(Serialize, serde::Deserialize, Debug)]
    struct Machine {
        tracking_no: String,
        status: String,
        created_at: String,
        photos: Vec<String>,
        summary: String,
    }

    #[test]
    fn no_text_passes_for_its_key_or_its_look_alone() {
        let text = "我叫王小明,电话13812345678,身份证号53030219900101123X";
        let out = anonymise(
            Machine {
                tracking_no: format!("MS2026 {text}"),
                status: text.into(),
                created_at: format!("2026-12-01 {text}"),
                photos: vec![
                    format!("/api/v1/public/photos/1?{text}"),
                    "/api/v1/public/photos/7".into(),
                ],
                summary: format!("/api/v1/public/ {text}"),
            },
            &[],
        )
        .unwrap();
        assert_clean(&format!("{out:?}"));
        assert_eq!(
            out.photos[1], "/api/v1/public/photos/7",
            "our own link stays"
        );
        assert!(
            out.summary.starts_with("/api/v1/public/ 我叫***"),
            "{out:?}"
        );
    }

    fn refuse<S: serde::Serializer>(_: &u8, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("cannot"))
    }

    #[derive(Serialize, serde::Deserialize, Debug)]
    struct Unserialisable {
        summary: String,
        #[serde(serialize_with = "refuse")]
        extra: u8,
    }

    #[derive(Serialize, serde::Deserialize, Debug)]
    struct NoRoundTrip {
        summary: String,
        rate: f64,
    }

    #[test]
    fn a_value_that_cannot_be_scrubbed_is_an_error_not_the_value() {
        let summary = "我叫王小明,电话13812345678,身份证号53030219900101123X".to_string();
        let err = anonymise(
            Unserialisable {
                summary: summary.clone(),
                extra: 1,
            },
            &[],
        )
        .unwrap_err();
        assert_eq!(err.code(), "anonymise_failed");
        assert_clean(&format!("{:?}", err.body()));
        // NaN becomes null in JSON and cannot come back as a number.
        let err = anonymise(
            NoRoundTrip {
                summary,
                rate: f64::NAN,
            },
            &[],
        )
        .unwrap_err();
        assert_eq!(err.code(), "anonymise_failed");
    }
}
