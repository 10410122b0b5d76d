//! Open for all to see (全程阳光公开): the public board's API (no login) and 民生实事 projects.
//!
//! Every public response passes through [`anonymise`], which scrubs every text in it, so a
//! field added later cannot leak what the anonymiser would have caught.

pub mod api;
pub mod live;
pub mod projects;
mod scrub;

pub use scrub::scrub;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Keys whose values are codes, times or our own links, never free text.
const MACHINE_KEYS: &[&str] = &[
    "tracking_no",
    "status",
    "kind",
    "satisfaction",
    "period",
    "group_by",
    "from",
    "to",
    "day",
    "month",
    "next_cursor",
    "photos",
    "planned_start",
    "planned_end",
];

fn is_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn walk(v: &mut Value, key: Option<&str>, known: &[&str]) {
    match v {
        Value::String(s) => {
            let machine = key.is_some_and(|k| MACHINE_KEYS.contains(&k))
                || is_time(s)
                || s.starts_with("/api/v1/public/");
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

/// The one door out for public data: `value` with every free text scrubbed of personal
/// details (see [`scrub`]), `known` naming people it is known to mention.
pub fn anonymise<T: Serialize + DeserializeOwned>(value: T, known: &[&str]) -> T {
    let mut json = match serde_json::to_value(&value) {
        Ok(j) => j,
        Err(_) => return value,
    };
    walk(&mut json, None, known);
    serde_json::from_value(json).unwrap_or(value)
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
        );
        assert_eq!(out.tracking_no, "MS20261201000042");
        assert_eq!(out.at, "2026-12-01T08:00:00Z");
        assert_eq!(out.summary, "***反映 *********** 停水");
        assert_eq!(out.nested, vec!["联系人:***,谢谢".to_string()]);
    }
}
