//! The closed vocabularies of the domain. Their snake_case names are the wire format.

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "server", derive(poem_openapi::Enum))]
        #[cfg_attr(feature = "server", oai(rename_all = "snake_case"))]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire (and database) name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses a wire name; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// Where a case is in its workflow.
    Status {
        Submitted => "submitted",
        Accepted => "accepted",
        Rejected => "rejected",
        Assigned => "assigned",
        InProgress => "in_progress",
        Returned => "returned",
        Resolved => "resolved",
        Reopened => "reopened",
        Closed => "closed",
        Merged => "merged",
    }
);

impl Status {
    /// Final states: nothing but reading happens after them.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Rejected | Status::Closed | Status::Merged)
    }

    /// States in which a department owes work and a deadline runs.
    pub fn is_with_department(self) -> bool {
        matches!(
            self,
            Status::Assigned | Status::InProgress | Status::Reopened
        )
    }

    /// Chinese label for the UI.
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Submitted => "待受理",
            Status::Accepted => "已受理",
            Status::Rejected => "不予受理",
            Status::Assigned => "已交办",
            Status::InProgress => "办理中",
            Status::Returned => "已退回",
            Status::Resolved => "已办结",
            Status::Reopened => "重新办理",
            Status::Closed => "已销号",
            Status::Merged => "已合并",
        }
    }

    /// English label for the UI.
    pub fn label_en(self) -> &'static str {
        match self {
            Status::Submitted => "Submitted",
            Status::Accepted => "Accepted",
            Status::Rejected => "Rejected",
            Status::Assigned => "Assigned",
            Status::InProgress => "In progress",
            Status::Returned => "Returned",
            Status::Resolved => "Resolved",
            Status::Reopened => "Reopened",
            Status::Closed => "Closed",
            Status::Merged => "Merged",
        }
    }
}

wire_enum!(
    /// The one way a case changes state: `POST /api/v1/cases/{id}/actions`.
    Action {
        Accept => "accept",
        Reject => "reject",
        Assign => "assign",
        Sign => "sign",
        Return => "return",
        Progress => "progress",
        Resolve => "resolve",
        Rate => "rate",
        Reopen => "reopen",
        Close => "close",
        Merge => "merge",
        Escalate => "escalate",
        /// 吹哨: name a lead department and co-handling ones (again: summon more).
        Whistle => "whistle",
        /// 报到: a summoned department answers (the lead's is its 签收).
        ReportIn => "report_in",
        /// A co-handler's part is finished.
        PartDone => "part_done",
        /// The desk lets a summoned department go, with a reason.
        Release => "release",
        /// 包案: a leader takes the case.
        Take => "take",
        /// 批示: the case's leader instructs the handling departments (`note`).
        Instruct => "instruct",
    }
);

wire_enum!(
    /// The case list's 包案 filter: cases the caller took (我包的案件), cases any leader
    /// took, or cases no leader took.
    TakenBy {
        Me => "me",
        Any => "any",
        None => "none",
    }
);

wire_enum!(
    /// Where a summoned department stands in a joint handling (吹哨报到).
    SummonState {
        Summoned => "summoned",
        ReportedIn => "reported_in",
        PartDone => "part_done",
        Released => "released",
    }
);

wire_enum!(
    /// A summoned department's part: 主办 (lead) or 协办 (co-handler).
    JointRole {
        Lead => "lead",
        Co => "co",
    }
);

wire_enum!(
    /// Who a user is to the system.
    Role {
        Resident => "resident",
        Handler => "handler",
        Dispatcher => "dispatcher",
        Supervisor => "supervisor",
        Leader => "leader",
        Admin => "admin",
    }
);

impl Role {
    /// Staff are every role but the resident.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Resident)
    }

    /// Roles that run the dispatch desk (受理、交办、督办、销号).
    pub fn dispatches(self) -> bool {
        matches!(self, Role::Dispatcher | Role::Admin)
    }
}

wire_enum!(
    /// How a complaint reached us (信、访、网、电、微 and supervision).
    Channel {
        Wechat => "wechat",
        Web => "web",
        Phone => "phone",
        Letter => "letter",
        Visit => "visit",
        Supervision => "supervision",
    }
);

impl Channel {
    /// Channels through which staff enter a complaint on a resident's behalf.
    pub fn is_staff_entered(self) -> bool {
        matches!(
            self,
            Channel::Phone | Channel::Letter | Channel::Visit | Channel::Supervision
        )
    }
}

wire_enum!(
    /// The resident's verdict on a resolved case.
    Satisfaction {
        Satisfied => "satisfied",
        BasicallySatisfied => "basically_satisfied",
        Unsatisfied => "unsatisfied",
    }
);

wire_enum!(
    /// A category's deadline tier.
    Tier {
        /// 2 hours
        Urgent => "urgent",
        /// 24 hours
        Utility => "utility",
        /// 7 days
        General => "general",
        /// 15 days
        Complex => "complex",
    }
);

impl Tier {
    /// Hours allowed to resolve a case of this tier once assigned.
    pub fn resolve_hours(self) -> i64 {
        match self {
            Tier::Urgent => 2,
            Tier::Utility => 24,
            Tier::General => 7 * 24,
            Tier::Complex => 15 * 24,
        }
    }
}

wire_enum!(
    /// The geodetic system a pair of coordinates is in. Minsheng stores and returns WGS-84;
    /// GCJ-02 (WeChat's `wx.getLocation({type: 'gcj02'})`, Tencent and AMap maps) and BD-09
    /// (Baidu) are converted on the way in and, on request, on the way out
    /// (`minsheng_model::coords`). The default is WGS-84.
    #[derive(Default)]
    CoordSystem {
        /// GPS, a browser's `navigator.geolocation`, GeoJSON (RFC 7946), CGCS2000 survey data.
        #[default]
        Wgs84 => "wgs84",
        /// China's offset system (火星坐标): Tencent, AMap and WeChat maps.
        Gcj02 => "gcj02",
        /// Baidu's system, GCJ-02 offset once more.
        Bd09 => "bd09",
    }
);

wire_enum!(
    /// Levels of the area tree.
    AreaLevel {
        District => "district",
        Street => "street",
        Community => "community",
        Grid => "grid",
    }
);

impl AreaLevel {
    /// The level a child of this level has, if any.
    pub fn child(self) -> Option<AreaLevel> {
        match self {
            AreaLevel::District => Some(AreaLevel::Street),
            AreaLevel::Street => Some(AreaLevel::Community),
            AreaLevel::Community => Some(AreaLevel::Grid),
            AreaLevel::Grid => None,
        }
    }
}

wire_enum!(
    /// The period of the statistics and rankings.
    StatsPeriod {
        Week => "week",
        Month => "month",
        Quarter => "quarter",
        /// 半年督: January–June or July–December.
        HalfYear => "half_year",
        Year => "year",
    }
);

wire_enum!(
    /// How the period statistics are grouped.
    StatsGroupBy {
        Department => "department",
        Area => "area",
        Category => "category",
    }
);

wire_enum!(
    /// How visit coverage is grouped: by community, by supervisor or by responsible cadre.
    CoverageGroupBy {
        Community => "community",
        Supervisor => "supervisor",
        Responsible => "responsible",
    }
);

wire_enum!(
    /// A column the period statistics can be sorted by.
    StatsSort {
        Rank => "rank",
        Name => "name",
        Total => "total",
        ResponseRate => "response_rate",
        ResolutionRate => "resolution_rate",
        SatisfactionRate => "satisfaction_rate",
        OnTimeRate => "on_time_rate",
        ReopenRate => "reopen_rate",
        AvgResolveHours => "avg_resolve_hours",
    }
);
