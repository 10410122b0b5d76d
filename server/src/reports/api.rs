//! `/api/v1/reports`, `/api/v1/points`, `/api/v1/admin/point-rules` and their public
//! counterparts under `/api/v1/public/`.

use std::sync::Arc;

use minsheng_model::reports::{
    MyPoints, MyReports, NewReport, PointEntryList, PointRuleView, PointRulesUpdate, PointTotals,
    PointsGroupBy, PublicPointTotal, PublicPoints, PublicReportList, ReportList, ReportStatusList,
    ReportView, check_rule,
};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::points::{self, month_range, rule_view, totals};
use super::{day_of, parse_day};
use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, Principal};
use crate::contract::Day;
use crate::error::ApiError;
use crate::storage::Filed;

pub struct ReportsApi {
    pub state: Arc<AppState>,
}

#[derive(ApiResponse)]
pub enum ReportFiled {
    /// The day's report, filed now.
    #[oai(status = 201)]
    Created(Json<ReportView>),
    /// The day's report, updated by this submission, or unchanged when this
    /// `client_request_id` was seen before.
    #[oai(status = 200)]
    Existing(Json<ReportView>),
}

impl ReportsApi {
    /// Any logged-in staff member (not a resident).
    async fn staff(&self, auth: &BearerAuth) -> Result<Principal, ApiError> {
        let p = self.state.authenticate(auth).await?;
        crate::policy::staff_only(&p)?;
        Ok(p)
    }

    fn day(&self, day: Option<&str>) -> Result<chrono::NaiveDate, ApiError> {
        match day.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => parse_day(d),
            None => Ok(day_of(self.state.clock.now_ms())),
        }
    }

    async fn rules(&self) -> Result<Vec<PointRuleView>, ApiError> {
        Ok(self
            .state
            .db
            .point_rules()
            .await?
            .iter()
            .filter_map(rule_view)
            .collect())
    }
}

#[OpenApi(tag = "Tag::Reports")]
impl ReportsApi {
    /// File today's work report (cadres: handler, supervisor, dispatcher). What the system
    /// knows — timeline events, cases acted on, visits made — is filled in. One report per
    /// person per day: a new submission for the same day updates it (keeping the first
    /// filing's time and on-time/late status); after the deadline it is `late`.
    #[oai(path = "/api/v1/reports", method = "post")]
    async fn file(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewReport>,
    ) -> Result<ReportFiled, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let (view, filed) =
            super::file_report(&self.state, &p, &body.0, self.state.clock.now_ms()).await?;
        Ok(match filed {
            Filed::Created => ReportFiled::Created(Json(view)),
            Filed::Updated | Filed::Replayed => ReportFiled::Existing(Json(view)),
        })
    }

    /// A day's reports (default today) with the figures stored at filing and fresh ones.
    /// Admins see all; a handler their department's; other staff their area's cadres.
    #[oai(path = "/api/v1/reports", method = "get")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// `YYYY-MM-DD`, Beijing time.
        day: Query<Option<Day>>,
        department_id: Query<Option<i64>>,
        user_id: Query<Option<i64>>,
    ) -> Result<Json<ReportList>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let scope = self.state.report_scope(&p).await?;
        let day = self.day(day.0.as_ref().map(|d| d.0.as_str()))?;
        Ok(Json(
            super::list(&self.state, &scope, day, department_id.0, user_id.0).await?,
        ))
    }

    /// The caller's own 每日工作报备 (cadres): today's standing by the application's clock,
    /// today's figures so far (cases acted on, timeline events, visits made) to prefill the
    /// report, today's report when filed, and their last reports marked on time or late.
    #[oai(path = "/api/v1/reports/mine", method = "get")]
    async fn mine(&self, auth: BearerAuth) -> Result<Json<MyReports>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        Ok(Json(
            super::mine(&self.state, &p, self.state.clock.now_ms()).await?,
        ))
    }

    /// Every cadre expected to report on a day (a working day by the calendar) with `on_time`, `late`,
    /// `missing` (once the deadline has passed) or `pending`; scoped like the list.
    #[oai(path = "/api/v1/reports/status", method = "get")]
    async fn status(
        &self,
        auth: BearerAuth,
        /// `YYYY-MM-DD`, Beijing time.
        day: Query<Option<Day>>,
    ) -> Result<Json<ReportStatusList>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let scope = self.state.report_scope(&p).await?;
        let day = self.day(day.0.as_ref().map(|d| d.0.as_str()))?;
        Ok(Json(
            super::status(&self.state, &scope, day, self.state.clock.now_ms()).await?,
        ))
    }

    /// The public board's reports for a day (no login): each cadre's name, department,
    /// status and counts, the text anonymised.
    #[oai(path = "/api/v1/public/reports", method = "get", tag = "Tag::Public")]
    async fn public_reports(
        &self,
        /// `YYYY-MM-DD`, Beijing time.
        day: Query<Option<Day>>,
    ) -> Result<Json<PublicReportList>, ApiError> {
        let day = self.day(day.0.as_ref().map(|d| d.0.as_str()))?;
        Ok(Json(
            super::public_reports(&self.state, day, self.state.clock.now_ms()).await?,
        ))
    }

    /// The points rules (admin).
    #[oai(path = "/api/v1/admin/point-rules", method = "get")]
    async fn get_rules(&self, auth: BearerAuth) -> Result<Json<Vec<PointRuleView>>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        Ok(Json(self.rules().await?))
    }

    /// Set points rules (admin): each listed kind gets its points and active flag; a changed
    /// rule's version rises, and entries already written keep the points they were given.
    #[oai(path = "/api/v1/admin/point-rules", method = "put")]
    async fn put_rules(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<PointRulesUpdate>,
    ) -> Result<Json<Vec<PointRuleView>>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        let mut seen = Vec::new();
        for r in &body.0.rules {
            check_rule(r).map_err(ApiError::field)?;
            if seen.contains(&r.kind) {
                return Err(ApiError::unprocessable(
                    "duplicate_rule",
                    format!("{} 重复", r.kind.as_str()),
                ));
            }
            seen.push(r.kind);
        }
        let rules: Vec<(&str, i64, bool)> = body
            .0
            .rules
            .iter()
            .map(|r| (r.kind.as_str(), r.points, r.active))
            .collect();
        self.state
            .db
            .set_point_rules(&rules, p.id(), self.state.clock.now_ms())
            .await?;
        Ok(Json(self.rules().await?))
    }

    /// Points per person (`group_by=user`, default) or department for a month (Beijing time,
    /// default this month), best first, with the points of each kind (staff).
    #[oai(path = "/api/v1/points", method = "get")]
    async fn totals(
        &self,
        auth: BearerAuth,
        /// `YYYY-MM`.
        #[oai(validator(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
        month: Query<Option<String>>,
        /// `user` (default) or `department`.
        group_by: Query<Option<PointsGroupBy>>,
    ) -> Result<Json<PointTotals>, ApiError> {
        self.staff(&auth).await?;
        let by = group_by.0.unwrap_or(PointsGroupBy::User);
        let (month, from, to) = month_range(month.0.as_deref(), self.state.clock.now_ms())?;
        let sums = self
            .state
            .db
            .point_sums(by == PointsGroupBy::User, from, to)
            .await?;
        Ok(Json(PointTotals {
            month,
            group_by: by,
            rows: totals(sums, by),
        }))
    }

    /// The caller's own points for a month (cadres; default this month): the total, the
    /// points of each kind, every entry with its cause, and the caller's rank among the
    /// cadres of their role in their department (without a department: in their jurisdiction).
    #[oai(path = "/api/v1/points/mine", method = "get")]
    async fn my_points(
        &self,
        auth: BearerAuth,
        /// `YYYY-MM`.
        #[oai(validator(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
        month: Query<Option<String>>,
    ) -> Result<Json<MyPoints>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let (month, from, to) = month_range(month.0.as_deref(), self.state.clock.now_ms())?;
        Ok(Json(points::mine(&self.state, &p, month, from, to).await?))
    }

    /// The ledger's entries of a month, each naming the event that caused it (staff);
    /// default: the caller's own. Another user's or a department's only within the caller's
    /// report scope (403 otherwise).
    #[oai(path = "/api/v1/points/entries", method = "get")]
    async fn entries(
        &self,
        auth: BearerAuth,
        user_id: Query<Option<i64>>,
        department_id: Query<Option<i64>>,
        /// `YYYY-MM`.
        #[oai(validator(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
        month: Query<Option<String>>,
        /// 1..=1000, default 1000.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<PointEntryList>, ApiError> {
        let p = self.staff(&auth).await?;
        let (month, from, to) = month_range(month.0.as_deref(), self.state.clock.now_ms())?;
        let user = match (user_id.0, department_id.0) {
            (None, None) => Some(p.id()),
            (u, _) => u,
        };
        self.state
            .may_read_point_entries(&p, user, department_id.0)
            .await?;
        Ok(Json(PointEntryList {
            month,
            items: points::entries(&self.state, from, to, user, department_id.0, limit.0).await?,
        }))
    }

    /// The public board's points for a month (no login): totals per department and per
    /// person by display name.
    #[oai(path = "/api/v1/public/points", method = "get", tag = "Tag::Public")]
    async fn public_points(
        &self,
        /// `YYYY-MM`.
        #[oai(validator(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
        month: Query<Option<String>>,
    ) -> Result<Json<PublicPoints>, ApiError> {
        let (month, from, to) = month_range(month.0.as_deref(), self.state.clock.now_ms())?;
        let public = |rows: Vec<minsheng_model::reports::PointTotal>| {
            rows.into_iter()
                .map(|t| PublicPointTotal {
                    rank: t.rank,
                    name: t.name,
                    department_name: t.department_name,
                    points: t.points,
                })
                .collect()
        };
        let departments = totals(
            self.state.db.point_sums(false, from, to).await?,
            PointsGroupBy::Department,
        );
        let people = totals(
            self.state.db.point_sums(true, from, to).await?,
            PointsGroupBy::User,
        );
        Ok(Json(crate::public::anonymise(
            PublicPoints {
                month,
                departments: public(departments),
                people: public(people),
            },
            &[],
        )?))
    }
}
