//! Demo data: 麒麟区 with its streets, communities and grids, departments, categories,
//! one user of each role, and cases in every state over the last 30 days, each with the
//! timeline it would have had.

use minsheng_model::{NewUser, Role, Satisfaction, Status, Tier};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng, seq::SliceRandom};
use serde_json::json;

use crate::app::AppState;
use crate::storage::{
    CaseChange, CategoryRecord, DepartmentRecord, NewAreaRecord, NewCaseRecord, NewEvent,
};

/// The password of every demo user (printed by `seed-demo`).
pub const DEMO_PASSWORD: &str = "minsheng2026";

const STREETS: [&str; 4] = ["南宁街道", "建宁街道", "白石江街道", "益宁街道"];
const COMMUNITIES: [[&str; 3]; 4] = [
    ["麻黄社区", "南关社区", "北关社区"],
    ["建宁社区", "寥廓社区", "紫云社区"],
    ["白石江社区", "廖家屯社区", "潇湘社区"],
    ["益宁社区", "东山社区", "西城社区"],
];
const DEPARTMENTS: [(&str, &str, &str); 10] = [
    (
        "zjj",
        "区住房和城乡建设局",
        "Housing and Urban-Rural Development",
    ),
    ("cgj", "区城市管理局", "Urban Management"),
    ("jtj", "区交通运输局", "Transport"),
    ("swj", "区水务局", "Water Affairs"),
    ("hbj", "市生态环境局麒麟分局", "Ecology and Environment"),
    ("scj", "区市场监督管理局", "Market Regulation"),
    (
        "rsj",
        "区人力资源和社会保障局",
        "Human Resources and Social Security",
    ),
    ("mzj", "区民政局", "Civil Affairs"),
    ("gdj", "麒麟供电局", "Power Supply"),
    ("jyj", "区教育体育局", "Education and Sports"),
];
// code, name, English, tier, accept hours, sign hours, department code, sample descriptions
type CategorySeed = (
    &'static str,
    &'static str,
    &'static str,
    Tier,
    i64,
    i64,
    &'static str,
    [&'static str; 3],
);
const CATEGORIES: [CategorySeed; 12] = [
    (
        "gas",
        "燃气泄漏",
        "Gas leak",
        Tier::Urgent,
        1,
        1,
        "zjj",
        [
            "楼道里有很重的燃气味,请尽快派人检查",
            "小区燃气管道接口处漏气,居民很担心",
            "单元门口闻到煤气味已经半天了",
        ],
    ),
    (
        "water",
        "停水停电",
        "Water or power outage",
        Tier::Utility,
        2,
        2,
        "swj",
        [
            "小区从昨晚开始停水,没有任何通知",
            "整栋楼停电,家里有老人用制氧机",
            "水压太低,五楼以上用不上水",
        ],
    ),
    (
        "light",
        "路灯损坏",
        "Broken street light",
        Tier::Utility,
        4,
        4,
        "cgj",
        [
            "巷子里的路灯坏了一个多月,晚上很黑",
            "路口路灯一直闪,影响行车",
            "小区门口路灯不亮,老人晚上出门不方便",
        ],
    ),
    (
        "road",
        "道路破损",
        "Damaged road",
        Tier::General,
        8,
        8,
        "jtj",
        [
            "路面有个大坑,下雨积水,电动车容易摔倒",
            "人行道地砖松动翘起,已经有人绊倒",
            "井盖缺失,非常危险",
        ],
    ),
    (
        "stall",
        "占道经营",
        "Street stalls blocking the road",
        Tier::General,
        8,
        8,
        "cgj",
        [
            "菜市场门口摊贩占道,早上车辆过不去",
            "夜市占用消防通道",
            "门店把货物堆到人行道上",
        ],
    ),
    (
        "noise",
        "噪音扰民",
        "Noise",
        Tier::General,
        8,
        8,
        "hbj",
        [
            "工地夜间施工到凌晨,影响休息",
            "广场舞音响太大,晚上十点后还在放",
            "楼下烧烤店排风机噪音很大",
        ],
    ),
    (
        "garbage",
        "垃圾清运",
        "Rubbish collection",
        Tier::General,
        8,
        8,
        "cgj",
        [
            "垃圾桶满了三天没人清运,有异味",
            "小区建筑垃圾堆在绿化带里",
            "河道边有人倾倒生活垃圾",
        ],
    ),
    (
        "food",
        "食品安全",
        "Food safety",
        Tier::General,
        8,
        8,
        "scj",
        [
            "学校门口小店卖过期零食",
            "餐馆后厨卫生很差,有老鼠",
            "超市卖的肉有异味",
        ],
    ),
    (
        "wage",
        "拖欠工资",
        "Unpaid wages",
        Tier::Complex,
        24,
        24,
        "rsj",
        [
            "工地拖欠农民工工资三个月",
            "公司倒闭后拖欠员工工资和社保",
            "装修公司不发工资",
        ],
    ),
    (
        "property",
        "物业纠纷",
        "Property management dispute",
        Tier::Complex,
        24,
        24,
        "zjj",
        [
            "物业收费不公开,业主意见很大",
            "电梯经常坏,物业不维修",
            "物业擅自占用公共车位收费",
        ],
    ),
    (
        "building",
        "违章建筑",
        "Illegal construction",
        Tier::Complex,
        24,
        24,
        "cgj",
        [
            "顶楼住户私自加盖彩钢房",
            "一楼住户占用公共绿地搭建棚子",
            "临街商铺违规扩建",
        ],
    ),
    (
        "elderly",
        "养老服务",
        "Elderly care",
        Tier::General,
        8,
        8,
        "mzj",
        [
            "独居老人生活困难,希望社区关注",
            "社区养老服务站长期不开门",
            "高龄津贴一直没有发放",
        ],
    ),
];

const DISTRICT_BOX: (f64, f64, f64, f64) = (103.74, 25.44, 103.86, 25.56); // west, south, east, north

fn ring(w: f64, s: f64, e: f64, n: f64) -> Vec<Vec<f64>> {
    vec![vec![w, s], vec![e, s], vec![e, n], vec![w, n]]
}

/// A grid's id, its bounding box (west, south, east, north) and its community's name.
type GridSeed = (i64, (f64, f64, f64, f64), String);

struct Seeded {
    areas: Vec<GridSeed>,
    categories: Vec<(i64, Tier, i64, i64, i64, usize)>, // id, tier, accept h, sign h, department id, index
    residents: Vec<i64>,
    dispatcher: i64,
    handlers: Vec<(i64, i64)>, // (user, department)
    supervisor: i64,
    /// The three supervisors of the first community (监督员), the first being `supervisor`.
    supervisors: Vec<i64>,
    first_community: i64,
}

/// Seeds the demo data unless the database already has a district; prints the users either way.
pub async fn seed_demo(state: &AppState, cases: usize) -> anyhow::Result<()> {
    let loading = if cases >= BULK_FROM {
        Loading::Bulk
    } else {
        Loading::OneByOne
    };
    seed_demo_with(state, cases, loading).await
}

/// [`seed_demo`], storing the cases as `loading` says (the same data either way).
pub async fn seed_demo_with(
    state: &AppState,
    cases: usize,
    loading: Loading,
) -> anyhow::Result<()> {
    if state.db.areas().await?.is_empty() {
        let seeded = seed_reference(state).await?;
        let started = std::time::Instant::now();
        seed_cases(state, &seeded, cases, loading).await?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "demo cases: {cases} in {secs:.1} s ({:.0} cases/s, {loading:?})",
            cases as f64 / secs.max(1e-9)
        );
        let households = seed_visits(state, &seeded).await?;
        seed_projects(state, &seeded).await?;
        let reports = seed_reports(state).await?;
        println!("demo data: {reports} daily work reports over the last week");
        println!(
            "demo data created: {cases} cases, {households} households and a visit round in progress"
        );
    } else {
        println!("demo data already present; nothing added");
    }
    println!("demo users (password for all: {DEMO_PASSWORD}):");
    for u in state.db.users().await? {
        if let Some(name) = u.username {
            let reach = if u.all_areas {
                "  (全市 --all-areas)"
            } else {
                ""
            };
            println!("  {:<12} {:<11} {}{reach}", name, u.role, u.display_name);
        }
    }
    Ok(())
}

async fn seed_reference(state: &AppState) -> anyhow::Result<Seeded> {
    let db = &state.db;
    let (w, s, e, n) = DISTRICT_BOX;
    let district = db
        .create_area(
            &NewAreaRecord {
                parent_id: None,
                level: "district",
                code: "530302",
                name: "麒麟区",
                name_en: Some("Qilin District"),
                lat: Some((s + n) / 2.0),
                lng: Some((w + e) / 2.0),
                boundary: Some(serde_json::to_string(&ring(w, s, e, n))?),
            },
            None,
            crate::now_ms(),
        )
        .await?;
    let mut grids = Vec::new();
    let mut first_community = None;
    let street_w = (e - w) / STREETS.len() as f64;
    for (si, street) in STREETS.iter().enumerate() {
        let (sw, se) = (w + street_w * si as f64, w + street_w * (si + 1) as f64);
        let street_id = db
            .create_area(
                &NewAreaRecord {
                    parent_id: Some(district),
                    level: "street",
                    code: &format!("530302{:03}", si + 1),
                    name: street,
                    name_en: None,
                    lat: Some((s + n) / 2.0),
                    lng: Some((sw + se) / 2.0),
                    boundary: Some(serde_json::to_string(&ring(sw, s, se, n))?),
                },
                None,
                crate::now_ms(),
            )
            .await?;
        let comm_h = (n - s) / 3.0;
        for (ci, community) in COMMUNITIES[si].iter().enumerate() {
            let (cs, cn) = (s + comm_h * ci as f64, s + comm_h * (ci + 1) as f64);
            let code = format!("530302{:03}{:03}", si + 1, ci + 1);
            let cid = db
                .create_area(
                    &NewAreaRecord {
                        parent_id: Some(street_id),
                        level: "community",
                        code: &code,
                        name: community,
                        name_en: None,
                        lat: Some((cs + cn) / 2.0),
                        lng: Some((sw + se) / 2.0),
                        boundary: Some(serde_json::to_string(&ring(sw, cs, se, cn))?),
                    },
                    None,
                    crate::now_ms(),
                )
                .await?;
            first_community.get_or_insert(cid);
            let mid = (sw + se) / 2.0;
            for (gi, (gw, ge)) in [(sw, mid), (mid, se)].into_iter().enumerate() {
                let gid = db
                    .create_area(
                        &NewAreaRecord {
                            parent_id: Some(cid),
                            level: "grid",
                            code: &format!("{code}{:02}", gi + 1),
                            name: &format!("{community}第{}网格", gi + 1),
                            name_en: None,
                            lat: Some((cs + cn) / 2.0),
                            lng: Some((gw + ge) / 2.0),
                            boundary: Some(serde_json::to_string(&ring(gw, cs, ge, cn))?),
                        },
                        None,
                        crate::now_ms(),
                    )
                    .await?;
                grids.push((gid, (gw, cs, ge, cn), community.to_string()));
            }
        }
    }
    let mut dept_ids = std::collections::HashMap::new();
    for (code, name, en) in DEPARTMENTS {
        dept_ids.insert(
            code,
            db.create_department(
                &DepartmentRecord::plain(code, name, Some(en), Some(district)),
                None,
                crate::now_ms(),
            )
            .await?,
        );
    }
    let mut categories = Vec::new();
    for (i, (code, name, en, tier, accept, sign, dept, _)) in CATEGORIES.iter().enumerate() {
        let d = dept_ids[dept];
        let id = db
            .create_category(
                &CategoryRecord {
                    code,
                    name,
                    name_en: Some(en),
                    tier: tier.as_str(),
                    resolve_hours: tier.resolve_hours(),
                    resolve_workdays: None,
                    accept_hours: *accept,
                    sign_hours: *sign,
                    default_department_id: Some(d),
                    active: true,
                },
                None,
                state.clock.now_ms(),
            )
            .await?;
        categories.push((id, *tier, *accept, *sign, d, i));
    }
    let user =
        |username: &str, display: &str, role: Role, dept: Option<i64>, area: Option<i64>| NewUser {
            username: username.into(),
            password: DEMO_PASSWORD.into(),
            display_name: Some(display.into()),
            role,
            department_id: dept,
            area_id: area,
            all_areas: None,
        };
    // The desk and the leader answer for the whole city: an explicit grant, not the lack of
    // an area (without either they would see nothing).
    let city_wide = |u: NewUser| NewUser {
        area_id: None,
        all_areas: Some(true),
        ..u
    };
    let mk = |u: NewUser| async move {
        state
            .create_user(&u)
            .await
            .map_err(|e| anyhow::anyhow!("seeding user: {}", e.code()))
    };
    mk(user("admin", "系统管理员", Role::Admin, None, None)).await?;
    let dispatcher = mk(city_wide(user(
        "dispatcher",
        "效能办 李敏",
        Role::Dispatcher,
        None,
        None,
    )))
    .await?;
    mk(city_wide(user(
        "leader",
        "区委 王书记",
        Role::Leader,
        None,
        None,
    )))
    .await?;
    let supervisor = mk(user(
        "supervisor",
        "监督员 赵刚",
        Role::Supervisor,
        None,
        first_community,
    ))
    .await?;
    let mut supervisors = vec![supervisor];
    for (username, display) in [
        ("supervisor2", "监督员 孙丽"),
        ("supervisor3", "监督员 周强"),
    ] {
        supervisors.push(
            mk(user(
                username,
                display,
                Role::Supervisor,
                None,
                first_community,
            ))
            .await?,
        );
    }
    let mut handlers = Vec::new();
    for (username, display, code) in [
        ("handler", "城管局 张伟", "cgj"),
        ("handler2", "住建局 刘洋", "zjj"),
    ] {
        handlers.push((
            mk(user(
                username,
                display,
                Role::Handler,
                Some(dept_ids[code]),
                None,
            ))
            .await?,
            dept_ids[code],
        ));
    }
    for (code, _, _) in DEPARTMENTS
        .iter()
        .filter(|(c, _, _)| !["cgj", "zjj"].contains(c))
    {
        let d = dept_ids[code];
        handlers.push((
            mk(user(
                &format!("handler_{code}"),
                &format!("{code} 承办人"),
                Role::Handler,
                Some(d),
                None,
            ))
            .await?,
            d,
        ));
    }
    let mut residents = Vec::new();
    for (username, display) in [("resident", "张大爷"), ("resident2", "李阿姨")] {
        residents.push(mk(user(username, display, Role::Resident, None, None)).await?);
    }
    Ok(Seeded {
        areas: grids,
        categories,
        residents,
        dispatcher,
        handlers,
        supervisor,
        supervisors,
        first_community: first_community.unwrap_or(district),
    })
}

const NAMES: [&str; 8] = [
    "张建国",
    "李秀英",
    "王磊",
    "刘芳",
    "陈志强",
    "杨丽",
    "赵明",
    "黄敏",
];
const ROADS: [&str; 6] = [
    "南宁西路",
    "麒麟南路",
    "文昌街",
    "寥廓南路",
    "子午路",
    "珠江源大道",
];

/// From this many cases on, `seed-demo` loads them in bulk ([`load_cases`]): the same
/// cases, rows and timelines as one at a time, written by multi-row INSERTs (tens of
/// thousands of cases a second instead of a few hundred).
pub const BULK_FROM: usize = 2_000;

/// How [`seed_cases`] stores what it generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loading {
    /// Each case submitted and walked through its timeline as the API would
    /// (`create_case`, then `change_case` per step).
    OneByOne,
    /// Each case's final row and timeline written directly, many per statement.
    Bulk,
}

/// Cases loaded per transaction in bulk.
const BULK_BATCH: usize = 10_000;

/// One generated case: the submission and the steps that walk it to its final state.
struct PlannedCase {
    rec: NewCaseRecord,
    t0: i64,
    steps: Vec<PlannedStep>,
}

struct PlannedStep {
    to: Status,
    ch: CaseChange,
    ev: NewEvent,
    /// When the step happened, as stored (never after `now`).
    at: i64,
    /// A merge into the case before this one (its id known only once stored).
    merge: bool,
}

/// The merge step's target and event data for case `id`.
fn merge_of(id: i64) -> (i64, serde_json::Value) {
    let target = id.saturating_sub(1).max(1);
    (target, json!({ "merge_into": Some(target) }))
}

/// Generates cases one after another from one seeded generator: the same sequence however
/// they are stored.
struct CasePlanner<'a> {
    s: &'a Seeded,
    rng: StdRng,
    now: i64,
    next: usize,
}

impl<'a> CasePlanner<'a> {
    fn new(s: &'a Seeded, now: i64) -> Self {
        CasePlanner {
            s,
            rng: StdRng::seed_from_u64(2026),
            now,
            next: 0,
        }
    }

    fn plan(&mut self) -> PlannedCase {
        let (s, now, i) = (self.s, self.now, self.next);
        self.next += 1;
        let rng = &mut self.rng;
        let hour = 3_600_000;
        // The states the demo should show, weighted toward finished work as in a real ledger.
        let finals = [
            (Status::Submitted, 6),
            (Status::Accepted, 4),
            (Status::Rejected, 3),
            (Status::Assigned, 8),
            (Status::InProgress, 12),
            (Status::Returned, 3),
            (Status::Resolved, 10),
            (Status::Reopened, 4),
            (Status::Closed, 45),
            (Status::Merged, 2),
        ];
        let total: u32 = finals.iter().map(|(_, w)| w).sum();
        let mut pick = rng.gen_range(0..total);
        let target = finals
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map(|(s, _)| *s)
            .unwrap_or(Status::Closed);
        let &(cat_id, tier, accept_h, sign_h, dept, ci) =
            s.categories.choose(rng).expect("categories");
        let (grid, (gw, gs, ge, gn), community) = s.areas.choose(rng).expect("areas");
        let resident = *s.residents.choose(rng).expect("residents");
        let t0 = now - rng.gen_range(1..30 * 24) * hour - rng.gen_range(0..hour);
        let desc = CATEGORIES[ci].7.choose(rng).expect("descriptions");
        let road = ROADS.choose(rng).expect("roads");
        let by_supervisor = rng.gen_bool(0.1);
        let (creator, role, channel) = if by_supervisor {
            (s.supervisor, "supervisor", "supervision")
        } else if rng.gen_bool(0.2) {
            (
                s.dispatcher,
                "dispatcher",
                *["phone", "letter", "visit"].choose(rng).expect("channels"),
            )
        } else {
            (resident, "resident", "wechat")
        };
        let rec = NewCaseRecord {
            client_request_id: format!("demo-{i:06}"),
            created_by: creator,
            actor_role: role.into(),
            channel: channel.into(),
            category_id: cat_id,
            description: format!("{community}{road}附近:{desc}。"),
            lat: Some(rng.gen_range(*gs..*gn)),
            lng: Some(rng.gen_range(*gw..*ge)),
            address: Some(format!("麒麟区{road}{}号", rng.gen_range(1..300))),
            area_id: Some(*grid),
            anonymous: rng.gen_bool(0.1),
            public: rng.gen_bool(0.6),
            contact_name: Some(NAMES.choose(rng).expect("names").to_string()),
            contact_phone: Some(format!(
                "1{}{:09}",
                rng.gen_range(3..10),
                rng.gen_range(0..1_000_000_000u64)
            )),
            accept_due_at: t0 + accept_h * hour,
            origin: None,
            content_check: None,
        };
        let handler = s
            .handlers
            .iter()
            .find(|(_, d)| *d == dept)
            .map(|(u, _)| *u)
            .unwrap_or(s.dispatcher);
        // Walk the case to its target state, one plausible step after another.
        let path: &[Status] = match target {
            Status::Submitted => &[],
            Status::Accepted => &[Status::Accepted],
            Status::Rejected => &[Status::Rejected],
            Status::Assigned => &[Status::Accepted, Status::Assigned],
            Status::InProgress => &[Status::Accepted, Status::Assigned, Status::InProgress],
            Status::Returned => &[Status::Accepted, Status::Assigned, Status::Returned],
            Status::Resolved => &[
                Status::Accepted,
                Status::Assigned,
                Status::InProgress,
                Status::Resolved,
            ],
            Status::Reopened => &[
                Status::Accepted,
                Status::Assigned,
                Status::InProgress,
                Status::Resolved,
                Status::Reopened,
            ],
            Status::Closed => &[
                Status::Accepted,
                Status::Assigned,
                Status::InProgress,
                Status::Resolved,
                Status::Closed,
            ],
            Status::Merged => &[Status::Accepted, Status::Merged],
        };
        let span = (now - t0).max(hour);
        let mut t = t0;
        let mut from = Status::Submitted;
        let mut steps = Vec::with_capacity(path.len());
        for to in path {
            t += rng
                .gen_range(span / 20..span / (path.len() as i64 + 1))
                .max(60_000);
            let mut ch = CaseChange::default();
            let (actor, actor_role, kind, note, data) = match to {
                Status::Accepted => (
                    s.dispatcher,
                    "dispatcher",
                    "accept",
                    Some("已受理,转相关部门办理".to_string()),
                    None,
                ),
                Status::Rejected => (
                    s.dispatcher,
                    "dispatcher",
                    "reject",
                    Some("不属于政府职能范围,已告知诉求人通过司法途径解决".to_string()),
                    None,
                ),
                Status::Assigned => {
                    ch.department_id = Some(Some(dept));
                    ch.sign_due_at = Some(Some(t + sign_h * hour));
                    ch.due_at = Some(Some(t + tier.resolve_hours() * hour));
                    (
                        s.dispatcher,
                        "dispatcher",
                        "assign",
                        Some("请按时限办理并反馈".to_string()),
                        Some(json!({ "department_id": dept })),
                    )
                }
                Status::InProgress => (
                    handler,
                    "handler",
                    "sign",
                    Some("已签收,安排人员现场核查".to_string()),
                    None,
                ),
                Status::Returned => (
                    handler,
                    "handler",
                    "return",
                    Some("该事项不属于本部门职责,请重新交办".to_string()),
                    None,
                ),
                Status::Resolved => {
                    ch.resolved_at = Some(t);
                    (
                        handler,
                        "handler",
                        "resolve",
                        Some("已现场处置完毕,问题已解决".to_string()),
                        None,
                    )
                }
                Status::Reopened => {
                    ch.satisfaction = Some(Satisfaction::Unsatisfied.as_str().into());
                    ch.stars = Some(Some(2));
                    ch.sign_due_at = Some(Some(t + sign_h * hour));
                    ch.due_at = Some(Some(t + tier.resolve_hours() * hour));
                    (
                        creator,
                        role,
                        "rate",
                        Some("问题没有彻底解决".to_string()),
                        Some(json!({ "satisfaction": "unsatisfied", "stars": 2 })),
                    )
                }
                Status::Closed => {
                    ch.closed_at = Some(t);
                    let sat = if rng.gen_bool(0.85) {
                        Satisfaction::Satisfied
                    } else {
                        Satisfaction::BasicallySatisfied
                    };
                    ch.satisfaction = Some(sat.as_str().into());
                    let stars = if sat == Satisfaction::Satisfied { 5 } else { 4 };
                    ch.stars = Some(Some(stars));
                    (
                        creator,
                        role,
                        "rate",
                        Some("处理及时,感谢".to_string()),
                        Some(json!({ "satisfaction": sat, "stars": stars })),
                    )
                }
                // The target and data are filled in once the case has its id.
                Status::Merged => (
                    s.dispatcher,
                    "dispatcher",
                    "merge",
                    Some("与已有诉求重复,合并办理".to_string()),
                    None,
                ),
                Status::Submitted => unreachable!("never a step"),
            };
            let ev = NewEvent {
                actor_id: Some(actor),
                actor_role: actor_role.into(),
                kind: kind.into(),
                from_status: Some(from.as_str().into()),
                to_status: to.as_str().into(),
                note,
                data,
            };
            steps.push(PlannedStep {
                to: *to,
                ch,
                ev,
                at: t.min(now),
                merge: *to == Status::Merged,
            });
            from = *to;
        }
        PlannedCase { rec, t0, steps }
    }
}

async fn seed_cases(
    state: &AppState,
    s: &Seeded,
    count: usize,
    loading: Loading,
) -> anyhow::Result<()> {
    let mut planner = CasePlanner::new(s, state.clock.now_ms());
    match loading {
        Loading::OneByOne => {
            for _ in 0..count {
                store_one(state, planner.plan()).await?;
            }
        }
        Loading::Bulk => load_cases(state, &mut planner, count).await?,
    }
    Ok(())
}

/// Submits a planned case and walks it through its steps, one transaction each.
async fn store_one(state: &AppState, p: PlannedCase) -> anyhow::Result<()> {
    let db = &state.db;
    let (case, _) = db.create_case(&p.rec, p.t0).await?;
    let mut version = case.version;
    for mut step in p.steps {
        if step.merge {
            let (target, data) = merge_of(case.id);
            step.ch.merged_into = Some(target);
            step.ev.data = Some(data);
        }
        let c = db
            .change_case(case.id, version, step.to, &step.ch, &step.ev, step.at)
            .await?;
        version = c.version;
    }
    Ok(())
}

/// Loads `count` planned cases in batches of [`BULK_BATCH`], each case's final row and
/// timeline as [`store_one`] would have left them.
async fn load_cases(
    state: &AppState,
    planner: &mut CasePlanner<'_>,
    count: usize,
) -> anyhow::Result<()> {
    use crate::storage::{LoadCase, LoadEvent, submit_data, tracking_no};
    let db = &state.db;
    let (mut case_id, mut event_id) = db.next_load_ids().await?;
    let indexes = db.drop_load_indexes().await?;
    let mut left = count;
    while left > 0 {
        let n = left.min(BULK_BATCH);
        left -= n;
        let mut cases = Vec::with_capacity(n);
        let mut events = Vec::with_capacity(n * 5);
        for _ in 0..n {
            let p = planner.plan();
            let r = &p.rec;
            let id = case_id;
            case_id += 1;
            events.push(LoadEvent {
                id: event_id,
                case_id: id,
                at: p.t0,
                actor_id: Some(r.created_by),
                actor_role: r.actor_role.clone(),
                kind: "submit".into(),
                from_status: None,
                to_status: Status::Submitted.as_str().into(),
                note: None,
                data: Some(submit_data(r).to_string()),
            });
            event_id += 1;
            let mut c = LoadCase {
                id,
                tracking_no: tracking_no(id, p.t0),
                client_request_id: r.client_request_id.clone(),
                created_by: r.created_by,
                channel: r.channel.clone(),
                category_id: r.category_id,
                description: r.description.clone(),
                lat: r.lat,
                lng: r.lng,
                address: r.address.clone(),
                area_id: r.area_id,
                department_id: None,
                anonymous: r.anonymous,
                public: r.public,
                contact_name: r.contact_name.clone(),
                contact_phone: r.contact_phone.clone(),
                status: Status::Submitted.as_str().into(),
                version: 1,
                merged_into: None,
                satisfaction: None,
                stars: None,
                accept_due_at: r.accept_due_at,
                sign_due_at: None,
                due_at: None,
                resolved_at: None,
                closed_at: None,
                created_at: p.t0,
                updated_at: p.t0,
            };
            for mut step in p.steps {
                if step.merge {
                    let (target, data) = merge_of(id);
                    step.ch.merged_into = Some(target);
                    step.ev.data = Some(data);
                }
                // What `change_case` sets, field by field.
                let ch = step.ch;
                c.status = step.to.as_str().into();
                c.version += 1;
                c.updated_at = step.at;
                if let Some(v) = ch.department_id {
                    c.department_id = v;
                }
                if let Some(v) = ch.sign_due_at {
                    c.sign_due_at = v;
                }
                if let Some(v) = ch.due_at {
                    c.due_at = v;
                }
                if let Some(v) = ch.merged_into {
                    c.merged_into = Some(v);
                }
                if let Some(v) = ch.satisfaction {
                    c.satisfaction = Some(v);
                }
                if let Some(v) = ch.stars {
                    c.stars = v;
                }
                if let Some(v) = ch.resolved_at {
                    c.resolved_at = Some(v);
                }
                if let Some(v) = ch.closed_at {
                    c.closed_at = Some(v);
                }
                let ev = step.ev;
                events.push(LoadEvent {
                    id: event_id,
                    case_id: id,
                    at: step.at,
                    actor_id: ev.actor_id,
                    actor_role: ev.actor_role,
                    kind: ev.kind,
                    from_status: ev.from_status,
                    to_status: ev.to_status,
                    note: ev.note,
                    data: ev.data.map(|d| d.to_string()),
                });
                event_id += 1;
            }
            cases.push(c);
        }
        db.load_cases(&cases, &events).await?;
    }
    db.rebuild_load_indexes(&indexes).await?;
    db.finish_load().await?;
    Ok(())
}

const TAGS: [&str; 6] = [
    "独居老人",
    "低保",
    "残疾",
    "留守儿童",
    "空巢老人",
    "退役军人",
];
const HOUSEHOLDS_PER_GRID: usize = 8;

/// Households in every grid (some with the handler `handler` as their 包保 cadre), a round
/// over the district in progress, and the first community's supervisors' visits and weekly
/// meetings so far — some flagged, some with a follow-up now overdue. Returns the households made.
async fn seed_visits(state: &AppState, s: &Seeded) -> anyhow::Result<usize> {
    use crate::storage::{HouseholdRecord, MeetingRecord, NewRoundRecord, VisitRecord};
    use minsheng_model::visits::{VisitPurpose, check_in_flags};
    let db = &state.db;
    let mut rng = StdRng::seed_from_u64(5);
    let now = state.clock.now_ms();
    let day = 86_400_000;
    let cadre = s.handlers.first().map(|h| h.0);
    let mut records = Vec::new();
    for (gi, (grid, (gw, gs, ge, gn), _)) in s.areas.iter().enumerate() {
        for k in 0..HOUSEHOLDS_PER_GRID {
            let road = ROADS[(gi + k) % ROADS.len()];
            let tags: Vec<String> = TAGS
                .iter()
                .filter(|_| rng.gen_bool(0.15))
                .map(|t| t.to_string())
                .collect();
            records.push(HouseholdRecord {
                area_id: *grid,
                address: format!(
                    "{road}{}号{}栋{}单元",
                    10 + gi * 3 + k,
                    k % 4 + 1,
                    k % 3 + 1
                ),
                head_name: Some(NAMES[(gi * 3 + k) % NAMES.len()].to_string()),
                phone: Some(format!(
                    "13{}{:08}",
                    rng.gen_range(3..10),
                    rng.gen_range(0..100_000_000u64)
                )),
                members: rng.gen_range(1..6),
                tags,
                lat: Some(rng.gen_range(*gs..*gn)),
                lng: Some(rng.gen_range(*gw..*ge)),
                responsible_user_id: (gi == 0 && k < 4).then_some(cadre).flatten(),
            });
        }
    }
    db.import_households(&records, now - 40 * day, None).await?;
    let today = state.clock.today_beijing();
    let (from, to) = (
        today - chrono::Duration::days(30),
        today + chrono::Duration::days(30),
    );
    let round = db
        .create_round(
            &NewRoundRecord {
                name: "2026年第四季度入户走访".into(),
                area_id: s.first_community,
                starts_on: from.to_string(),
                due_on: to.to_string(),
                starts_at: crate::beijing_day_start(from),
                ends_at: crate::beijing_day_start(to + chrono::Duration::days(1)),
                created_by: s.dispatcher,
            },
            now - 30 * day,
        )
        .await?;
    let community = db
        .area(s.first_community)
        .await?
        .map(|a| a.path)
        .unwrap_or_default();
    let scope = crate::storage::HouseholdScope::All;
    let (mine, _) = db
        .households(
            &scope,
            &crate::storage::HouseholdFilter {
                area_path: Some(community),
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
    let notes = [
        "了解低保政策落实情况,户主表示已按时领取",
        "老人独居,身体尚可,提醒注意用电安全",
        "反映楼道照明不足,已记录",
        "询问医保缴费,已现场讲解",
        "邻里因漏水有矛盾,已约定下周协调",
    ];
    for (i, h) in mine
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 4 && i % 3 != 2)
    {
        let visitor = s.supervisors[i % s.supervisors.len()];
        let at = now - rng.gen_range(1..25) * day - rng.gen_range(0..8) * 3_600_000;
        // Most check in at the door; a few from far away, or with a spoofed fix.
        let (lat, lng, accuracy) = match i % 9 {
            7 => (h.lat.map(|l| l + 0.004), h.lng, Some(12.0)),
            8 => (h.lat, h.lng, Some(0.0)),
            _ => (
                h.lat.map(|l| l + 0.0003),
                h.lng,
                Some(rng.gen_range(5.0..40.0)),
            ),
        };
        let (flags, distance) = check_in_flags(h.lat.zip(h.lng), lat, lng, accuracy);
        let follow_up = (i % 4 == 0).then(|| crate::reports::day_of(at + 7 * day));
        let purpose = VisitPurpose::ALL[i % VisitPurpose::ALL.len()];
        db.insert_visit(
            &VisitRecord {
                id: format!("demo-visit-{:04}", h.id),
                household_id: h.id,
                round_id: Some(round),
                visitor_id: visitor,
                visited_at: at,
                lat,
                lng,
                accuracy,
                distance_m: distance,
                flags: flags
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                purpose: purpose.as_str().into(),
                notes: Some(notes[i % notes.len()].into()),
                satisfaction: Some(
                    [
                        Satisfaction::Satisfied,
                        Satisfaction::BasicallySatisfied,
                        Satisfaction::Unsatisfied,
                    ][i % 3]
                        .as_str()
                        .into(),
                ),
                follow_up_on: follow_up.map(|d| d.to_string()),
                follow_up_due: follow_up
                    .map(|d| crate::beijing_day_start(d + chrono::Duration::days(1))),
                revision: 1,
                content_hash: format!("demo-{}", h.id),
                findings: Vec::new(),
            },
            at + 600_000,
        )
        .await?;
    }
    for week in 0..4 {
        for (j, sup) in s.supervisors.iter().enumerate() {
            let held = now - (week * 7 + 2) * day;
            db.insert_meeting(
                &MeetingRecord {
                    id: format!("demo-meeting-{week}-{j}"),
                    area_id: s.first_community,
                    supervisor_id: *sup,
                    held_at: held,
                    attended: !(week == 1 && j == 2),
                    checked: Some("检查上周交办事项办理进度和群众回访情况".into()),
                    notes: None,
                    content_hash: format!("demo-meeting-{week}-{j}"),
                },
                held,
            )
            .await?;
        }
    }
    Ok(records.len())
}

/// 民生实事 projects: the district's yearly list with two sub-projects, and two projects of
/// their own, each with 5阶段-style weighted stages, some done, one late.
async fn seed_projects(state: &AppState, s: &Seeded) -> anyhow::Result<()> {
    use crate::storage::NewProjectRecord;
    let db = &state.db;
    let areas = db.areas().await?;
    let district = areas
        .iter()
        .find(|a| a.level == "district")
        .map(|a| a.id)
        .unwrap_or(s.first_community);
    let street = areas
        .iter()
        .find(|a| a.level == "street")
        .map(|a| a.id)
        .unwrap_or(district);
    let today = state.clock.today_beijing();
    let now = state.clock.now_ms();
    let day = |d: i64| today + chrono::Duration::days(d);
    let stage = |name: &str, from: i64, to: i64, weight: f64| {
        (
            name.to_string(),
            day(from).to_string(),
            day(to).to_string(),
            crate::beijing_day_start(day(to + 1)),
            weight,
        )
    };
    let (cgj, zjj) = (s.handlers[0], s.handlers[1]);
    let make = |title: &str,
                area: i64,
                dept: (i64, i64),
                budget: f64,
                parent: Option<i64>,
                weight: f64,
                stages: Vec<(String, String, String, i64, f64)>| NewProjectRecord {
        title: title.into(),
        description: None,
        area_id: area,
        budget: Some(budget),
        department_id: dept.1,
        parent_id: parent,
        weight,
        created_by: s.dispatcher,
        stages,
    };
    let root = db
        .create_project(
            &make(
                "麒麟区2026年十件民生实事",
                district,
                cgj,
                0.0,
                None,
                1.0,
                vec![stage("统筹部署", -300, -280, 10.0)],
            ),
            now - 300 * 86_400_000,
        )
        .await?;
    let plans: Vec<(NewProjectRecord, usize)> = vec![
        (
            make(
                "南宁街道老旧小区改造",
                street,
                zjj,
                3_200_000.0,
                Some(root),
                45.0,
                vec![
                    stage("立项", -200, -180, 10.0),
                    stage("设计", -179, -150, 15.0),
                    stage("招标", -149, -120, 15.0),
                    stage("施工", -119, 40, 50.0),
                    stage("验收", 41, 60, 10.0),
                ],
            ),
            3,
        ),
        (
            make(
                "新增城市停车泊位1200个",
                district,
                cgj,
                1_800_000.0,
                Some(root),
                45.0,
                vec![
                    stage("规划选址", -150, -120, 20.0),
                    stage("建设", -119, 30, 60.0),
                    stage("验收投用", 31, 45, 20.0),
                ],
            ),
            1,
        ),
        (
            make(
                "背街小巷路灯亮化工程",
                street,
                cgj,
                650_000.0,
                None,
                1.0,
                vec![
                    stage("立项", -90, -80, 10.0),
                    stage("采购", -79, -50, 20.0),
                    stage("安装", -49, -5, 60.0),
                    stage("验收", -4, 10, 10.0),
                ],
            ),
            2,
        ),
        (
            make(
                "社区养老服务站建设",
                s.first_community,
                zjj,
                420_000.0,
                None,
                1.0,
                vec![
                    stage("立项", -40, -30, 10.0),
                    stage("选址装修", -29, 20, 60.0),
                    stage("开放运营", 21, 50, 30.0),
                ],
            ),
            1,
        ),
    ];
    for (plan, done) in plans {
        let id = db.create_project(&plan, now - 200 * 86_400_000).await?;
        let stages: Vec<_> = db
            .stages()
            .await?
            .into_iter()
            .filter(|st| st.project_id == id)
            .collect();
        let by = if plan.department_id == zjj.1 {
            zjj.0
        } else {
            cgj.0
        };
        for st in stages.iter().take(done) {
            db.set_stage(
                st,
                true,
                Some("按计划完成"),
                by,
                now - (60 - st.position) * 86_400_000,
            )
            .await?;
        }
    }
    if let Some(st) = db
        .stages()
        .await?
        .into_iter()
        .find(|st| st.project_id == root)
    {
        db.set_stage(
            &st,
            true,
            Some("已印发实施方案"),
            cgj.0,
            now - 280 * 86_400_000,
        )
        .await?;
    }
    Ok(())
}

/// Daily work reports (每日工作报备) over the last week's workdays: most cadres on time, some
/// late, some missing, and a few already filed today. The points ledger is left to the
/// worker, which counts the seeded history (cases, visits, reports, missing days) on its
/// first run.
async fn seed_reports(state: &AppState) -> anyhow::Result<usize> {
    use minsheng_model::reports::{NewReport, REPORTING_ROLES};

    const DONE: [&str; 6] = [
        "签收并办理群众诉求,现场核实问题,电话回复诉求人办理进展",
        "对超期件逐件梳理原因,协调相关科室加快办理",
        "入户走访困难群众,了解低保、医保政策落实情况",
        "参加周研判会,汇总本周诉求热点,整改销号两件",
        "受理热线转办件,分类交办至承办部门并跟踪签收",
        "巡查责任片区,排查安全隐患并拍照留档",
    ];
    const NEXT: [&str; 4] = [
        "明日继续跟进未办结诉求",
        "对不满意件开展回访",
        "完成剩余住户走访",
        "整理本周工作台账",
    ];
    let now = state.clock.now_ms();
    // The demo's history is a month long; its cadres were there for all of it.
    state.db.backdate_users(now - 31 * 86_400_000).await?;
    let cadres: Vec<_> = state
        .db
        .users()
        .await?
        .into_iter()
        .filter(|u| u.active)
        .filter_map(|u| {
            let role = Role::parse(&u.role)?;
            REPORTING_ROLES
                .contains(&role)
                .then(|| crate::auth::Principal {
                    user: u,
                    role,
                    token_hash: String::new(),
                })
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(9);
    let today = crate::reports::day_of(now);
    let calendar = crate::calendar::work_calendar(&state.db.calendar_days(None).await?);
    let mut filed = 0;
    for back in (0..=7).rev() {
        let day = today - chrono::Duration::days(back);
        if !calendar.is_workday(day) {
            continue;
        }
        let deadline = state.report_deadline(day);
        for p in &cadres {
            let roll = rng.gen_range(0..100);
            let at = if back == 0 {
                // Today: those who have filed by now.
                let at = now - rng.gen_range(0..6 * 3_600_000);
                if roll >= 40 || crate::reports::day_of(at) != today || at > deadline {
                    continue;
                }
                at
            } else if roll < 75 {
                deadline - rng.gen_range(5..8 * 60) * 60_000
            } else if roll < 88 {
                deadline + rng.gen_range(5..120) * 60_000
            } else {
                continue; // missing
            };
            let req = NewReport {
                client_request_id: format!("demo-report-{}-{day}", p.user.id),
                day: Some(minsheng_model::IsoDay(day.to_string())),
                summary: DONE.choose(&mut rng).expect("summaries").to_string(),
                plan: Some(NEXT.choose(&mut rng).expect("plans").to_string()),
            };
            crate::reports::file_report(state, p, &req, at)
                .await
                .map_err(|e| anyhow::anyhow!("seeding a report: {}", e.body().message))?;
            filed += 1;
        }
    }
    Ok(filed)
}
