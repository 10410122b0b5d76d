//! Operating a deployment: online backups in a portable format and restoring them into an
//! empty database of either kind (which is also how a county moves from SQLite to
//! PostgreSQL and back), backups on a schedule, and a graceful stop.
//!
//! A backup is a folder: `manifest.json` (format and schema version, per-table columns, row
//! counts and SHA-256 of every file), `tables/<table>.jsonl` (one JSON array per row, the
//! columns in the manifest's order, rows in primary-key order) and `uploads/` (the photos).
//! Both databases write the same bytes for the same data, so a backup of a database moved
//! from SQLite to PostgreSQL has the checksums of the original's.

pub mod backup;
pub mod catalog;
pub mod restore;
pub mod schedule;
pub mod shutdown;
