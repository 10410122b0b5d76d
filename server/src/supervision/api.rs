//! `GET /api/v1/stats` and the Excel exports `GET /api/v1/exports/cases.xlsx`, `stats.xlsx`.

use std::sync::Arc;

use chrono::NaiveDate;
use minsheng_model::{
    AreaLevel, CaseView, Channel, ChannelCount, StatsGroupBy, StatsPeriod, StatsReport, StatsRow,
    StatsSort, StatsTrendPoint, sort_stats_rows,
};
use poem_openapi::OpenApi;
use poem_openapi::param::Query;
use poem_openapi::payload::{Binary, Json};
use rust_xlsxwriter::{Format, Workbook};

use super::stats::{GroupBy, Period, tally};
use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, Principal};
use crate::cases::api::ListQuery;
use crate::cases::view::case_view;
use crate::contract::{Day, DayOrTime, StatusList};
use crate::error::ApiError;
use crate::storage::{BEIJING_MS, Scope};

pub struct SupervisionApi {
    pub state: Arc<AppState>,
}

/// Rows in one cases export.
const EXPORT_MAX: i64 = 50_000;

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// A channel's Chinese name, for the export's headers.
fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Wechat => "微信",
        Channel::Web => "网站",
        Channel::Phone => "电话",
        Channel::Letter => "来信",
        Channel::Visit => "来访",
        Channel::Supervision => "监督员",
        #[allow(unreachable_patterns)]
        _ => c.as_str(),
    }
}

pub(crate) fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> ApiError {
    ApiError::internal(format!("xlsx: {e}"))
}

/// An Excel download, documented with its real content type.
#[derive(poem_openapi::ApiResponse)]
pub enum XlsxFile {
    /// An Excel workbook (`.xlsx`).
    #[oai(
        status = 200,
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )]
    Ok(
        Binary<Vec<u8>>,
        /// `attachment` with the file's UTF-8 name.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

/// An `.xlsx` download with a UTF-8 file name.
pub(crate) fn attachment(bytes: Vec<u8>, name: &str) -> XlsxFile {
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    XlsxFile::Ok(
        Binary(bytes),
        format!("attachment; filename=\"export.xlsx\"; filename*=UTF-8''{encoded}"),
    )
}

impl SupervisionApi {
    async fn reader(&self, auth: &BearerAuth) -> Result<(Principal, Scope), ApiError> {
        let p = self.state.authenticate(auth).await?;
        crate::policy::staff_only(&p)?;
        let scope = self.state.scope(&p).await?;
        Ok((p, scope))
    }

    pub(crate) async fn report(
        &self,
        scope: &Scope,
        period: Option<String>,
        date: Option<String>,
        group_by: Option<String>,
        area_level: Option<String>,
    ) -> Result<StatsReport, ApiError> {
        self.report_with_trend(scope, period, date, group_by, area_level, 0)
            .await
    }

    /// The report, each row with its figures in the `trend` periods ending with this one
    /// (0: none).
    pub(crate) async fn report_with_trend(
        &self,
        scope: &Scope,
        period: Option<String>,
        date: Option<String>,
        group_by: Option<String>,
        area_level: Option<String>,
        trend: usize,
    ) -> Result<StatsReport, ApiError> {
        let period_name = period.unwrap_or_else(|| "month".into());
        let period = Period::parse(&period_name).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_period",
                "period 应为 week、month、quarter、half_year 或 year",
            )
        })?;
        let by_name = group_by.unwrap_or_else(|| "department".into());
        let by = match by_name.as_str() {
            "department" => GroupBy::Department,
            "area" => GroupBy::Area,
            "category" => GroupBy::Category,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_group_by",
                    "group_by 应为 department、area 或 category",
                ));
            }
        };
        let day = match date.filter(|d| !d.is_empty()) {
            Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request("invalid_date", "date 应为 YYYY-MM-DD"))?,
            None => self.state.clock.today_beijing(),
        };
        let level = area_level.unwrap_or_else(|| "street".into());
        if minsheng_model::AreaLevel::parse(&level).is_none() {
            return Err(ApiError::bad_request(
                "invalid_area_level",
                "area_level 应为 district、street、community 或 grid",
            ));
        }
        let (from, to) = period.bounds(day);
        let rows = self
            .state
            .db
            .stat_rows(
                scope,
                crate::beijing_day_start(from),
                crate::beijing_day_start(to),
            )
            .await?;
        let summons = self
            .state
            .db
            .summon_stat_rows(
                scope,
                crate::beijing_day_start(from),
                crate::beijing_day_start(to),
            )
            .await?;
        let areas = self.state.areas().await?;
        // The trend: the same grouping over each of the periods ending with this one.
        let mut trends: std::collections::HashMap<Option<i64>, Vec<StatsTrendPoint>> =
            std::collections::HashMap::new();
        let spans = if trend > 0 {
            period.back(day, trend)
        } else {
            Vec::new()
        };
        let empty_trend = |spans: &[(NaiveDate, NaiveDate)]| -> Vec<StatsTrendPoint> {
            spans
                .iter()
                .map(|(f, _)| StatsTrendPoint {
                    from: f.to_string(),
                    total: 0,
                    response_rate: None,
                    resolution_rate: None,
                    satisfaction_rate: None,
                    on_time_rate: None,
                    reopen_rate: None,
                    score: None,
                })
                .collect()
        };
        if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
            let wide = self
                .state
                .db
                .stat_rows(
                    scope,
                    crate::beijing_day_start(first.0),
                    crate::beijing_day_start(last.1),
                )
                .await?;
            let now = self.state.clock.now_ms();
            for (i, (a, b)) in spans.iter().enumerate() {
                let (a_ms, b_ms) = (crate::beijing_day_start(*a), crate::beijing_day_start(*b));
                let part: Vec<_> = wide
                    .iter()
                    .filter(|r| r.created_at >= a_ms && r.created_at < b_ms)
                    .cloned()
                    .collect();
                for (key, t) in tally(&part, &[], by, &areas, &level, now) {
                    let points = trends.entry(key).or_insert_with(|| empty_trend(&spans));
                    points[i] = StatsTrendPoint {
                        from: a.to_string(),
                        total: t.total,
                        response_rate: t.response_rate(),
                        resolution_rate: t.resolution_rate(),
                        satisfaction_rate: t.satisfaction_rate(),
                        on_time_rate: t.on_time_rate(),
                        reopen_rate: t.reopen_rate(),
                        score: t.score(),
                    };
                }
            }
        }
        let names: std::collections::HashMap<i64, String> = match by {
            GroupBy::Department => self
                .state
                .db
                .departments()
                .await?
                .into_iter()
                .map(|d| (d.id, d.name))
                .collect(),
            GroupBy::Category => self
                .state
                .db
                .categories()
                .await?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect(),
            GroupBy::Area => areas.iter().map(|a| (a.id, a.name.clone())).collect(),
        };
        let mut out: Vec<StatsRow> = tally(
            &rows,
            &summons,
            by,
            &areas,
            &level,
            self.state.clock.now_ms(),
        )
        .into_iter()
        .map(|(key, t)| StatsRow {
            key_id: key,
            name: key
                .and_then(|k| names.get(&k).cloned())
                .unwrap_or_else(|| match by {
                    GroupBy::Department => "未交办".into(),
                    _ => "未定位".into(),
                }),
            total: t.total,
            response_rate: t.response_rate(),
            resolution_rate: t.resolution_rate(),
            satisfaction_rate: t.satisfaction_rate(),
            on_time_rate: t.on_time_rate(),
            reopen_rate: t.reopen_rate(),
            avg_accept_hours: t.avg_accept_hours(),
            avg_sign_hours: t.avg_sign_hours(),
            avg_resolve_hours: t.avg_resolve_hours(),
            report_in_rate: t.report_in_rate(),
            joint_cases: t.joint_cases.len() as i64,
            leader_cases: t.leader_cases,
            score: t.score(),
            rank: None,
            channels: Channel::ALL
                .iter()
                .map(|c| ChannelCount {
                    channel: *c,
                    count: t.channels.get(c.as_str()).copied().unwrap_or(0),
                })
                .collect(),
            trend: trends.remove(&key).unwrap_or_else(|| empty_trend(&spans)),
        })
        .collect();
        out.sort_by(|a, b| {
            b.score
                .unwrap_or(-1.0)
                .total_cmp(&a.score.unwrap_or(-1.0))
                .then(b.total.cmp(&a.total))
        });
        let mut rank = 0;
        for r in out
            .iter_mut()
            .filter(|r| r.score.is_some() && r.key_id.is_some())
        {
            rank += 1;
            r.rank = Some(rank);
        }
        Ok(StatsReport {
            period: period_name,
            group_by: by_name,
            from: from.to_string(),
            to: to.to_string(),
            rows: out,
        })
    }
}

#[OpenApi(tag = "Tag::Supervision")]
impl SupervisionApi {
    /// Period statistics with the standard rates and a ranking, per department, area or category.
    #[oai(path = "/api/v1/stats", method = "get")]
    async fn stats(
        &self,
        auth: BearerAuth,
        /// `week`, `month` (default), `quarter`, `half_year` or `year`.
        period: Query<Option<StatsPeriod>>,
        /// Any day in the period (YYYY-MM-DD, Beijing time); default today.
        date: Query<Option<Day>>,
        /// `department` (default), `area` or `category`.
        group_by: Query<Option<StatsGroupBy>>,
        /// For `group_by=area`: the level to group at (default `street`).
        area_level: Query<Option<AreaLevel>>,
        /// Each row's figures in this many periods ending with this one, oldest first
        /// (default 0: no trend).
        #[oai(validator(minimum(value = "0"), maximum(value = "12")))]
        trend: Query<Option<u32>>,
    ) -> Result<Json<StatsReport>, ApiError> {
        let (_, scope) = self.reader(&auth).await?;
        Ok(Json(
            self.report_with_trend(
                &scope,
                period.0.map(|p| p.as_str().into()),
                date.0.map(Day::into_inner),
                group_by.0.map(|g| g.as_str().into()),
                area_level.0.map(|l| l.as_str().into()),
                trend.0.unwrap_or(0) as usize,
            )
            .await?,
        ))
    }

    /// The statistics as an Excel workbook with Chinese headers: the rows of `/api/v1/stats`
    /// for the same parameters (in the order `sort`/`desc` give, default the ranking), with
    /// the channel mix and, when `trend` is given, each period's score.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/api/v1/exports/stats.xlsx", method = "get")]
    async fn stats_xlsx(
        &self,
        auth: BearerAuth,
        period: Query<Option<StatsPeriod>>,
        date: Query<Option<Day>>,
        group_by: Query<Option<StatsGroupBy>>,
        area_level: Query<Option<AreaLevel>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "12")))] trend: Query<Option<u32>>,
        /// The column to sort by (default the ranking).
        sort: Query<Option<StatsSort>>,
        /// Descending (default ascending).
        desc: Query<Option<bool>>,
    ) -> Result<XlsxFile, ApiError> {
        let (_, scope) = self.reader(&auth).await?;
        let mut r = self
            .report_with_trend(
                &scope,
                period.0.map(|p| p.as_str().into()),
                date.0.map(Day::into_inner),
                group_by.0.map(|g| g.as_str().into()),
                area_level.0.map(|l| l.as_str().into()),
                trend.0.unwrap_or(0) as usize,
            )
            .await?;
        if let Some(by) = sort.0 {
            sort_stats_rows(&mut r.rows, by, desc.0.unwrap_or(false));
        }
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("统计").map_err(xlsx_error)?;
        let bold = Format::new().set_bold();
        ws.write_string(0, 0, format!("统计周期:{} 至 {}(不含)", r.from, r.to))
            .map_err(xlsx_error)?;
        let mut headers: Vec<String> = [
            "排名",
            "名称",
            "诉求总数",
            "响应率",
            "解决率",
            "满意率",
            "按时办结率",
            "重办率",
            "平均受理时长(小时)",
            "平均签收时长(小时)",
            "平均办结时长(小时)",
            "领导包案数",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        headers.extend(
            Channel::ALL
                .iter()
                .map(|c| format!("渠道:{}", channel_label(*c))),
        );
        if let Some(first) = r.rows.first() {
            headers.extend(first.trend.iter().map(|p| format!("综合得分 {}起", p.from)));
        }
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(2, c as u16, h, &bold)
                .map_err(xlsx_error)?;
        }
        let hours = |v: Option<f64>| v.map(|h| format!("{h:.1}")).unwrap_or_else(|| "—".into());
        for (i, row) in r.rows.iter().enumerate() {
            let y = 3 + i as u32;
            let mut cells = vec![
                row.rank
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "—".into()),
                row.name.clone(),
                row.total.to_string(),
                pct(row.response_rate),
                pct(row.resolution_rate),
                pct(row.satisfaction_rate),
                pct(row.on_time_rate),
                pct(row.reopen_rate),
                hours(row.avg_accept_hours),
                hours(row.avg_sign_hours),
                hours(row.avg_resolve_hours),
                row.leader_cases.to_string(),
            ];
            let counts_at = cells.len();
            for (c, v) in cells.iter().enumerate() {
                ws.write_string(y, c as u16, v).map_err(xlsx_error)?;
            }
            for (j, c) in Channel::ALL.iter().enumerate() {
                let n = row
                    .channels
                    .iter()
                    .find(|x| x.channel == *c)
                    .map_or(0, |x| x.count);
                ws.write_number(y, (counts_at + j) as u16, n as f64)
                    .map_err(xlsx_error)?;
            }
            cells.clear();
            cells.extend(row.trend.iter().map(|p| pct(p.score)));
            let trend_at = counts_at + Channel::ALL.len();
            for (j, v) in cells.iter().enumerate() {
                ws.write_string(y, (trend_at + j) as u16, v)
                    .map_err(xlsx_error)?;
            }
        }
        let bytes = wb.save_to_buffer().map_err(xlsx_error)?;
        Ok(attachment(
            bytes,
            &format!("民生诉求统计-{}-{}.xlsx", r.period, r.from),
        ))
    }

    /// The case ledger as an Excel workbook (台账), with the same filters as the case list.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/api/v1/exports/cases.xlsx", method = "get")]
    async fn cases_xlsx(
        &self,
        auth: BearerAuth,
        /// Comma-separated statuses.
        status: Query<Option<StatusList>>,
        category_id: Query<Option<i64>>,
        area_id: Query<Option<i64>>,
        department_id: Query<Option<i64>>,
        overdue: Query<Option<bool>>,
        /// Only cases under supervision (督办 level ≥ 1), or only those not.
        escalated: Query<Option<bool>>,
        channel: Query<Option<Channel>>,
        q: Query<Option<String>>,
        /// Created at or after (RFC 3339 or YYYY-MM-DD).
        from: Query<Option<DayOrTime>>,
        /// Created before (RFC 3339 or YYYY-MM-DD).
        to: Query<Option<DayOrTime>>,
        /// 领导包案: `me` the cases the caller took, `any` those a leader took, `none` the rest.
        taken_by: Query<Option<minsheng_model::TakenBy>>,
    ) -> Result<XlsxFile, ApiError> {
        let (p, scope) = self.reader(&auth).await?;
        let query = ListQuery {
            status: status.0.map(StatusList::into_inner),
            category_id: category_id.0,
            area_id: area_id.0,
            department_id: department_id.0,
            overdue: overdue.0,
            escalated: escalated.0,
            channel: channel.0,
            q: q.0,
            from: from.0.map(DayOrTime::into_inner),
            to: to.0.map(DayOrTime::into_inner),
            taken_by: crate::cases::api::taken_filter(&p, taken_by.0),
        };
        let filter = query.filter(&self.state, &scope, None, EXPORT_MAX).await?;
        let now = self.state.clock.now_ms();
        let rows = self.state.db.cases(&scope, &filter, now).await?;
        let areas = self.state.areas().await?;
        let depts: std::collections::HashMap<i64, String> = self
            .state
            .db
            .departments()
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("诉求台账").map_err(xlsx_error)?;
        let bold = Format::new().set_bold();
        let headers = [
            "受理编号",
            "状态",
            "渠道",
            "类别",
            "诉求内容",
            "地址",
            "区域",
            "承办部门",
            "联系人",
            "联系电话",
            "提交时间",
            "办理时限",
            "办结时间",
            "满意度",
            "督办级别",
            "是否超期",
        ];
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(xlsx_error)?;
        }
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("offset");
        let fmt_time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| {
                t.with_timezone(&beijing)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
        };
        for (i, c) in rows.iter().enumerate() {
            let v: CaseView = case_view(c, &p, &[], None, now);
            let area = v
                .area_id
                .and_then(|a| areas.iter().find(|x| x.id == a))
                .map(|a| a.name.clone())
                .unwrap_or_default();
            let satisfaction = match v.satisfaction {
                Some(minsheng_model::Satisfaction::Satisfied) => "满意",
                Some(minsheng_model::Satisfaction::BasicallySatisfied) => "基本满意",
                Some(minsheng_model::Satisfaction::Unsatisfied) => "不满意",
                None => "",
            };
            let cells = [
                v.tracking_no.clone(),
                v.status.label_zh().to_string(),
                v.channel.as_str().to_string(),
                v.category_name.clone(),
                v.description.clone(),
                v.address.clone().unwrap_or_default(),
                area,
                v.department_id
                    .and_then(|d| depts.get(&d).cloned())
                    .unwrap_or_default(),
                v.contact_name.clone().unwrap_or_default(),
                v.contact_phone.clone().unwrap_or_default(),
                fmt_time(Some(v.created_at)),
                fmt_time(v.due_at),
                fmt_time(v.resolved_at),
                satisfaction.to_string(),
                v.escalation_level.to_string(),
                if v.overdue { "是" } else { "否" }.to_string(),
            ];
            for (col, val) in cells.iter().enumerate() {
                ws.write_string(1 + i as u32, col as u16, val)
                    .map_err(xlsx_error)?;
            }
        }
        let bytes = wb.save_to_buffer().map_err(xlsx_error)?;
        let day = crate::to_time(now + BEIJING_MS).format("%Y%m%d");
        Ok(attachment(bytes, &format!("民生诉求台账-{day}.xlsx")))
    }
}
