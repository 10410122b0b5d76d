//! The public board's pure decisions (`cargo xtask test` runs these in headless Chromium):
//! how progress and rates read, where a stage stands, which layout a screen gets, what a
//! change on the public stream fetches again and how a burst is batched, the big screen's
//! pages, and that the board mounts without any session.
#![cfg(all(target_family = "wasm", feature = "board"))]

use chrono::{DateTime, Duration};
use minsheng_model::Status;
use minsheng_model::public::{ProjectView, PublicCase, PublicChange, StageView};
use minsheng_widgets::board::logic::{self, Batch, Dirty, Layout, StageState};
use minsheng_widgets::i18n::Lang;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn progress_reads_as_a_whole_percentage_and_only_complete_is_a_hundred() {
    assert_eq!(logic::percent(0.25), "25%");
    // 立项 10 + 设计 15 + 招标 15 of 100 done.
    assert_eq!(logic::percent((10.0 + 15.0 + 15.0) / 100.0), "40%");
    assert_eq!(logic::percent(0.4), "40%");
    assert_eq!(logic::percent(0.0), "0%");
    assert_eq!(logic::percent(1.0), "100%");
    assert_eq!(logic::percent(0.001), "1%", "something done is not 0");
    assert_eq!(logic::percent(0.998), "99%", "nearly done is not done");
    assert_eq!(logic::percent(f64::NAN), "0%");
    assert_eq!(logic::percent(1.7), "100%");
    assert_eq!(logic::percent(-0.2), "0%");
}

#[wasm_bindgen_test]
fn rates_are_percentages_or_a_dash() {
    assert_eq!(logic::rate(Some(0.923)), "92%");
    assert_eq!(logic::rate(Some(1.0)), "100%");
    assert_eq!(logic::rate(Some(0.0)), "0%");
    assert_eq!(logic::rate(None), "—");
    assert_eq!(logic::rate(Some(f64::INFINITY)), "—");
}

#[wasm_bindgen_test]
fn durations_and_overdue_days_read_in_both_languages() {
    assert_eq!(logic::duration(0.2, Lang::Zh), "不到1小时");
    assert_eq!(logic::duration(5.4, Lang::Zh), "5小时");
    assert_eq!(logic::duration(50.0, Lang::Zh), "2天2小时");
    assert_eq!(logic::duration(48.0, Lang::Zh), "2天");
    assert_eq!(logic::duration(50.0, Lang::En), "2 d 2 h");
    assert_eq!(logic::duration(3.0, Lang::En), "3 h");
    assert_eq!(logic::overdue(0.0, Lang::Zh), "未超期");
    assert_eq!(logic::overdue(0.4, Lang::Zh), "超期不足1天");
    assert_eq!(logic::overdue(3.9, Lang::Zh), "超期3天");
    assert_eq!(logic::overdue(1.2, Lang::En), "1 day overdue");
    assert_eq!(logic::overdue(4.0, Lang::En), "4 days overdue");
}

#[wasm_bindgen_test]
fn budgets_read_in_ten_thousands_or_millions() {
    let fixed = minsheng_widgets::util::fixed;
    assert_eq!(logic::budget(3_200_000.0, Lang::Zh, fixed), "320万元");
    assert_eq!(logic::budget(125_000.0, Lang::Zh, fixed), "12.5万元");
    assert_eq!(logic::budget(8_000.0, Lang::Zh, fixed), "8000元");
    assert_eq!(logic::budget(3_200_000.0, Lang::En, fixed), "¥3.2 million");
    assert_eq!(logic::budget(8_000.0, Lang::En, fixed), "¥8000");
}

fn stage(start: &str, end: &str, done: bool, late: bool) -> StageView {
    StageView {
        id: 1,
        position: 0,
        name: "施工".into(),
        planned_start: start.into(),
        planned_end: end.into(),
        weight: 50.0,
        done,
        done_at: None,
        note: None,
        late,
        photos: vec![],
    }
}

#[wasm_bindgen_test]
fn a_stage_is_done_late_current_or_planned() {
    let today = "2026-04-15";
    let s = |a, b, done, late| logic::stage_state(&stage(a, b, done, late), today);
    assert_eq!(s("2026-01-01", "2026-01-31", true, false), StageState::Done);
    // Done wins over a late flag (done late is still done).
    assert_eq!(s("2026-01-01", "2026-01-31", true, true), StageState::Done);
    assert_eq!(s("2026-01-01", "2026-01-31", false, true), StageState::Late);
    assert_eq!(
        s("2026-04-01", "2026-04-15", false, false),
        StageState::Current
    );
    assert_eq!(
        s("2026-04-15", "2026-05-31", false, false),
        StageState::Current
    );
    assert_eq!(
        s("2026-05-01", "2026-05-31", false, false),
        StageState::Planned
    );
    assert_eq!(StageState::Done.mark(), "✓");
    assert_eq!(StageState::Late.label(Lang::En), "Late");
    assert_eq!(logic::month_day("2026-01-05"), "01-05");
    assert_eq!(logic::month_day("soon"), "soon");
}

#[wasm_bindgen_test]
fn the_layout_follows_the_query_then_the_viewport() {
    assert_eq!(logic::choose_layout(None, 360.0), Layout::Phone);
    assert_eq!(logic::choose_layout(None, 1279.0), Layout::Phone);
    assert_eq!(logic::choose_layout(None, 1280.0), Layout::Screen);
    assert_eq!(logic::choose_layout(None, 1920.0), Layout::Screen);
    assert_eq!(logic::choose_layout(Some("screen"), 360.0), Layout::Screen);
    assert_eq!(logic::choose_layout(Some("SCREEN"), 360.0), Layout::Screen);
    assert_eq!(logic::choose_layout(Some("phone"), 1920.0), Layout::Phone);
    assert_eq!(
        logic::choose_layout(Some("nonsense"), 1920.0),
        Layout::Screen
    );
}

fn change(what: &str) -> PublicChange {
    PublicChange {
        what: what.into(),
        tracking_no: (what == "case").then(|| "MS20260101-0001".into()),
        project_id: (what == "project").then_some(7),
    }
}

#[wasm_bindgen_test]
fn a_change_fetches_what_it_touches() {
    let case = Dirty::from_change(&change("case"));
    assert!(case.cases && case.circulars && !case.projects && !case.rankings);
    let project = Dirty::from_change(&change("project"));
    assert!(project.projects && !project.cases && !project.circulars);
    assert!(
        !case.reports && !case.points,
        "the safety net fetches those"
    );
    assert_eq!(
        Dirty::from_change(&change("")),
        Dirty::ALL,
        "unknown: everything"
    );
    assert_eq!(
        case.union(project),
        Dirty {
            cases: true,
            circulars: true,
            rankings: false,
            projects: true,
            reports: false,
            points: false,
        }
    );
    assert!(!Dirty::default().any());
}

#[wasm_bindgen_test]
fn a_burst_of_changes_is_fetched_once_and_the_next_burst_starts_again() {
    let mut b = Batch::default();
    assert!(!b.add(Dirty::default()), "nothing dirty starts nothing");
    assert!(
        b.add(Dirty::from_change(&change("case"))),
        "the first starts the timer"
    );
    assert!(!b.add(Dirty::from_change(&change("case"))));
    assert!(!b.add(Dirty::from_change(&change("project"))));
    let d = b.take();
    assert!(d.cases && d.circulars && d.projects && !d.rankings);
    assert_eq!(b.take(), Dirty::default(), "taken once");
    assert!(b.add(Dirty::from_change(&change("project"))), "a new burst");
}

#[wasm_bindgen_test]
fn a_days_reports_are_counted_by_status_and_points_carry_their_sign() {
    use minsheng_model::reports::ReportStatus::*;
    assert_eq!(
        logic::report_counts([OnTime, OnTime, Late, Missing, Pending, OnTime]),
        (3, 1, 1, 1)
    );
    assert_eq!(logic::report_counts([]), (0, 0, 0, 0));
    assert_eq!(logic::report_status(Late, Lang::Zh), "迟报");
    assert_eq!(logic::report_status(Pending, Lang::En), "Not yet due");
    assert!(logic::report_rank(Late) == logic::report_rank(OnTime));
    assert!(logic::report_rank(OnTime) < logic::report_rank(Missing));
    assert!(logic::report_rank(Missing) < logic::report_rank(Pending));
    assert_eq!(logic::signed(12), "+12");
    assert_eq!(logic::signed(-3), "-3");
    assert_eq!(logic::signed(0), "0");
}

fn case(no: &str, minutes_ago: i64) -> PublicCase {
    let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    PublicCase {
        tracking_no: no.into(),
        category_name: "路灯损坏".into(),
        area_name: Some("麻黄社区".into()),
        street_name: Some("南宁街道".into()),
        department_name: Some("城管局".into()),
        joint_departments: vec![],
        status: Status::Resolved,
        summary: "路灯坏了".into(),
        created_at: now - Duration::minutes(minutes_ago),
        resolved_at: None,
        closed_at: None,
        hours_taken: 2.0,
        satisfaction: None,
        stars: None,
        escalation_level: 0,
        steps: vec![],
        photos: vec![],
    }
}

#[wasm_bindgen_test]
fn a_refetched_first_page_keeps_the_older_cases_loaded_beyond_it() {
    assert_eq!(logic::refetch_limit(0), 20);
    assert_eq!(logic::refetch_limit(40), 40);
    assert_eq!(logic::refetch_limit(120), 50);
    // Two pages loaded, newest first; then a new case comes in and the first page is
    // fetched again (limit 3 here): it ends at "b", so "a", "z" and "y" stay below it.
    let old = vec![
        case("c", 1),
        case("b", 2),
        case("a", 3),
        case("z", 10),
        case("y", 11),
    ];
    let fresh = vec![case("new", 0), case("c", 1), case("b", 2)];
    let merged = logic::merge_first_page(fresh.clone(), &old, true);
    let nos: Vec<&str> = merged.iter().map(|c| c.tracking_no.as_str()).collect();
    assert_eq!(nos, ["new", "c", "b", "a", "z", "y"]);
    // The fresh page was the last one: it is the whole list.
    let merged = logic::merge_first_page(fresh, &old, false);
    assert_eq!(merged.len(), 3);
}

#[wasm_bindgen_test]
fn the_big_screen_pages_through_a_list() {
    assert_eq!(logic::page_window(0, 3, 5), (0, 0, 0, 1));
    assert_eq!(logic::page_window(2, 3, 5), (0, 2, 0, 1));
    assert_eq!(logic::page_window(7, 3, 0), (0, 3, 0, 3));
    assert_eq!(logic::page_window(7, 3, 1), (3, 6, 1, 3));
    assert_eq!(logic::page_window(7, 3, 2), (6, 7, 2, 3));
    assert_eq!(logic::page_window(7, 3, 3), (0, 3, 0, 3), "and round again");
    assert_eq!(
        logic::page_window(4, 0, 1),
        (1, 2, 1, 4),
        "at least one per page"
    );
}

fn project(id: i64, children: Vec<ProjectView>) -> ProjectView {
    ProjectView {
        id,
        title: format!("项目{id}"),
        description: None,
        area_id: 1,
        area_name: "麒麟区".into(),
        budget: None,
        department_id: 1,
        department_name: "住建局".into(),
        parent_id: None,
        weight: 1.0,
        progress: 0.25,
        stages: vec![],
        children,
        updated_at: DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
        leader_id: None,
        leader_name: None,
        leader_taken_at: None,
    }
}

#[wasm_bindgen_test]
fn sub_projects_follow_their_parent_one_level_deeper() {
    let tree = vec![
        project(
            1,
            vec![project(2, vec![project(3, vec![])]), project(4, vec![])],
        ),
        project(5, vec![]),
    ];
    let rows: Vec<(i64, usize)> = logic::flatten(&tree)
        .into_iter()
        .map(|(p, d)| (p.id, d))
        .collect();
    assert_eq!(rows, [(1, 0), (2, 1), (3, 2), (4, 1), (5, 0)]);
}

#[wasm_bindgen_test]
async fn the_board_mounts_without_any_session() {
    let doc = web_sys::window().unwrap().document().unwrap();
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .remove_item("minsheng.token")
        .unwrap();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    minsheng_widgets::mount("board", root.clone()).unwrap();
    for _ in 0..3 {
        yew::scheduler::flush().await;
    }
    assert!(
        root.query_selector("#ms-board #ms-board-projects")
            .unwrap()
            .is_some(),
        "{}",
        root.inner_html()
    );
    assert!(
        root.query_selector("form.ms-login").unwrap().is_none(),
        "no sign-in on the public board"
    );
    root.remove();
}
