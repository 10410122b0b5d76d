//! The board's pure decisions, tested in `widgets/tests/board.rs`: how a share and a
//! duration read, where a stage stands, which layout a screen gets, what a change on the
//! public stream makes the board fetch again (and how a burst of them is batched), and which
//! slice of a list the big screen shows now.

use minsheng_model::public::{ProjectView, PublicCase, PublicChange, StageView};
use minsheng_model::reports::ReportStatus;

use crate::i18n::Lang;

/// Cases fetched per page (the server allows up to 50).
pub const PAGE: usize = 20;
/// The most cases one refetch asks for.
pub const PAGE_MAX: usize = 50;
/// From this viewport width on, the board takes the big-screen layout by itself.
pub const SCREEN_MIN_WIDTH: f64 = 1280.0;
/// A change heard on the stream is fetched this long after the first of a burst.
pub const DEBOUNCE_MS: i32 = 300;
/// Everything is fetched again this often, whatever the stream said.
pub const SAFETY_REFETCH_MS: i32 = 60_000;
/// The big screen turns its pages this often.
pub const ROTATE_MS: i32 = 10_000;

/// A share (0..=1) as a whole percentage. Nothing done reads 0 and only complete reads 100:
/// a little progress is at least 1, nearly done is at most 99.
pub fn percent_value(share: f64) -> i64 {
    if !share.is_finite() || share <= 0.0 {
        return 0;
    }
    if share >= 1.0 {
        return 100;
    }
    ((share * 100.0).round() as i64).clamp(1, 99)
}

/// "25%".
pub fn percent(share: f64) -> String {
    format!("{}%", percent_value(share))
}

/// A rate of the rankings: "92%", or "—" when there is nothing to rate.
pub fn rate(r: Option<f64>) -> String {
    match r {
        Some(v) if v.is_finite() => format!("{}%", (v.clamp(0.0, 1.0) * 100.0).round() as i64),
        _ => "—".into(),
    }
}

/// How long a case took: "不到1小时", "5小时", "3天2小时" (to the hour).
pub fn duration(hours: f64, lang: Lang) -> String {
    let h = if hours.is_finite() {
        hours.max(0.0).round() as i64
    } else {
        0
    };
    if h < 1 {
        return lang.t("不到1小时", "under an hour").into();
    }
    let (d, h) = (h / 24, h % 24);
    match lang {
        Lang::Zh if d == 0 => format!("{h}小时"),
        Lang::Zh if h == 0 => format!("{d}天"),
        Lang::Zh => format!("{d}天{h}小时"),
        Lang::En if d == 0 => format!("{h} h"),
        Lang::En if h == 0 => format!("{d} d"),
        Lang::En => format!("{d} d {h} h"),
    }
}

/// How long a circular's case is overdue: "超期3天", "超期不足1天", or still within time.
pub fn overdue(days: f64, lang: Lang) -> String {
    if !days.is_finite() || days <= 0.0 {
        return lang.t("未超期", "not yet overdue").into();
    }
    let d = days.floor() as i64;
    match lang {
        Lang::Zh if d == 0 => "超期不足1天".into(),
        Lang::Zh => format!("超期{d}天"),
        Lang::En if d == 0 => "under a day overdue".into(),
        Lang::En if d == 1 => "1 day overdue".into(),
        Lang::En => format!("{d} days overdue"),
    }
}

/// Where a stage of a project stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageState {
    Done,
    /// Past its planned end and not done (the server says so).
    Late,
    /// Within its planned dates, not done yet.
    Current,
    Planned,
}

impl StageState {
    pub fn as_str(self) -> &'static str {
        match self {
            StageState::Done => "done",
            StageState::Late => "late",
            StageState::Current => "current",
            StageState::Planned => "planned",
        }
    }

    /// The mark drawn on the stage timeline.
    pub fn mark(self) -> &'static str {
        match self {
            StageState::Done => "✓",
            StageState::Late => "!",
            StageState::Current => "●",
            StageState::Planned => "○",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            StageState::Done => lang.t("已完成", "Done"),
            StageState::Late => lang.t("已逾期", "Late"),
            StageState::Current => lang.t("进行中", "Under way"),
            StageState::Planned => lang.t("计划中", "Planned"),
        }
    }
}

/// A stage's state on `today` (`YYYY-MM-DD`, the dates compare as text).
pub fn stage_state(stage: &StageView, today: &str) -> StageState {
    if stage.done {
        StageState::Done
    } else if stage.late {
        StageState::Late
    } else if stage.planned_start.as_str() <= today && today <= stage.planned_end.as_str() {
        StageState::Current
    } else {
        StageState::Planned
    }
}

/// `2026-01-05` → `01-05`; anything else as it is.
pub fn month_day(date: &str) -> &str {
    if date.len() == 10 && date.as_bytes()[4] == b'-' {
        &date[5..]
    } else {
        date
    }
}

/// The phone page, or the hall's big screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Phone,
    Screen,
}

/// `?layout=screen` or `?layout=phone` decide; otherwise a viewport of 1280 px or more is a
/// big screen.
pub fn choose_layout(param: Option<&str>, viewport_width: f64) -> Layout {
    match param.map(str::to_ascii_lowercase).as_deref() {
        Some("screen") | Some("big") => Layout::Screen,
        Some("phone") | Some("mobile") => Layout::Phone,
        _ if viewport_width >= SCREEN_MIN_WIDTH => Layout::Screen,
        _ => Layout::Phone,
    }
}

/// The lists to fetch again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dirty {
    pub cases: bool,
    pub circulars: bool,
    pub rankings: bool,
    pub projects: bool,
    /// The day's work reports.
    pub reports: bool,
    /// The month's points.
    pub points: bool,
}

impl Dirty {
    pub const ALL: Dirty = Dirty {
        cases: true,
        circulars: true,
        rankings: true,
        projects: true,
        reports: true,
        points: true,
    };

    /// What a change on the public stream touches: a public case changes the cases and may
    /// change the circulars (it may have been escalated); a project, the projects. Anything
    /// the board does not know fetches everything. Rankings, reports and points are not on
    /// the stream (points are written by a worker, later): the safety net fetches them.
    pub fn from_change(c: &PublicChange) -> Dirty {
        match c.what.as_str() {
            "case" => Dirty {
                cases: true,
                circulars: true,
                ..Dirty::default()
            },
            "project" => Dirty {
                projects: true,
                ..Dirty::default()
            },
            _ => Dirty::ALL,
        }
    }

    pub fn union(self, o: Dirty) -> Dirty {
        Dirty {
            cases: self.cases || o.cases,
            circulars: self.circulars || o.circulars,
            rankings: self.rankings || o.rankings,
            projects: self.projects || o.projects,
            reports: self.reports || o.reports,
            points: self.points || o.points,
        }
    }

    pub fn any(self) -> bool {
        self.cases
            || self.circulars
            || self.rankings
            || self.projects
            || self.reports
            || self.points
    }
}

/// Collects what a burst of changes made dirty, so it is fetched once.
#[derive(Debug, Default)]
pub struct Batch {
    pending: Option<Dirty>,
}

impl Batch {
    /// Adds `d`; `true` when this starts a burst (the caller starts the timer).
    pub fn add(&mut self, d: Dirty) -> bool {
        if !d.any() {
            return false;
        }
        match &mut self.pending {
            Some(p) => {
                *p = p.union(d);
                false
            }
            None => {
                self.pending = Some(d);
                true
            }
        }
    }

    /// What to fetch now (the timer fired); the next change starts a new burst.
    pub fn take(&mut self) -> Dirty {
        self.pending.take().unwrap_or_default()
    }
}

/// How many cases a refetch asks for: as many as are shown (the pages loaded so far), at
/// least a page and at most what the server gives at once.
pub fn refetch_limit(shown: usize) -> usize {
    shown.clamp(PAGE, PAGE_MAX)
}

/// A refetched first page, followed by the older cases loaded before it that it does not
/// reach (newest first, so those are the ones after its last).
pub fn merge_first_page(fresh: Vec<PublicCase>, old: &[PublicCase], more: bool) -> Vec<PublicCase> {
    if !more {
        return fresh;
    }
    let Some(oldest) = fresh.last().map(|c| c.created_at) else {
        return fresh;
    };
    let mut all = fresh;
    let rest: Vec<PublicCase> = old
        .iter()
        .filter(|c| c.created_at < oldest && !all.iter().any(|f| f.tracking_no == c.tracking_no))
        .cloned()
        .collect();
    all.extend(rest);
    all
}

/// How a day's reports stand: (on time, late, missing, not yet due).
pub fn report_counts(
    statuses: impl IntoIterator<Item = ReportStatus>,
) -> (usize, usize, usize, usize) {
    statuses
        .into_iter()
        .fold((0, 0, 0, 0), |(a, b, c, d), s| match s {
            ReportStatus::OnTime => (a + 1, b, c, d),
            ReportStatus::Late => (a, b + 1, c, d),
            ReportStatus::Missing => (a, b, c + 1, d),
            ReportStatus::Pending => (a, b, c, d + 1),
        })
}

/// The board lists filed reports first, then the missing ones, then those not yet due.
pub fn report_rank(s: ReportStatus) -> u8 {
    match s {
        ReportStatus::OnTime | ReportStatus::Late => 0,
        ReportStatus::Missing => 1,
        ReportStatus::Pending => 2,
    }
}

pub fn report_status(s: ReportStatus, lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => s.label_zh(),
        Lang::En => match s {
            ReportStatus::OnTime => "On time",
            ReportStatus::Late => "Late",
            ReportStatus::Missing => "Missing",
            ReportStatus::Pending => "Not yet due",
        },
    }
}

/// Points with their sign: "+12", "-3", "0".
pub fn signed(points: i64) -> String {
    if points > 0 {
        format!("+{points}")
    } else {
        points.to_string()
    }
}

/// The slice of a list the big screen shows at rotation `tick`: `(start, end, page, pages)`,
/// page counted from 0; an empty list is one empty page.
pub fn page_window(len: usize, per_page: usize, tick: u32) -> (usize, usize, usize, usize) {
    let per = per_page.max(1);
    let pages = len.div_ceil(per).max(1);
    let page = tick as usize % pages;
    let start = page * per;
    (start.min(len), (start + per).min(len), page, pages)
}

/// The project tree in reading order, each with its depth (roots 0), so sub-projects are
/// drawn indented under their parent and the big screen can page through them.
pub fn flatten(projects: &[ProjectView]) -> Vec<(&ProjectView, usize)> {
    fn walk<'a>(ps: &'a [ProjectView], depth: usize, out: &mut Vec<(&'a ProjectView, usize)>) {
        for p in ps {
            out.push((p, depth));
            walk(&p.children, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(projects, 0, &mut out);
    out
}

/// A budget in yuan as people read it: "320万元" / "¥3.2 million" (`fixed` formats a number
/// with the given decimals).
pub fn budget(yuan: f64, lang: Lang, fixed: impl Fn(f64, u8) -> String) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    match lang {
        Lang::Zh if yuan >= 10_000.0 => format!("{}万元", trim(fixed(yuan / 10_000.0, 1))),
        Lang::Zh => format!("{}元", trim(fixed(yuan, 0))),
        Lang::En if yuan >= 1_000_000.0 => {
            format!("¥{} million", trim(fixed(yuan / 1_000_000.0, 2)))
        }
        Lang::En => format!("¥{}", trim(fixed(yuan, 0))),
    }
}
