//! The 12345 hotline channel's bodies: a ticket handed to the district, the answer, and the
//! admin's table mapping the hotline's category codes to ours.

use chrono::{DateTime, Utc};

use crate::enums::CoordSystem;

labelled_enum!(
    /// What an API key may do: file and read Open311 requests, or hand in 12345 tickets.
    ApiKeyScope {
        Open311 => "open311", "Open311", "Open311",
        Hotline => "hotline", "12345热线", "12345 hotline",
    }
);

/// The most mappings the hotline's category table holds.
pub const HOTLINE_CODES_MAX: usize = 500;

api_object! {
    /// A 12345 ticket handed to the district (`POST /api/v1/hotline/tickets`).
    pub struct HotlineTicket {
        /// The hotline's ticket number; a resend with the same one returns the same case.
        #[cfg_attr(feature = "server", oai(validator(pattern = "^[A-Za-z0-9_.:/-]{1,64}$")))]
        pub ticket_no: String,
        /// What the caller said (5 to 2000 characters).
        #[cfg_attr(feature = "server", oai(validator(pattern = r"\S[\s\S]{3,}\S", max_length = 2000)))]
        pub content: String,
        /// Kept as the case's private contact: never public, never logged.
        #[cfg_attr(feature = "server", oai(validator(max_length = 50)))]
        pub caller_name: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(pattern = "^(([+ -]*[0-9]){5,20}[+ -]*)?$")))]
        pub caller_phone: Option<String>,
        /// The hotline's category code, mapped by the admin's table; unmapped or absent, the
        /// hotline's default category.
        #[cfg_attr(feature = "server", oai(validator(min_length = 1, max_length = 32)))]
        pub category_code: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 200)))]
        pub address: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-90"), maximum(value = "90"))))]
        pub lat: Option<f64>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-180"), maximum(value = "180"))))]
        pub lng: Option<f64>,
        /// The system `lat`/`lng` are in (default `wgs84`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub coord_system: Option<CoordSystem>,
        /// The hotline's deadline for the result: it wins over the category's.
        pub due_at: Option<DateTime<Utc>>,
    }

    /// The case a ticket became.
    pub struct HotlineTicketAccepted {
        pub case_id: i64,
        pub tracking_no: String,
    }

    /// One hotline category code and the category it becomes.
    pub struct HotlineCategoryMapping {
        #[cfg_attr(feature = "server", oai(validator(min_length = 1, max_length = 32)))]
        pub code: String,
        pub category_id: i64,
    }

    /// The admin's table (`GET/PUT /api/v1/admin/hotline-categories`): codes are unique.
    pub struct HotlineCategories {
        /// The category of a ticket without a mapped code (unset: the first active category).
        pub default_category_id: Option<i64>,
        #[cfg_attr(feature = "server", oai(validator(max_items = 500)))]
        pub mappings: Vec<HotlineCategoryMapping>,
    }
}
