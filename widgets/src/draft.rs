//! The submit form's data, kept apart from the DOM so it can be saved, restored and checked
//! with the same rules the server applies (`minsheng_model::validate`).

use minsheng_model::validate::{self, FieldError, limits};
use minsheng_model::{Channel, CoordSystem, NewCase};
use serde::{Deserialize, Serialize};

/// Where the coordinates came from, shown next to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationSource {
    /// `?lat=&lng=` from the mini-program's `wx.getLocation`/`chooseLocation`.
    MiniProgram,
    /// The browser's geolocation.
    Browser,
}

/// A half-filled complaint. Saved to `localStorage` on every change. A new one is empty,
/// named by nobody and not public.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub category_id: Option<i64>,
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub location_source: Option<LocationSource>,
    /// The system `lat`/`lng` are in, declared to the server, which stores WGS-84: the
    /// mini-program's `wx.getLocation({type: 'gcj02'})` says `gcj02` in the URL; the
    /// browser's geolocation is `wgs84`.
    pub coord_system: Option<CoordSystem>,
    pub address: String,
    pub area_id: Option<i64>,
    pub anonymous: bool,
    /// Shown (anonymised) on the public board: only when the resident ticks 同意公开 (off
    /// by default, as personal-information law expects). Saved under a new name, so a draft
    /// kept from the days the box came pre-ticked does not carry that tick over.
    #[serde(rename = "public_consent")]
    pub public: bool,
    pub contact_name: String,
    pub contact_phone: String,
}

impl Draft {
    pub fn new() -> Draft {
        Draft::default()
    }

    /// Description length as the server counts it (characters, trimmed).
    pub fn description_chars(&self) -> usize {
        self.description.trim().chars().count()
    }

    /// Whether anything worth keeping has been typed or picked.
    pub fn is_blank(&self) -> bool {
        self.category_id.is_none()
            && self.description.trim().is_empty()
            && self.address.trim().is_empty()
            && self.contact_name.trim().is_empty()
            && self.contact_phone.trim().is_empty()
    }

    /// Every problem, one per field, in form order (the server stops at the first).
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.category_id.is_none() {
            errors.push(FieldError {
                field: "category_id",
                code: "required",
                message_zh: "请选择问题类别".into(),
                message_en: "Choose a category".into(),
            });
        }
        if let Err(e) = validate::description(&self.description) {
            errors.push(e);
        }
        if let Err(e) = validate::location(self.lat, self.lng) {
            errors.push(e);
        }
        if self.lat.is_none() && self.area_id.is_none() && self.address.trim().is_empty() {
            errors.push(FieldError {
                field: "location",
                code: "required",
                message_zh: "请提供位置：定位、选择社区或填写地址".into(),
                message_en: "Give the place: locate, pick an area or type an address".into(),
            });
        }
        if self.address.chars().count() > limits::ADDRESS_MAX {
            errors.push(too_long("address", limits::ADDRESS_MAX));
        }
        if self.contact_name.chars().count() > limits::CONTACT_NAME_MAX {
            errors.push(too_long("contact_name", limits::CONTACT_NAME_MAX));
        }
        let phone = self.contact_phone.trim();
        if !phone.is_empty()
            && let Err(e) = validate::phone(phone)
        {
            errors.push(e);
        }
        errors
    }

    /// The request body, with the idempotency key of this submission.
    pub fn to_new_case(&self, client_request_id: &str) -> NewCase {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        NewCase {
            client_request_id: client_request_id.to_string(),
            category_id: self.category_id.unwrap_or_default(),
            description: self.description.trim().to_string(),
            lat: self.lat,
            lng: self.lng,
            coord_system: self.lat.and(self.coord_system),
            address: opt(&self.address),
            area_id: self.area_id,
            channel: Some(Channel::Wechat),
            anonymous: Some(self.anonymous),
            public: Some(self.public),
            contact_name: if self.anonymous {
                None
            } else {
                opt(&self.contact_name)
            },
            contact_phone: if self.anonymous {
                None
            } else {
                opt(&self.contact_phone)
            },
        }
    }
}

fn too_long(field: &'static str, max: usize) -> FieldError {
    FieldError {
        field,
        code: "too_long",
        message_zh: format!("不能超过{max}个字"),
        message_en: format!("must be at most {max} characters"),
    }
}

/// The system the mini-program's coordinates are in (`?coord_system=`): WGS-84, the API's
/// default, when it does not say or says something unknown.
pub fn coord_system_from_query(raw: Option<&str>) -> CoordSystem {
    raw.and_then(|s| CoordSystem::parse(s.trim()))
        .unwrap_or_default()
}

/// Coordinates handed over by the mini-program in the query string.
pub fn location_from_query(lat: Option<&str>, lng: Option<&str>) -> Option<(f64, f64)> {
    let lat = decimal(lat?)?;
    let lng = decimal(lng?)?;
    validate::location(Some(lat), Some(lng)).ok()?;
    Some((lat, lng))
}

/// A plain decimal number (`-25.04`, `1e2`): digits, sign, point and exponent only, so the
/// engine's `Number()` and Rust's `parse` agree (no hex, no `Infinity`, no empty string).
fn decimal(s: &str) -> Option<f64> {
    let s = s.trim();
    if !s.bytes().any(|b| b.is_ascii_digit())
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    parse_number(s).filter(|v| v.is_finite())
}

/// In the browser the engine parses: Rust's own float parser would add ~15 KB of wasm
/// (its tables) for these two query parameters.
#[cfg(target_arch = "wasm32")]
fn parse_number(s: &str) -> Option<f64> {
    // `+s`, as `Number(s)`: the whole string or NaN.
    let v = wasm_bindgen::JsValue::from_str(s).unchecked_into_f64();
    (!v.is_nan()).then_some(v)
}

#[cfg(not(target_arch = "wasm32"))]
fn parse_number(s: &str) -> Option<f64> {
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn an_empty_form_names_every_missing_field() {
        let fields: Vec<_> = Draft::new().check().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["category_id", "description", "location"]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_complete_form_passes_the_server_rules_too() {
        let d = Draft {
            category_id: Some(3),
            description: "  路灯不亮了，晚上很黑  ".into(),
            area_id: Some(7),
            contact_phone: "13812345678".into(),
            ..Draft::new()
        };
        assert!(d.check().is_empty(), "{:?}", d.check());
        let case = d.to_new_case("c0ffee-c0ffee");
        assert!(minsheng_model::validate::new_case(&case).is_ok());
        assert_eq!(case.description, "路灯不亮了，晚上很黑");
        assert_eq!(
            case.public,
            Some(false),
            "private unless the resident ticks it"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_new_form_does_not_consent_to_publishing() {
        assert!(!Draft::new().public, "同意公开 starts unticked");
        // A draft saved while the box came pre-ticked comes back unticked.
        let old: Draft =
            serde_json::from_str(r#"{"description":"路灯坏了","public":true}"#).unwrap();
        assert_eq!(old.description, "路灯坏了");
        assert!(!old.public);
        // A tick the resident gave survives a reload.
        let ticked = Draft {
            public: true,
            ..Draft::new()
        };
        let back: Draft = serde_json::from_str(&serde_json::to_string(&ticked).unwrap()).unwrap();
        assert!(back.public);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn anonymous_cases_send_no_contact() {
        let d = Draft {
            anonymous: true,
            contact_name: "张三".into(),
            ..Draft::new()
        };
        assert_eq!(d.to_new_case("abcdefgh").contact_name, None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn query_coordinates_must_be_on_the_globe() {
        assert_eq!(
            location_from_query(Some("25.04"), Some("102.7")),
            Some((25.04, 102.7))
        );
        assert_eq!(location_from_query(Some("95"), Some("102.7")), None);
        assert_eq!(location_from_query(Some("x"), Some("1")), None);
        assert_eq!(
            location_from_query(Some(" -25.5 "), Some("1e2")),
            Some((-25.5, 100.0))
        );
        for bad in [
            "", " ", "0x10", "Infinity", "inf", "NaN", "1e", "--1", "1.2.3", "12abc",
        ] {
            assert_eq!(location_from_query(Some(bad), Some("1")), None, "{bad:?}");
        }
        assert_eq!(location_from_query(None, Some("1")), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_draft_declares_the_coordinate_system_of_its_point() {
        assert_eq!(coord_system_from_query(Some("gcj02")), CoordSystem::Gcj02);
        assert_eq!(coord_system_from_query(Some("bd09")), CoordSystem::Bd09);
        assert_eq!(coord_system_from_query(None), CoordSystem::Wgs84);
        assert_eq!(coord_system_from_query(Some("mars")), CoordSystem::Wgs84);
        let d = Draft {
            lat: Some(25.487),
            lng: Some(103.798),
            coord_system: Some(CoordSystem::Gcj02),
            ..Draft::new()
        };
        assert_eq!(
            d.to_new_case("abcdefgh").coord_system,
            Some(CoordSystem::Gcj02)
        );
        let none = Draft {
            coord_system: Some(CoordSystem::Gcj02),
            ..Draft::new()
        };
        assert_eq!(
            none.to_new_case("abcdefgh").coord_system,
            None,
            "no point, no system"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_saved_draft_survives_a_round_trip_and_old_shapes() {
        let d = Draft {
            description: "井盖缺失".into(),
            ..Draft::new()
        };
        let back: Draft = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        let old: Draft = serde_json::from_str(r#"{"description":"x"}"#).unwrap();
        assert_eq!(old.description, "x");
    }
}
