//! The desk's intake (来电、来信、来访登记, 代办) and its approvals: a complaint taken for
//! someone, the open cases near it, and the photos waiting for the public board.

use chrono::{DateTime, Utc};

use crate::dto::CaseView;
use crate::enums::{Channel, Status};

labelled_enum!(
    /// How a complaint the desk takes for someone reached it: a phone call (the 12345 hotline
    /// included, with its ticket number), a letter or a walk-in visit.
    IntakeChannel {
        Phone => "phone", "电话", "Phone",
        Letter => "letter", "来信", "Letter",
        Visit => "visit", "来访", "Walk-in visit",
    }
);

impl IntakeChannel {
    /// The case's channel.
    pub fn channel(self) -> Channel {
        match self {
            IntakeChannel::Phone => Channel::Phone,
            IntakeChannel::Letter => Channel::Letter,
            IntakeChannel::Visit => Channel::Visit,
        }
    }
}

api_object! {
    /// A complaint the desk takes for someone. The caller's name and phone are kept as the
    /// case's contact (masked by the usual rules); the case belongs to no resident account.
    /// With `merge_into`, the call is filed and merged at once into that open case (a repeat
    /// call): it keeps its own tracking number and the open case's timeline tells of it.
    pub struct NewIntake {
        #[cfg_attr(feature = "server", oai(validator(pattern = "^[A-Za-z0-9_-]{8,64}$")))]
        pub client_request_id: String,
        pub channel: IntakeChannel,
        /// The 12345 hotline's own ticket number, when the call came from it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(validator(pattern = "^[A-Za-z0-9-]{1,40}$")))]
        pub hotline_ticket_no: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(validator(max_length = 50)))]
        pub contact_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(validator(pattern = "^(([+ -]*[0-9]){5,20}[+ -]*)?$")))]
        pub contact_phone: Option<String>,
        pub category_id: i64,
        #[cfg_attr(feature = "server", oai(validator(pattern = r"\S[\s\S]{3,}\S", max_length = 2000)))]
        pub description: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-90"), maximum(value = "90"))))]
        pub lat: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-180"), maximum(value = "180"))))]
        pub lng: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(validator(max_length = 200)))]
        pub address: Option<String>,
        /// The community (or any area) the place lies in, when no point is picked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub area_id: Option<i64>,
        /// Whether the caller agrees to show the case (anonymised) on the public board.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub public: Option<bool>,
        /// Merge the call into this open case (a repeat call) instead of a new case to handle.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub merge_into: Option<i64>,
        /// The system `lat`/`lng` are in (default `wgs84`); stored converted to WGS-84.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub coord_system: Option<crate::enums::CoordSystem>,
    }

    /// A complaint taken: the new case (read its tracking number back to the caller) and,
    /// when merged, the tracking number of the case it joined.
    pub struct IntakeAnswer {
        pub case: CaseView,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub merged_into_tracking_no: Option<String>,
    }

    /// An open case near a point, for the desk about to file a call.
    pub struct NearbyCase {
        pub id: i64,
        pub tracking_no: String,
        pub status: Status,
        pub version: i64,
        pub category_name: String,
        pub description: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub address: Option<String>,
        pub created_at: DateTime<Utc>,
        /// Metres from the point asked about.
        pub distance_m: i64,
    }

    /// A photo of a public case waiting for the desk's approval for the public board.
    pub struct PhotoApproval {
        pub photo_id: i64,
        pub case_id: i64,
        pub tracking_no: String,
        pub category_name: String,
        pub description: String,
        /// The photo for staff (`/api/v1/photos/{id}`, with the bearer token).
        pub url: String,
        pub uploaded_at: DateTime<Utc>,
    }
}

/// Metres between two WGS-84 points (haversine).
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    const R: f64 = 6_371_000.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_thousandth_of_a_degree_of_latitude_is_about_111_metres() {
        let d = super::distance_m(25.2, 103.1, 25.201, 103.1);
        assert!((d - 111.2).abs() < 0.5, "{d}");
    }
}
