//! The desk's 走访覆盖 tab: the query the report and its export share, the workbook's name
//! and how a rate reads (`cargo xtask test` runs these in headless Chromium).
#![cfg(all(target_family = "wasm", feature = "dispatch"))]

use minsheng_widgets::dispatch::coverage::{self, GroupBy};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn the_report_and_its_export_ask_for_the_same_round_and_grouping() {
    assert_eq!(
        coverage::query(Some(7), GroupBy::Supervisor),
        "round_id=7&group_by=supervisor"
    );
    assert_eq!(
        coverage::query(None, GroupBy::Community),
        "group_by=community"
    );
    for g in GroupBy::ALL {
        assert_eq!(GroupBy::parse(g.as_str()), Some(g));
    }
    assert_eq!(GroupBy::parse("street"), None);
}

#[wasm_bindgen_test]
fn the_workbook_is_named_after_its_round_without_unsafe_characters() {
    assert_eq!(
        coverage::file_name("第一轮入户走访", GroupBy::Community),
        "走访覆盖-第一轮入户走访-community.xlsx"
    );
    assert_eq!(
        coverage::file_name("2026/03 第二轮: 麻黄?", GroupBy::Responsible),
        "走访覆盖-2026_03 第二轮_ 麻黄_-responsible.xlsx"
    );
}

#[wasm_bindgen_test]
fn a_rate_is_a_whole_percentage_or_a_dash() {
    assert_eq!(coverage::rate(Some(0.5)), "50%");
    assert_eq!(coverage::rate(Some(2.0 / 3.0)), "67%");
    assert_eq!(coverage::rate(None), "—");
}
