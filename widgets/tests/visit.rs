//! The visit widget's outbox and forms (`cargo xtask test` runs these in headless Chromium).
//! The outbox is what keeps a supervisor's work when the signal drops: every answered record
//! leaves it, nothing else does, and an id never changes between attempts.
#![cfg(all(target_family = "wasm", feature = "visit"))]

use chrono::DateTime;
use minsheng_model::visits::{
    HouseholdView, RoundView, SyncResult, SyncStatus, VisitFlag, VisitInput, VisitPurpose,
};
use minsheng_widgets::visit::form::{self, FindingDraft, Fix, VisitDraft};
use minsheng_widgets::visit::outbox::Outbox;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const NOW: i64 = 1_780_000_000_000;

fn visit(id: &str, household: i64) -> VisitInput {
    VisitDraft {
        purpose: Some(VisitPurpose::PolicyCheck),
        ..VisitDraft::default()
    }
    .to_input(
        id,
        household,
        Some(1),
        DateTime::from_timestamp_millis(NOW).unwrap(),
        Some(Fix {
            lat: 25.49,
            lng: 103.79,
            accuracy: Some(12.0),
        }),
    )
}

fn result(id: &str, status: SyncStatus) -> SyncResult {
    SyncResult {
        id: id.into(),
        status,
        code: (status == SyncStatus::Rejected).then(|| "household_out_of_area".into()),
        message: (status == SyncStatus::Rejected).then(|| "不在您负责的社区".into()),
        flags: if status == SyncStatus::Accepted {
            vec![VisitFlag::FarFromHousehold]
        } else {
            vec![]
        },
        case_ids: vec![],
    }
}

#[wasm_bindgen_test]
fn saved_visits_wait_in_order_and_a_second_save_of_the_same_id_replaces_it() {
    let mut o = Outbox::default();
    o.enqueue(visit("visit-aaaa", 1), "麻黄巷 1 号".into(), NOW, vec![]);
    o.enqueue(
        visit("visit-bbbb", 2),
        "麻黄巷 2 号".into(),
        NOW + 1,
        vec![],
    );
    let mut again = visit("visit-aaaa", 1);
    again.notes = Some("补充".into());
    o.enqueue(
        again,
        "麻黄巷 1 号".into(),
        NOW + 2,
        vec!["photo-1234".into()],
    );
    assert_eq!(o.waiting(), 2);
    let batch = o.batch(100);
    assert_eq!(
        batch.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        ["visit-aaaa", "visit-bbbb"]
    );
    assert_eq!(batch[0].notes.as_deref(), Some("补充"));
    assert_eq!(batch[0].revision, Some(1));
    assert_eq!(o.pending[0].queued_at, NOW, "queued when first saved");
    assert_eq!(o.pending[0].photos, ["photo-1234"]);
    assert!(o.waits_for(1) && o.waits_for(2) && !o.waits_for(3));
    assert_eq!(o.batch(1).len(), 1);
}

#[wasm_bindgen_test]
fn answered_records_leave_the_queue_with_their_flags_and_messages() {
    let mut o = Outbox::default();
    o.enqueue(
        visit("visit-aaaa", 1),
        "1 号".into(),
        NOW,
        vec!["photo-1".into()],
    );
    o.enqueue(
        visit("visit-bbbb", 2),
        "2 号".into(),
        NOW,
        vec!["photo-2".into()],
    );
    o.enqueue(visit("visit-cccc", 3), "3 号".into(), NOW, vec![]);
    let sent = o.batch(100);
    // A visit saved while the batch travels is not in the answer, and must stay.
    o.enqueue(visit("visit-dddd", 4), "4 号".into(), NOW, vec![]);
    let applied = o.apply(
        &sent,
        &[
            result("visit-aaaa", SyncStatus::Accepted),
            result("visit-bbbb", SyncStatus::Rejected),
            result("visit-cccc", SyncStatus::Accepted),
        ],
        NOW + 10,
    );
    assert_eq!((applied.accepted, applied.rejected), (2, 1));
    assert_eq!(o.waiting(), 1);
    assert_eq!(o.pending[0].record.id, "visit-dddd");
    let a = o.done.iter().find(|d| d.id == "visit-aaaa").unwrap();
    assert_eq!(a.flags, [VisitFlag::FarFromHousehold]);
    assert_eq!(a.photos, ["photo-1"], "photos go up once accepted");
    assert_eq!(a.label, "1 号");
    let b = o.done.iter().find(|d| d.id == "visit-bbbb").unwrap();
    assert_eq!(b.status, SyncStatus::Rejected);
    assert_eq!(b.message.as_deref(), Some("不在您负责的社区"));
    assert!(b.photos.is_empty(), "a rejected visit takes no photos");
    assert!(o.accepted_for(1) && !o.accepted_for(2));

    // Replayed (the answer was lost, the batch resent): one outcome per id, not two.
    o.apply(
        &sent[..1],
        &[result("visit-aaaa", SyncStatus::Accepted)],
        NOW + 20,
    );
    assert_eq!(o.done.iter().filter(|d| d.id == "visit-aaaa").count(), 1);
    o.dismiss("visit-bbbb");
    assert!(o.done.iter().all(|d| d.id != "visit-bbbb"));
}

#[wasm_bindgen_test]
fn a_failed_attempt_keeps_everything_with_the_same_ids() {
    let mut o = Outbox::default();
    o.enqueue(visit("visit-aaaa", 1), "1 号".into(), NOW, vec![]);
    o.enqueue(visit("visit-bbbb", 2), "2 号".into(), NOW, vec![]);
    let first = o.batch(100);
    o.failed("网络不稳定".into());
    assert_eq!(o.waiting(), 2);
    assert_eq!(o.last_error.as_deref(), Some("网络不稳定"));
    // An empty or unrelated answer changes nothing either.
    o.apply(&first, &[], NOW);
    o.apply(&first, &[result("visit-zzzz", SyncStatus::Accepted)], NOW);
    assert_eq!(o.waiting(), 2);
    assert_eq!(o.batch(100), first, "the retry sends the very same records");
    // It survives the trip through localStorage's JSON.
    let back: Outbox<VisitInput> =
        serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
    assert_eq!(back, o);
    // A refusal of the record alone marks it rejected.
    o.refuse(&first[1], Some("invalid".into()), "编号无效".into(), NOW);
    assert_eq!(o.waiting(), 1);
    assert_eq!(o.done[0].status, SyncStatus::Rejected);
}

#[wasm_bindgen_test]
fn the_form_points_at_the_field_and_the_finding_row_the_server_would_refuse() {
    let mut d = VisitDraft::default();
    let at = DateTime::from_timestamp_millis(NOW).unwrap();
    let input = d.to_input("visit-aaaa", 1, None, at, None);
    let p = d.check(&input, NOW);
    assert!(p.field("purpose").is_some(), "{p:?}");
    assert_eq!(
        input.lat, None,
        "no fix: saved anyway, flagged by the server"
    );

    d.purpose = Some(VisitPurpose::Hazard);
    d.follow_up_on = "2020-01-01".into();
    d.findings = vec![
        FindingDraft {
            id: "finding-1".into(),
            text: "楼道灭火器过期，需要更换".into(),
            raise_case: true,
            category_id: Some(3),
        },
        FindingDraft {
            id: "finding-2".into(),
            text: "电动车在楼道充电".into(),
            raise_case: true,
            category_id: None,
        },
    ];
    let input = d.to_input("visit-aaaa", 1, None, at, None);
    let p = d.check(&input, NOW);
    assert_eq!(
        p.field("follow_up_on").map(|e| e.code),
        Some("before_visit")
    );
    assert!(p.finding(0).is_none(), "{p:?}");
    assert_eq!(p.finding(1).map(|e| e.field), Some("findings.category_id"));

    d.follow_up_on = String::new();
    d.findings[1].raise_case = false;
    let input = d.to_input("visit-aaaa", 1, None, at, None);
    assert!(d.check(&input, NOW).is_empty());
    let f = input.findings.as_ref().unwrap();
    assert_eq!(f[1].category_id, None, "no category without a case");
    assert_eq!(f[0].raise_case, Some(true));
    assert!(minsheng_model::visits::visit(&input, NOW).is_ok());
}

fn round(id: i64, from: &str, to: &str) -> RoundView {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": format!("第{id}轮"), "area_id": 1, "area_name": "麻黄社区",
        "starts_on": from, "due_on": to, "households": 10, "visited": 0,
        "created_at": "2026-01-01T00:00:00Z",
    }))
    .unwrap()
}

#[wasm_bindgen_test]
fn the_round_in_progress_is_chosen_else_the_newest() {
    let rounds = vec![
        round(3, "2026-07-01", "2026-07-31"),
        round(2, "2026-05-01", "2026-06-30"),
        round(1, "2026-01-01", "2026-03-31"),
    ];
    assert_eq!(form::default_round(&rounds, "2026-06-30"), Some(2));
    assert_eq!(form::default_round(&rounds, "2026-07-01"), Some(3));
    assert_eq!(form::default_round(&rounds, "2026-04-15"), Some(3));
    assert_eq!(form::default_round(&[], "2026-04-15"), None);
}

#[wasm_bindgen_test]
fn households_are_found_by_address_name_or_tag() {
    let h: HouseholdView = serde_json::from_value(serde_json::json!({
        "id": 1, "area_id": 5, "area_name": "麻黄第一网格", "community_id": 4,
        "community_name": "麻黄社区", "address": "麻黄巷 3 号", "head_name": "李*英",
        "phone": null, "masked": true, "members": 1, "tags": ["独居老人", "低保"],
        "lat": 25.49, "lng": 103.79, "responsible_user_id": null, "responsible_name": null,
        "last_visit_at": null, "visited_in_round": false,
    }))
    .unwrap();
    for q in ["", "麻黄巷", "独居", "李", "3 号", "麻黄 低保"] {
        assert!(form::matches(&h, q), "{q}");
    }
    for q in ["寥廓", "残疾", "麻黄 残疾"] {
        assert!(!form::matches(&h, q), "{q}");
    }
    let mut flat = h.clone();
    flat.address = "幸福小区 B 栋 302".into();
    assert!(
        form::matches(&flat, "b 栋"),
        "Latin letters match in either case"
    );
    assert!(form::matches(&flat, "B 302") && !form::matches(&flat, "c 栋"));
    assert_eq!(
        form::communities(&[h.clone(), h], &[]),
        vec![(4, "麻黄社区".to_string())]
    );
}

fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// Waits (polling, never a fixed sleep) until `done` holds, for at most five seconds.
async fn until(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        yew::scheduler::flush().await;
        if done() {
            return true;
        }
        let p = js_sys::Promise::new(&mut |resolve, _| {
            let _ = web_sys::window()
                .unwrap()
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 50);
        });
        wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
    }
    false
}

#[wasm_bindgen_test]
async fn a_queued_visit_still_waits_after_a_restart_without_the_server() {
    // No server behind the test page: the widget must start from what the phone kept.
    let s = storage();
    s.set_item("minsheng.token", "test-token").unwrap();
    s.set_item(
        "minsheng.visit.me",
        &serde_json::json!({ "token": "test-token", "user": {
            "id": 7, "username": "sup", "display_name": "监督员", "role": "supervisor",
            "department_id": null, "area_id": 4, "active": true,
        } })
        .to_string(),
    )
    .unwrap();
    let mut o = Outbox::default();
    o.enqueue(visit("visit-kept-1", 1), "麻黄巷 1 号".into(), NOW, vec![]);
    s.set_item(
        &minsheng_widgets::visit::key("visits", 7),
        &serde_json::to_string(&o).unwrap(),
    )
    .unwrap();

    let doc = web_sys::window().unwrap().document().unwrap();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    minsheng_widgets::mount("visit", root.clone()).unwrap();
    let shown = until(|| {
        root.query_selector("#ms-pending-count[data-count=\"1\"]")
            .unwrap()
            .is_some()
    })
    .await;
    assert!(shown, "{}", root.inner_html());
    // The failed attempts changed nothing in the outbox but the error it remembers.
    let kept: Outbox<VisitInput> = serde_json::from_str(
        &s.get_item(&minsheng_widgets::visit::key("visits", 7))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(kept.batch(100), o.batch(100));
    root.remove();
    s.remove_item(&minsheng_widgets::visit::key("visits", 7))
        .unwrap();
    s.remove_item("minsheng.visit.me").unwrap();
}
