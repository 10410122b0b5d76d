//! Types shared by the Minsheng server and its WebAssembly widgets: the enums of the
//! domain, the case status machine, the input limits and the API's request/response shapes.
//! Server-only derives (the OpenAPI schema) sit behind the `server` feature.

pub mod dto;
pub mod enums;
pub mod machine;
pub mod mask;
pub mod public;
pub mod reports;
pub mod validate;
pub mod visits;

pub use dto::*;
pub use enums::*;
pub use machine::{CaseRelation, MAX_ESCALATION, RuleError, allowed_actions, is_overdue, plan};
pub use validate::{FieldError, limits};
