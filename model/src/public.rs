//! The public board (公开晾晒): what anyone may see without logging in, and 民生实事 projects
//! with their stages. Everything here has passed the server's anonymiser.

use chrono::{DateTime, Utc};

use crate::dto::StatusCount;
use crate::enums::{Satisfaction, Status};

/// Limits of projects.
pub mod limits {
    pub const TITLE_MAX: usize = 100;
    pub const DESCRIPTION_MAX: usize = 2000;
    pub const STAGES_MAX: usize = 20;
    pub const STAGE_NAME_MAX: usize = 50;
    pub const WEIGHT_MAX: f64 = 1000.0;
}

api_object! {
    /// One step of a public case's handling (who did it is not shown, nor any note).
    pub struct PublicStep {
        pub at: DateTime<Utc>,
        /// `submit`, or the action taken (`accept`, `assign`, `sign`, `resolve`, …).
        pub kind: String,
        pub status: Status,
    }

    /// A case on the public board: no name, phone, exact address or free text that could
    /// identify anyone; photos only where the desk approved them.
    pub struct PublicCase {
        pub tracking_no: String,
        pub category_name: String,
        /// The community (or the street, when the case has no finer place).
        pub area_name: Option<String>,
        pub street_name: Option<String>,
        pub department_name: Option<String>,
        /// 吹哨报到: the departments that answered the whistle (reported in), the lead first;
        /// empty for a case handled by one department ("N个单位协同办理").
        #[serde(default)]
        pub joint_departments: Vec<String>,
        pub status: Status,
        /// The complaint with personal details replaced by `*`.
        pub summary: String,
        pub created_at: DateTime<Utc>,
        pub resolved_at: Option<DateTime<Utc>>,
        pub closed_at: Option<DateTime<Utc>>,
        /// From submission to resolution (or until now, while open).
        pub hours_taken: f64,
        pub satisfaction: Option<Satisfaction>,
        pub stars: Option<i32>,
        pub escalation_level: i32,
        pub steps: Vec<PublicStep>,
        /// URLs of the photos the desk approved for the public.
        pub photos: Vec<String>,
    }

    /// A page of public cases, newest first.
    pub struct PublicCaseList {
        pub items: Vec<PublicCase>,
        pub next_cursor: Option<String>,
        /// Public cases by status (all of them, not just this page).
        pub by_status: Vec<StatusCount>,
    }

    /// An open circular (通报): a case supervision has escalated to the top of the ladder.
    pub struct Circular {
        pub tracking_no: String,
        pub category_name: String,
        pub area_name: Option<String>,
        pub department_name: Option<String>,
        pub status: Status,
        pub due_at: Option<DateTime<Utc>>,
        /// Days past the deadline (0 when not yet past it).
        pub days_overdue: f64,
        pub escalated_at: Option<DateTime<Utc>>,
    }

    /// A department's standing this month (公开晾晒).
    pub struct PublicRanking {
        pub rank: Option<i64>,
        pub department_id: Option<i64>,
        pub department_name: String,
        pub total: i64,
        /// 响应率
        pub response_rate: Option<f64>,
        /// 解决率
        pub resolution_rate: Option<f64>,
        /// 满意率
        pub satisfaction_rate: Option<f64>,
        pub score: Option<f64>,
    }

    /// The rankings of one period.
    pub struct PublicRankings {
        pub period: String,
        pub from: String,
        pub to: String,
        pub rows: Vec<PublicRanking>,
    }

    /// Something on the public board changed (`GET /api/v1/public/events`): fetch it again.
    pub struct PublicChange {
        /// `case` or `project`.
        pub what: String,
        /// The public case that changed (`null`: refetch the list).
        pub tracking_no: Option<String>,
        /// The project that changed (`null`: refetch the list).
        pub project_id: Option<i64>,
    }

    /// Show a photo on the public board, or stop showing it (the desk).
    pub struct PhotoPublication {
        pub public: bool,
    }

    /// A stage of a project as an admin plans it.
    pub struct StageInput {
        #[cfg_attr(feature = "server", oai(validator(max_length = 50, pattern = r"\S")))]
        pub name: String,
        /// `YYYY-MM-DD`
        pub planned_start: crate::dto::IsoDay,
        /// `YYYY-MM-DD`
        pub planned_end: crate::dto::IsoDay,
        /// Its share of the project's progress, relative to the other stages (and sub-projects).
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "0", exclusive), maximum(value = "1000"))))]
        pub weight: f64,
    }

    /// A new 民生实事 project (admin). With `parent_id` it is a sub-project, weighing
    /// `weight` in its parent's progress.
    pub struct NewProject {
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub title: String,
        #[cfg_attr(feature = "server", oai(validator(max_length = 2000)))]
        pub description: Option<String>,
        pub area_id: i64,
        /// Yuan.
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "0"))))]
        pub budget: Option<f64>,
        pub department_id: i64,
        pub parent_id: Option<i64>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "0", exclusive), maximum(value = "1000"))))]
        pub weight: Option<f64>,
        #[cfg_attr(feature = "server", oai(validator(max_items = 20)))]
        pub stages: Vec<StageInput>,
    }

    /// The responsible department marks a stage done (or not done again).
    pub struct StageUpdate {
        pub done: bool,
        #[cfg_attr(feature = "server", oai(validator(max_length = 2000)))]
        pub note: Option<String>,
    }

    /// A stage and where it stands.
    pub struct StageView {
        pub id: i64,
        pub position: i64,
        pub name: String,
        pub planned_start: String,
        pub planned_end: String,
        pub weight: f64,
        pub done: bool,
        pub done_at: Option<DateTime<Utc>>,
        pub note: Option<String>,
        /// Past its planned end and not done.
        pub late: bool,
        pub photos: Vec<String>,
    }

    /// A 民生实事 project with its progress: the weighted roll-up of its stages and sub-projects.
    pub struct ProjectView {
        pub id: i64,
        pub title: String,
        pub description: Option<String>,
        pub area_id: i64,
        pub area_name: String,
        pub budget: Option<f64>,
        pub department_id: i64,
        pub department_name: String,
        pub parent_id: Option<i64>,
        pub weight: f64,
        /// 0..=1
        pub progress: f64,
        pub stages: Vec<StageView>,
        pub children: Vec<ProjectView>,
        pub updated_at: DateTime<Utc>,
        /// 一个项目、一名区领导: the leader who took the project (包案), if any.
        #[serde(default)]
        pub leader_id: Option<i64>,
        #[serde(default)]
        pub leader_name: Option<String>,
        #[serde(default)]
        pub leader_taken_at: Option<DateTime<Utc>>,
    }
}

/// A project's progress, 0..=1: each done stage contributes its weight, each sub-project its
/// weight times its own progress, over the sum of all the weights. No weights: no progress.
pub fn rollup(stages: &[(f64, bool)], children: &[(f64, f64)]) -> f64 {
    let total: f64 =
        stages.iter().map(|s| s.0).sum::<f64>() + children.iter().map(|c| c.0).sum::<f64>();
    if total <= 0.0 {
        return 0.0;
    }
    let done: f64 = stages.iter().filter(|s| s.1).map(|s| s.0).sum::<f64>()
        + children
            .iter()
            .map(|c| c.0 * c.1.clamp(0.0, 1.0))
            .sum::<f64>();
    (done / total).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::rollup;

    #[test]
    fn five_stages_weighted_two_done() {
        // 5阶段: 立项 10, 设计 15, 招标 15, 施工 50, 验收 10; 立项 and 设计 done → 25%.
        let stages = [
            (10.0, true),
            (15.0, true),
            (15.0, false),
            (50.0, false),
            (10.0, false),
        ];
        assert!((rollup(&stages, &[]) - 0.25).abs() < 1e-9);
    }

    #[test]
    fn sub_projects_count_by_their_own_progress() {
        // A parent with one stage of weight 20 (done) and two sub-projects weighing 40 each,
        // one at 50% and one at 0%: (20 + 40×0.5) / 100 = 40%.
        let p = rollup(&[(20.0, true)], &[(40.0, 0.5), (40.0, 0.0)]);
        assert!((p - 0.4).abs() < 1e-9);
        assert_eq!(rollup(&[], &[]), 0.0);
    }
}
