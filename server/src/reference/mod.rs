//! Reference data: the area tree, departments, categories, and user administration.

pub mod api;
pub mod boundaries;
pub mod locate;

use crate::error::ApiError;
use crate::storage::AreaRow;

/// The deepest area of `level` at or above the area with materialized `path`.
pub fn ancestor_at<'a>(areas: &'a [AreaRow], path: &str, level: &str) -> Option<&'a AreaRow> {
    areas
        .iter()
        .filter(|a| a.level == level && path.starts_with(a.path.as_str()))
        .max_by_key(|a| a.path.len())
}

/// The materialized path of area `id` (422 `unknown_area` when there is none), for filters
/// on an area and everything under it.
pub fn area_path(areas: &[AreaRow], id: Option<i64>) -> Result<Option<String>, ApiError> {
    match id {
        None => Ok(None),
        Some(id) => areas
            .iter()
            .find(|a| a.id == id)
            .map(|a| Some(a.path.clone()))
            .ok_or_else(|| ApiError::not_found("unknown_area", "区域不存在")),
    }
}

/// The ids of area `id` and every area under it (422 `unknown_area` when there is none),
/// for case filters: an id list lets each database use its (area, status, id) index, where
/// a prefix match on the joined path made PostgreSQL walk every case newest first.
pub fn subtree_ids(areas: &[AreaRow], id: Option<i64>) -> Result<Option<Vec<i64>>, ApiError> {
    Ok(area_path(areas, id)?.map(|path| ids_under(areas, &path)))
}

/// The ids of the areas whose materialized path starts with `path`.
pub fn ids_under(areas: &[AreaRow], path: &str) -> Vec<i64> {
    areas
        .iter()
        .filter(|a| a.path.starts_with(path))
        .map(|a| a.id)
        .collect()
}
