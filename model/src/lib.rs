//! Types shared by the Minsheng server and its WebAssembly widgets: the enums of the
//! domain, the case status machine, the input limits and the API's request/response shapes.
//! Server-only derives (the OpenAPI schema) sit behind the `server` feature.

/// Declares request and response bodies: serde for the widgets, the OpenAPI schema for the
/// server. An absent value is left out rather than sent as `null`, which the OpenAPI 3.0
/// schema of an optional field does not allow.
macro_rules! api_object {
    ($($item:item)*) => {
        $(
            #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
            #[cfg_attr(feature = "server", derive(poem_openapi::Object))]
            #[cfg_attr(feature = "server", oai(skip_serializing_if_is_none))]
            $item
        )*
    };
}

/// A closed vocabulary with its wire name and its Chinese and English labels.
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal, $zh:literal, $en:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "server", derive(poem_openapi::Enum))]
        #[cfg_attr(feature = "server", oai(rename_all = "snake_case"))]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire (and database) name.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $wire),+ } }
            /// Parses a wire name; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> { match s { $($wire => Some($name::$variant),)+ _ => None } }
            /// Chinese label for the UI.
            pub fn label_zh(self) -> &'static str { match self { $($name::$variant => $zh),+ } }
            /// English label for the UI.
            pub fn label_en(self) -> &'static str { match self { $($name::$variant => $en),+ } }
        }
    };
}

pub mod admin;
pub mod calendar;
pub mod coords;
pub mod dto;
pub mod enums;
pub mod hotline;
pub mod intake;
pub mod joint;
pub mod leader;
pub mod machine;
pub mod mask;
pub mod public;
pub mod reports;
#[cfg(not(feature = "server"))]
pub mod rfc3339;
pub mod validate;
pub mod visits;

pub use admin::*;
pub use dto::*;
pub use enums::*;
pub use hotline::*;
pub use machine::{CaseRelation, MAX_ESCALATION, RuleError, allowed_actions, is_overdue, plan};
pub use validate::{FieldError, limits};
