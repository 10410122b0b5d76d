//! The case ledger over HTTP: submission, listing, the one action endpoint, photos.

pub mod api;
pub mod cache;
pub mod group_commit;
pub mod intake;
pub mod photos;
pub mod service;
pub mod view;
