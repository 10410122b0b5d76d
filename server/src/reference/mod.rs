//! Reference data: the area tree, departments, categories, and user administration.

pub mod api;
pub mod locate;
