//! `/api/v1/map/...`: what the progress map (民生实事进度图) draws — counts per area at any
//! level of the tree, the day's figures with a 30-day trend, and case points in a box.
//! Answered from [`index::MapIndex`], caught up with the event log before every read.

pub mod index;

use std::collections::HashMap;
use std::sync::Arc;

use minsheng_model::{
    AreaCounts, AreaLevel, CoordSystem, MapCluster, MapFigures, MapPoint, MapPoints, Status,
    StatusCount, TrendDay, coords, is_overdue,
};
use poem_openapi::param::Query;
use poem_openapi::{OpenApi, payload::Json};

use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, Principal};
use crate::contract::{DayOrTime, StatusList};
use crate::error::ApiError;
use crate::storage::{BEIJING_MS, Scope};
use index::MapFilter;

pub struct MapApi {
    pub state: Arc<AppState>,
}

/// Above this many cases in the box, clusters are returned instead of points.
const MAX_POINTS: i64 = 2000;
const CLUSTER_CELLS: i64 = 32;
const DAY_MS: i64 = 86_400_000;

fn rate((total, good): (i64, i64)) -> Option<f64> {
    (total > 0).then(|| good as f64 / total as f64)
}

impl MapApi {
    async fn staff(&self, auth: &BearerAuth) -> Result<(Principal, Scope), ApiError> {
        let p = self.state.authenticate(auth).await?;
        crate::policy::staff_only(&p)?;
        let scope = self.state.scope(&p).await?;
        Ok((p, scope))
    }

    fn filter(
        category_id: Option<i64>,
        department_id: Option<i64>,
        status: Option<StatusList>,
        from: Option<DayOrTime>,
        to: Option<DayOrTime>,
    ) -> Result<MapFilter, ApiError> {
        let statuses = crate::cases::api::parse_statuses(status.map(StatusList::into_inner))?;
        Ok(MapFilter {
            category_id,
            department_id,
            statuses,
            created_from: crate::cases::api::parse_time("from", from.map(DayOrTime::into_inner))?,
            created_to: crate::cases::api::parse_time("to", to.map(DayOrTime::into_inner))?,
        })
    }
}

#[OpenApi(prefix_path = "/api/v1/map", tag = "Tag::Map")]
impl MapApi {
    /// Case counts for the children of `parent_id` (default: under the top of the tree), or
    /// for every area at `level`; each area counts everything beneath it.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/areas", method = "get")]
    async fn areas(
        &self,
        auth: BearerAuth,
        parent_id: Query<Option<i64>>,
        level: Query<Option<AreaLevel>>,
        category_id: Query<Option<i64>>,
        department_id: Query<Option<i64>>,
        /// Comma-separated statuses.
        status: Query<Option<StatusList>>,
        /// Created at or after (RFC 3339 or YYYY-MM-DD).
        from: Query<Option<DayOrTime>>,
        /// Created before (RFC 3339 or YYYY-MM-DD).
        to: Query<Option<DayOrTime>>,
    ) -> Result<Json<Vec<AreaCounts>>, ApiError> {
        let (_, scope) = self.staff(&auth).await?;
        let f = Self::filter(category_id.0, department_id.0, status.0, from.0, to.0)?;
        let areas = self.state.areas().await?;
        let targets: Vec<_> = match (parent_id.0, level.0) {
            (Some(pid), _) => {
                if !areas.iter().any(|a| a.id == pid) {
                    return Err(ApiError::not_found("unknown_area", "区域不存在"));
                }
                areas.iter().filter(|a| a.parent_id == Some(pid)).collect()
            }
            (None, Some(l)) => areas.iter().filter(|a| a.level == l.as_str()).collect(),
            (None, None) => {
                let roots: Vec<i64> = areas
                    .iter()
                    .filter(|a| a.parent_id.is_none())
                    .map(|a| a.id)
                    .collect();
                areas
                    .iter()
                    .filter(|a| a.parent_id.is_some_and(|p| roots.contains(&p)))
                    .collect()
            }
        };
        let now = self.state.clock.now_ms();
        let rows = {
            let view = self.state.map_index.fresh(&self.state.db).await?;
            view.counts_by_area(&scope, &f, now)
        };
        // Every path ends with '/', so an area's subtree is the rows whose path has the
        // area's path as one of its '/'-delimited prefixes.
        let by_path: HashMap<&str, usize> = targets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.path.as_str(), i))
            .collect();
        let mut sums: Vec<(Vec<StatusCount>, i64, i64, i64)> =
            vec![(Vec::new(), 0, 0, 0); targets.len()];
        for r in &rows {
            let Some(path) = r.area_path.as_deref() else {
                continue;
            };
            let status = Status::parse(&r.status);
            for (end, _) in path.match_indices('/') {
                let Some(&i) = by_path.get(&path[..=end]) else {
                    continue;
                };
                let (by_status, total, open, overdue) = &mut sums[i];
                *total += r.count;
                *overdue += r.overdue;
                if let Some(s) = status {
                    if !s.is_terminal() {
                        *open += r.count;
                    }
                    match by_status.iter_mut().find(|c| c.status == s) {
                        Some(c) => c.count += r.count,
                        None => by_status.push(StatusCount {
                            status: s,
                            count: r.count,
                        }),
                    }
                }
            }
        }
        let out = targets
            .into_iter()
            .zip(sums)
            .map(|(a, (mut by_status, total, open, overdue))| {
                by_status.sort_by_key(|c| Status::ALL.iter().position(|s| *s == c.status));
                AreaCounts {
                    area_id: a.id,
                    name: a.name.clone(),
                    level: AreaLevel::parse(&a.level).unwrap_or(AreaLevel::Grid),
                    parent_id: a.parent_id,
                    total,
                    open,
                    overdue,
                    by_status,
                }
            })
            .collect();
        Ok(Json(out))
    }

    /// Today's figures (new, open, overdue) and, over the last `days` (default 30), the
    /// response, on-time and satisfaction rates and the daily trend.
    #[oai(path = "/figures", method = "get")]
    async fn figures(
        &self,
        auth: BearerAuth,
        category_id: Query<Option<i64>>,
        department_id: Query<Option<i64>>,
        /// 1..=366, default 30.
        #[oai(validator(minimum(value = "1"), maximum(value = "366")))]
        days: Query<Option<i64>>,
    ) -> Result<Json<MapFigures>, ApiError> {
        let (_, scope) = self.staff(&auth).await?;
        let days = match days.0.unwrap_or(30) {
            d @ 1..=366 => d,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_days",
                    "days 应在 1 到 366 之间",
                ));
            }
        };
        let f = MapFilter {
            category_id: category_id.0,
            department_id: department_id.0,
            ..Default::default()
        };
        let now = self.state.clock.now_ms();
        let today = (now + BEIJING_MS) / DAY_MS * DAY_MS - BEIJING_MS;
        let since = today - (days - 1) * DAY_MS;
        let fig = {
            let view = self.state.map_index.fresh(&self.state.db).await?;
            view.figures(&scope, &f, since, today, now)
        };
        let trend = fig
            .trend
            .iter()
            .map(|(day, created, closed)| TrendDay {
                day: crate::to_time(day * DAY_MS).format("%Y-%m-%d").to_string(),
                created: *created,
                closed: *closed,
            })
            .collect();
        Ok(Json(MapFigures {
            new_today: fig.new_today,
            open: fig.open,
            overdue: fig.overdue,
            response_rate: rate(fig.signed),
            on_time_rate: rate(fig.on_time),
            satisfaction_rate: rate(fig.satisfied),
            trend,
        }))
    }

    /// Cases inside `bbox=west,south,east,north`: points, or clusters when there are more than 2,000.
    /// With `coord_system` (for a Chinese base map: `gcj02` for Tencent or AMap, `bd09` for
    /// Baidu) the box is read, and the points returned, in that system; otherwise WGS-84.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/points", method = "get")]
    async fn points(
        &self,
        auth: BearerAuth,
        bbox: Query<String>,
        category_id: Query<Option<i64>>,
        department_id: Query<Option<i64>>,
        /// Comma-separated statuses.
        status: Query<Option<StatusList>>,
        /// Created at or after (RFC 3339 or YYYY-MM-DD).
        from: Query<Option<DayOrTime>>,
        /// Created before (RFC 3339 or YYYY-MM-DD).
        to: Query<Option<DayOrTime>>,
        /// The system of `bbox` and of the points returned (default `wgs84`, as stored).
        coord_system: Query<Option<CoordSystem>>,
    ) -> Result<Json<MapPoints>, ApiError> {
        let system = coord_system.0.unwrap_or_default();
        let out = |lat: f64, lng: f64| coords::from_wgs84(system, lat, lng);
        let (_, scope) = self.staff(&auth).await?;
        let f = Self::filter(category_id.0, department_id.0, status.0, from.0, to.0)?;
        let nums: Vec<f64> = bbox
            .0
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        let valid = nums.len() == 4
            && nums.iter().all(|v| v.is_finite())
            && (-180.0..=180.0).contains(&nums[0])
            && (-180.0..=180.0).contains(&nums[2])
            && (-90.0..=90.0).contains(&nums[1])
            && (-90.0..=90.0).contains(&nums[3])
            && nums[0] < nums[2]
            && nums[1] < nums[3];
        if !valid {
            return Err(ApiError::bad_request(
                "invalid_bbox",
                "bbox 应为 west,south,east,north",
            ));
        }
        // The corners, as stored (WGS-84).
        let (s, w) = coords::to_wgs84(system, nums[1], nums[0]);
        let (n, e) = coords::to_wgs84(system, nums[3], nums[2]);
        let b = (w, s, e, n);
        let now = self.state.clock.now_ms();
        let (total, points, clusters) = {
            let view = self.state.map_index.fresh(&self.state.db).await?;
            // One pass counts and clusters; the points are read only when few.
            let (total, clusters) = view.box_summary(&scope, &f, b, CLUSTER_CELLS, now);
            if total <= MAX_POINTS {
                (
                    total,
                    view.points_in_box(&scope, &f, b, MAX_POINTS),
                    Vec::new(),
                )
            } else {
                (total, Vec::new(), clusters)
            }
        };
        if total <= MAX_POINTS {
            let points = points
                .into_iter()
                .map(|r| {
                    let status = Status::parse(&r.status).unwrap_or(Status::Submitted);
                    let (lat, lng) = out(r.lat, r.lng);
                    MapPoint {
                        id: r.id,
                        lat,
                        lng,
                        status,
                        overdue: is_overdue(status, r.accept_due_at, r.sign_due_at, r.due_at, now),
                        category_id: r.category_id,
                    }
                })
                .collect();
            return Ok(Json(MapPoints {
                points,
                clusters: Vec::new(),
                total,
            }));
        }
        let clusters = clusters
            .into_iter()
            .map(|c| {
                let (lat, lng) = out(c.lat, c.lng);
                MapCluster {
                    lat,
                    lng,
                    count: c.count,
                    overdue: c.overdue,
                }
            })
            .collect();
        Ok(Json(MapPoints {
            points: Vec::new(),
            clusters,
            total,
        }))
    }
}
