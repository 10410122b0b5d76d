//! The admin console (`/w/admin`) in headless Chromium, as a county sets itself up: from an
//! empty database made by `minsheng migrate` and one admin made by `minsheng create-user`, the
//! admin builds the area tree, imports its boundaries, adds a department, a category, a
//! handler and a supervisor, and imports households (a bad file first); a resident's
//! complaint then lands in the new community and the new department's queue, the audit log
//! lists every change, and the public board shows the duty card. Once in Chinese on a desk
//! (1280 px), once in English on a phone (360 px). The Chinese run also writes the README's
//! walkthrough screenshots, `docs/screenshots/admin-*.png`.

use std::path::{Path, PathBuf};
use std::process::Command;

use minsheng_tests::{Backend, PASSWORD, spawn_app_on};
use serde_json::{Value, json};

use super::browser::{Browser, widgets_dir};

/// The `minsheng` binary of this build (`cargo build -p minsheng-server --bin minsheng`).
fn binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("minsheng");
    bin.exists().then_some(bin)
}

fn minsheng(bin: &Path, db: &str, data: &Path, args: &[&str]) {
    let out = Command::new(bin)
        .args(args)
        .env("DATABASE_URL", db)
        .env("MINSHENG_DATA_DIR", data)
        .env("MINSHENG_LOG", "warn")
        .output()
        .expect("run minsheng");
    assert!(
        out.status.success(),
        "minsheng {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .canonicalize()
        .expect("fixture")
}

/// The household file as a community keeps it; `bad` puts one row in a grid that does not exist.
fn household_csv(dir: &Path, bad: bool) -> PathBuf {
    let third = if bad { "CD99" } else { "CD01" };
    let csv = format!(
        "地址,网格,户主,电话,人口,标签\n\
         幸福路1号,CD01,张三,13800000001,3,独居老人\n\
         幸福路2号,{third},李四,13800000002,2,低保\n\
         幸福路3号,幸福社区,王五,13800000003,4,\n"
    );
    let path = dir.join(if bad {
        "households-bad.csv"
    } else {
        "households.csv"
    });
    std::fs::write(&path, csv).expect("write csv");
    path
}

/// One run of the console in a language and at a width.
struct Run {
    en: bool,
    /// Screenshot names start with this (`admin-zh-1280`).
    prefix: String,
    /// Also write the README's screenshots.
    docs: bool,
}

impl Run {
    fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        if self.en { en } else { zh }
    }

    async fn shot(&self, b: &Browser, step: &str, scroll_to: &str) {
        b.js(&format!(
            "const e = document.querySelector({}); if (e) e.scrollIntoView({{block: 'start'}});",
            json!(scroll_to)
        ))
        .await;
        let path = b.screenshot(&format!("{}-{step}", self.prefix)).await;
        if self.docs {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
            std::fs::create_dir_all(&docs).expect("docs/screenshots");
            std::fs::copy(&path, docs.join(format!("admin-{step}.png"))).expect("copy screenshot");
        }
    }
}

async fn select(b: &Browser, css: &str, value: &str) {
    b.wait_for(&format!("{css} option[value=\"{value}\"]"))
        .await;
    b.find(css)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
}

async fn file(b: &Browser, css: &str, path: &Path) {
    b.wait_for(css)
        .await
        .send_keys(&path.to_string_lossy())
        .await
        .unwrap_or_else(|e| panic!("choose {} in {css}: {e}", path.display()));
}

/// Fills row `row` of the project's stages (name, start, end, weight), one input at a time as
/// a person would (each change re-renders the list before the next).
async fn set_stage(b: &Browser, row: usize, values: [&str; 4]) {
    b.wait_for(&format!("#ms-stages tbody tr:nth-child({})", row + 1))
        .await;
    for (i, v) in values.iter().enumerate() {
        b.js(&format!(
            "const el = document.querySelectorAll('#ms-stages tbody tr')[{row}].querySelectorAll('input')[{i}];
             el.value = {v}; el.dispatchEvent(new Event('change', {{ bubbles: true }}));",
            v = json!(v)
        ))
        .await;
    }
}

fn by_code(list: &Value, code: &str) -> i64 {
    list.as_array()
        .and_then(|l| l.iter().find(|a| a["code"] == json!(code)))
        .and_then(|a| a["id"].as_i64())
        .unwrap_or_else(|| panic!("no {code} in {list}"))
}

async fn set_up_a_county(test: &str, run: Run, browser: Option<Browser>) {
    let Some(dist) = widgets_dir() else {
        minsheng_tests::skip(
            test,
            "no built widgets (run `cargo xtask widgets` or set MINSHENG_WIDGETS_DIR)",
        );
        return;
    };
    let Some(b) = browser else { return };
    let Some(bin) = binary() else {
        minsheng_tests::skip(
            test,
            "the minsheng binary is not built (cargo build -p minsheng-server --bin minsheng)",
        );
        return;
    };

    // An empty county: `minsheng migrate`, one admin, and one resident to complain later.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/county.db", dir.path().display());
    let data = dir.path().join("data");
    minsheng(&bin, &db, &data, &["migrate"]);
    minsheng(
        &bin,
        &db,
        &data,
        &[
            "create-user",
            "--role",
            "admin",
            "--username",
            "admin",
            "--password",
            PASSWORD,
        ],
    );
    minsheng(
        &bin,
        &db,
        &data,
        &[
            "create-user",
            "--role",
            "resident",
            "--username",
            "resident",
            "--password",
            PASSWORD,
        ],
    );
    let (db_url, data_dir) = (db.clone(), data.clone());
    let app = spawn_app_on(&Backend::Sqlite, move |c| {
        c.database_url = db_url;
        c.data_dir = data_dir;
        c.widgets_dir = dist;
    })
    .await;
    let admin = app.login("admin", PASSWORD).await;
    let areas = app.get("/api/v1/areas", &admin).await.expect(200);
    assert_eq!(areas, json!([]), "the county starts empty");
    let q = if run.en { "?lang=en" } else { "" };

    // Sign in to the console.
    b.goto(&format!("{}/w/admin{q}", app.base)).await;
    b.type_into("form.ms-login input[name=username]", "admin")
        .await;
    b.type_into("form.ms-login input[name=password]", PASSWORD)
        .await;
    b.click("form.ms-login button[type=submit]").await;
    b.wait_for("#ms-areas-empty").await;
    b.wait_for("#ms-tab-audit").await;
    run.shot(&b, "areas-empty", "body").await;

    // 区域: the district, a street under it, a community under that. An empty form names
    // its missing fields.
    b.click("#ms-area-new").await;
    b.click("#ms-area-form button[type=submit]").await;
    b.wait_for("#ms-area-form #ms-err-code").await;
    b.wait_for("#ms-area-form #ms-err-name").await;
    run.shot(&b, "area-form-errors", "#ms-area-form").await;
    b.wait_for("#ms-area-form select[name=level] option[value=district]:checked")
        .await;
    b.type_into("#ms-area-form input[name=code]", "CDQ").await;
    b.type_into("#ms-area-form input[name=name]", "城东区")
        .await;
    b.click("#ms-area-form button[type=submit]").await;
    b.click("#ms-area-tree li[data-code=CDQ] [data-action=add-child]")
        .await;
    b.wait_for("#ms-area-form select[name=level] option[value=street]:checked")
        .await;
    b.type_into("#ms-area-form input[name=code]", "CD").await;
    b.type_into("#ms-area-form input[name=name]", "城东街道")
        .await;
    b.click("#ms-area-form button[type=submit]").await;
    b.wait_for("#ms-area-tree li[data-code=CD]").await;
    b.click("#ms-area-tree li[data-code=CD] [data-action=add-child]")
        .await;
    b.wait_for("#ms-area-form select[name=level] option[value=community]:checked")
        .await;
    b.type_into("#ms-area-form input[name=code]", "CD01").await;
    b.type_into("#ms-area-form input[name=name]", "幸福社区")
        .await;
    b.click("#ms-area-form button[type=submit]").await;
    b.wait_for("#ms-area-tree li[data-code=CD01] .ms-no-boundary")
        .await;
    let areas = app.get("/api/v1/areas", &admin).await.expect(200);
    let (street, community) = (by_code(&areas, "CD"), by_code(&areas, "CD01"));
    assert_eq!(
        areas
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == json!(community))
            .unwrap()["parent_id"],
        json!(street)
    );

    // Until then, every area is listed as lacking a boundary.
    b.wait_for("#ms-boundary-missing li[data-code=CD01]").await;
    // Boundaries: the dry run is drawn and its unusable feature listed; nothing is stored yet.
    file(&b, "#ms-geojson-file", &fixture("admin-boundaries.geojson")).await;
    b.wait_for("#ms-boundary-preview .ms-incoming path[data-code=CD01]")
        .await;
    b.wait_for("#ms-boundary-unmatched tr[data-reason=unknown_code]")
        .await;
    // After this import no area would lack a boundary.
    b.wait_for("#ms-missing-none").await;
    run.shot(&b, "boundaries-preview", "#ms-boundary-import")
        .await;
    let areas = app.get("/api/v1/areas", &admin).await.expect(200);
    assert!(
        areas
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["boundary"].is_null()),
        "a preview stores nothing: {areas}"
    );
    b.click("#ms-boundary-save").await;
    b.wait_for("#ms-boundary-saved").await;
    b.wait_for("#ms-area-tree li[data-code=CD01]:not(:has(.ms-no-boundary))")
        .await;
    b.wait_for("#ms-missing-none").await;
    run.shot(&b, "areas", "body").await;

    // 部门: a department with its duty card.
    b.click("#ms-tab-departments").await;
    b.click("#ms-department-new").await;
    b.type_into("#ms-department-form input[name=code]", "WATER")
        .await;
    b.type_into("#ms-department-form input[name=name]", "城东水务站")
        .await;
    select(&b, "#ms-department-form select[name=kind]", "stationed").await;
    select(
        &b,
        "#ms-department-form select[name=area_id]",
        &street.to_string(),
    )
    .await;
    b.type_into(
        "#ms-department-form textarea[name=\"duty.handles\"]",
        "供水、停水、水压不足、管道漏水",
    )
    .await;
    b.type_into("#ms-department-form input[name=\"duty.post\"]", "站长")
        .await;
    b.type_into(
        "#ms-department-form input[name=\"duty.phone\"]",
        "0571-86000000",
    )
    .await;
    b.type_into(
        "#ms-department-form input[name=\"duty.hours\"]",
        "工作日 8:30–17:30",
    )
    .await;
    run.shot(&b, "department-form", "#ms-department-form").await;
    b.click("#ms-department-form button[type=submit]").await;
    b.wait_for("#ms-department-list tr[data-id]").await;
    let departments = app.get("/api/v1/departments", &admin).await.expect(200);
    let water = by_code(&departments, "WATER");
    run.shot(&b, "departments", "body").await;

    // 类别: a category whose cases go to that department.
    b.click("#ms-tab-categories").await;
    b.click("#ms-category-new").await;
    b.type_into("#ms-category-form input[name=code]", "water")
        .await;
    b.type_into("#ms-category-form input[name=name]", "供水问题")
        .await;
    select(&b, "#ms-category-form select[name=tier]", "utility").await;
    select(
        &b,
        "#ms-category-form select[name=default_department_id]",
        &water.to_string(),
    )
    .await;
    b.click("#ms-category-form button[type=submit]").await;
    b.wait_for("#ms-category-list tr[data-id]").await;
    let categories = app.get("/api/v1/categories", &admin).await.expect(200);
    let category = by_code(&categories, "water");
    run.shot(&b, "categories", "body").await;

    // 用户: a handler (a too-short password is refused beside its field) and a supervisor.
    b.click("#ms-tab-users").await;
    b.click("#ms-user-new").await;
    b.type_into("#ms-user-form input[name=username]", "shuiwu")
        .await;
    b.type_into("#ms-user-form input[name=password]", "short")
        .await;
    b.type_into("#ms-user-form input[name=display_name]", "水务 周师傅")
        .await;
    select(&b, "#ms-user-form select[name=role]", "handler").await;
    select(
        &b,
        "#ms-user-form select[name=department_id]",
        &water.to_string(),
    )
    .await;
    b.click("#ms-user-form button[type=submit]").await;
    b.wait_for("#ms-user-form #ms-err-password").await;
    run.shot(&b, "user-form-error", "#ms-user-form").await;
    b.type_into("#ms-user-form input[name=password]", "-and-long-enough")
        .await;
    b.click("#ms-user-form button[type=submit]").await;
    b.wait_for("#ms-user-list tr[data-username=shuiwu]").await;
    b.click("#ms-user-new").await;
    b.type_into("#ms-user-form input[name=username]", "jiandu")
        .await;
    b.type_into("#ms-user-form input[name=password]", PASSWORD)
        .await;
    b.type_into("#ms-user-form input[name=display_name]", "监督员 陈")
        .await;
    select(&b, "#ms-user-form select[name=role]", "supervisor").await;
    select(
        &b,
        "#ms-user-form select[name=area_id]",
        &community.to_string(),
    )
    .await;
    b.click("#ms-user-form button[type=submit]").await;
    b.wait_for("#ms-user-list tr[data-username=jiandu]").await;
    run.shot(&b, "users", "body").await;

    // 住户: a file with one bad row shows that row and stores nothing; the fixed file imports.
    b.click("#ms-tab-households").await;
    b.wait_for("#ms-household-total").await;
    file(&b, "#ms-household-file", &household_csv(dir.path(), true)).await;
    b.wait_for("#ms-import-errors tr[data-row=\"3\"]").await;
    let errors = b.text("#ms-import-errors").await;
    assert!(
        errors.contains("CD99") || errors.contains("网格"),
        "{errors}"
    );
    run.shot(&b, "households-errors", "#ms-household-import")
        .await;
    let stored = app.get("/api/v1/households", &admin).await.expect(200);
    assert_eq!(stored["total"], json!(0), "a dry run stores nothing");
    file(&b, "#ms-household-file", &household_csv(dir.path(), false)).await;
    b.click("#ms-import-go").await;
    b.wait_for("#ms-household-list tr[data-id]:nth-child(3)")
        .await;
    let stored = app.get("/api/v1/households", &admin).await.expect(200);
    assert_eq!(stored["total"], json!(3), "{stored}");
    run.shot(&b, "households", "body").await;

    // A resident complains at a point inside the new community: it lands there, and in the
    // new department's queue once assigned.
    let resident = app.login("resident", PASSWORD).await;
    let case = app
        .post(
            "/api/v1/cases",
            &resident,
            json!({
                "client_request_id": format!("admin-e2e-{}", run.prefix),
                "category_id": category,
                "description": "幸福路停水两天了，一直没有来水",
                "lat": 30.24, "lng": 120.14,
            }),
        )
        .await
        .expect(201);
    assert_eq!(case["area_id"], json!(community), "{case}");
    let id = case["id"].as_i64().expect("case id");
    app.act(&admin, id, json!({"action": "accept"}))
        .await
        .expect(200);
    app.act(
        &admin,
        id,
        json!({"action": "assign", "department_id": water}),
    )
    .await
    .expect(200);
    let handler = app.login("shuiwu", "short-and-long-enough").await;
    let queue = app.get("/api/v1/cases", &handler).await.expect(200);
    assert!(
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == json!(id)),
        "the case is in the new department's queue: {queue}"
    );

    // 轮次·积分·密钥: an API key for the 12345 hotline is shown once, then revoked.
    b.click("#ms-tab-more").await;
    b.type_into("#ms-key-form input[name=name]", "hotline-12345")
        .await;
    b.click("#ms-key-form button[type=submit]").await;
    let key = b.text("#ms-key-issued .ms-secret").await;
    assert!(key.starts_with("o311_"), "{key}");
    b.wait_for("#ms-key-list li[data-name=hotline-12345] [data-action=revoke]")
        .await;
    run.shot(&b, "api-key", "#ms-key-issued").await;
    b.click("#ms-key-list li[data-name=hotline-12345] [data-action=revoke]")
        .await;
    b.wait_for("#ms-key-list li[data-name=hotline-12345] .ms-tag")
        .await;

    // A 民生实事 project with one stage, then edited to add a second (kept stages stay).
    set_stage(&b, 0, ["入户摸排", "2026-01-05", "2026-01-31", "1"]).await;
    b.type_into("#ms-project-form input[name=title]", "幸福社区老旧管网改造")
        .await;
    select(
        &b,
        "#ms-project-form select[name=area_id]",
        &community.to_string(),
    )
    .await;
    select(
        &b,
        "#ms-project-form select[name=department_id]",
        &water.to_string(),
    )
    .await;
    b.click("#ms-project-form button[type=submit]").await;
    b.click("#ms-project-list li [data-action=edit]").await;
    b.wait_for("#ms-project-form input[name=title]").await;
    b.click("#ms-stages > button.ms-link").await;
    set_stage(&b, 1, ["管网施工", "2026-02-01", "2026-05-31", "3"]).await;
    run.shot(&b, "project-edit", "#ms-stages").await;
    b.click("#ms-project-form button[type=submit]").await;
    b.wait_for("#ms-project-list li[data-id]").await;
    let projects = app.get("/api/v1/public/projects", &admin).await.expect(200);
    let stages = projects[0]["stages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(stages.len(), 2, "{projects}");
    assert_eq!(stages[1]["name"], json!("管网施工"));

    // 审计: each change is listed.
    b.click("#ms-tab-audit").await;
    b.wait_for("#ms-audit-list").await;
    for (entity, action) in [
        ("area", "create"),
        ("area", "boundary"),
        ("department", "create"),
        ("category", "create"),
        ("user", "create"),
        ("household", "import"),
        ("api_key", "issue"),
        ("api_key", "revoke"),
        ("project", "create"),
        ("project", "update"),
    ] {
        b.wait_for(&format!(
            "#ms-audit-list tr[data-entity={entity}][data-action={action}]"
        ))
        .await;
    }
    // Who was made and what was named, with the values after the change.
    let log = b.text("#ms-audit-list").await;
    for made in [
        "shuiwu",
        "jiandu",
        "城东区",
        "城东街道",
        "幸福社区",
        "城东水务站",
        "供水问题",
    ] {
        assert!(log.contains(made), "the audit log names {made}: {log}");
    }
    run.shot(&b, "audit", "body").await;

    // The public board shows the duty card (责任清单).
    b.goto(&format!("{}/w/board{q}", app.base)).await;
    b.wait_for(&format!(
        "#ms-board-duty-list li[data-department-id=\"{water}\"]"
    ))
    .await;
    let card = b.text("#ms-board-duty-list").await;
    assert!(
        card.contains("0571-86000000") && card.contains("站长"),
        "{card}"
    );
    run.shot(&b, "board-duty", "#ms-board-duty").await;

    // Anyone else signed in is told plainly that the console is not for them.
    b.js("localStorage.clear()").await;
    b.goto(&format!("{}/w/admin{q}", app.base)).await;
    b.type_into("form.ms-login input[name=username]", "jiandu")
        .await;
    b.type_into("form.ms-login input[name=password]", PASSWORD)
        .await;
    b.click("form.ms-login button[type=submit]").await;
    b.wait_for("#ms-not-allowed").await;
    assert!(
        b.text("#ms-not-allowed")
            .await
            .contains(run.t("无权访问", "Not allowed"))
    );
    assert!(
        b.js("return document.querySelector('#ms-tab-areas') === null")
            .await
            == json!(true)
    );
    run.shot(&b, "not-allowed", "body").await;
    b.close().await;
}

#[tokio::test]
async fn a_county_sets_itself_up_in_the_console_on_a_desk_in_chinese() {
    let test = "admin_console_zh";
    let b = Browser::start_screen(test, 1280, 1000).await;
    let run = Run {
        en: false,
        prefix: "admin-zh-1280".into(),
        docs: true,
    };
    set_up_a_county(test, run, b).await;
}

#[tokio::test]
async fn a_county_sets_itself_up_in_the_console_on_a_phone_in_english() {
    let test = "admin_console_en";
    let b = Browser::start(test).await;
    let run = Run {
        en: true,
        prefix: "admin-en-360".into(),
        docs: false,
    };
    set_up_a_county(test, run, b).await;
}

/// A small holiday-cn file for 2027 (its `year` names the year), or one with a date of 2028.
fn holiday_file(dir: &Path, bad: bool) -> PathBuf {
    let mut days = vec![json!({"name": "元旦", "date": "2027-01-01", "isOffDay": true})];
    if bad {
        days.push(json!({"name": "劳动节", "date": "2028-05-01", "isOffDay": true}));
    }
    for d in 1..=7 {
        days.push(json!({"name": "国庆节", "date": format!("2027-10-0{d}"), "isOffDay": true}));
    }
    // A Saturday worked instead (调休).
    days.push(json!({"name": "国庆节", "date": "2027-10-09", "isOffDay": false}));
    let path = dir.join(if bad { "2027-bad.json" } else { "2027.json" });
    let file = json!({"$schema": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/schema.json",
        "year": 2027, "papers": [], "days": days});
    std::fs::write(&path, file.to_string()).expect("write holiday file");
    path
}

async fn set_the_date(b: &Browser, css: &str, value: &str) {
    b.wait_for(css).await;
    b.js(&format!(
        "const el = document.querySelector({}); el.value = {}; el.dispatchEvent(new Event('input', {{ bubbles: true }}));",
        json!(css),
        json!(value)
    ))
    .await;
}

/// The working calendar and a category whose deadline is in working days, in the console.
async fn keep_the_calendar(test: &str, run: Run, browser: Option<Browser>) {
    let Some(dist) = widgets_dir() else {
        minsheng_tests::skip(
            test,
            "no built widgets (run `cargo xtask widgets` or set MINSHENG_WIDGETS_DIR)",
        );
        return;
    };
    let Some(b) = browser else { return };
    let Some(bin) = binary() else {
        minsheng_tests::skip(
            test,
            "the minsheng binary is not built (cargo build -p minsheng-server --bin minsheng)",
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/county.db", dir.path().display());
    let data = dir.path().join("data");
    minsheng(&bin, &db, &data, &["migrate"]);
    minsheng(
        &bin,
        &db,
        &data,
        &[
            "create-user",
            "--role",
            "admin",
            "--username",
            "admin",
            "--password",
            PASSWORD,
        ],
    );
    let (db_url, data_dir) = (db.clone(), data.clone());
    let app = spawn_app_on(&Backend::Sqlite, move |c| {
        c.database_url = db_url;
        c.data_dir = data_dir;
        c.widgets_dir = dist;
    })
    .await;
    let admin = app.login("admin", PASSWORD).await;
    let status = app.get("/api/v1/calendar/status", &admin).await.expect(200);
    let q = if run.en { "?lang=en" } else { "" };
    // The phone's screenshots are kept beside the desk's: admin-calendar-360.png.
    let shot = |step: &str| format!("{step}{}", if run.en { "-360" } else { "" });

    b.goto(&format!("{}/w/admin{q}#calendar", app.base)).await;
    b.type_into("form.ms-login input[name=username]", "admin")
        .await;
    b.type_into("form.ms-login input[name=password]", PASSWORD)
        .await;
    b.click("form.ms-login button[type=submit]").await;
    b.click("#ms-tab-calendar").await;
    // The bundled years are listed as such; the latest one is open, grouped by holiday.
    b.wait_for("#ms-calendar-years tr[data-year=\"2026\"]")
        .await;
    assert!(
        b.text("#ms-calendar-years tr[data-year=\"2026\"]")
            .await
            .contains(run.t("随附数据", "bundled"))
    );
    b.wait_for("#ms-calendar-year[data-year=\"2026\"] li[data-name=国庆节]")
        .await;
    // The desk's warning is repeated while next year is missing (from December).
    if status["missing_next_year"] == json!(true) {
        let w = b.text("#ms-calendar-warning").await;
        assert!(w.contains(&status["next_year"].to_string()), "{w}");
    }
    run.shot(&b, &shot("calendar"), "body").await;

    // A file with a date of another year is refused, the day named beside the upload.
    file(&b, "#ms-calendar-file", &holiday_file(dir.path(), true)).await;
    b.wait_for("#ms-calendar-upload-result.ms-error").await;
    let refused = b.text("#ms-calendar-upload-result").await;
    assert!(
        refused.contains(run.t("第 2 条", "Day 2")) && refused.contains("2028-05-01"),
        "{refused}"
    );
    run.shot(&b, &shot("calendar-refused"), "#ms-calendar-upload")
        .await;
    app.get("/api/v1/admin/calendar/2027", &admin)
        .await
        .expect(404);

    // The good file loads 2027 as the admin's, listed with its counts and its days.
    file(&b, "#ms-calendar-file", &holiday_file(dir.path(), false)).await;
    b.wait_for("#ms-calendar-upload-result.ms-notice").await;
    b.wait_for("#ms-calendar-years tr[data-year=\"2027\"]")
        .await;
    let row = "#ms-calendar-years tr[data-year=\"2027\"]";
    assert_eq!(
        b.text(&format!("{row} td:nth-child(2)")).await,
        run.t("管理员", "admin")
    );
    assert_eq!(
        b.text(&format!("{row} td:nth-child(3)")).await,
        "8",
        "days off"
    );
    assert_eq!(
        b.text(&format!("{row} td:nth-child(4)")).await,
        "1",
        "swapped workdays"
    );
    b.wait_for("#ms-calendar-year[data-year=\"2027\"] li[data-name=国庆节]")
        .await;
    let line = b
        .text("#ms-calendar-year li[data-name=国庆节] .ms-calendar-line")
        .await;
    assert_eq!(
        line,
        run.t(
            "10月1日–10月7日 放假，10月9日(六) 上班",
            "Oct 1–Oct 7 off, Oct 9(Sat) working day"
        )
    );
    if status["next_year"] == json!(2027) {
        let gone = b
            .js("const w = document.querySelector('#ms-calendar-warning'); return w === null || !w.textContent.includes('2027');")
            .await;
        assert_eq!(gone, json!(true), "the warning goes once 2027 is loaded");
    }

    // One day added by hand, then removed.
    set_the_date(&b, "#ms-calendar-day-form input[name=date]", "2027-05-03").await;
    b.type_into("#ms-calendar-day-form input[name=name]", "劳动节")
        .await;
    b.click("#ms-calendar-day-form button[type=submit]").await;
    b.wait_for("#ms-calendar-year li[data-name=劳动节] button[data-date=\"2027-05-03\"]")
        .await;
    let year = app
        .get("/api/v1/admin/calendar/2027", &admin)
        .await
        .expect(200);
    assert_eq!(year["days"].as_array().map(Vec::len), Some(10), "{year}");
    run.shot(&b, &shot("calendar-year"), "#ms-calendar-year")
        .await;
    b.click("#ms-calendar-year button[data-date=\"2027-05-03\"]")
        .await;
    b.wait_for("#ms-calendar-year[data-year=\"2027\"]:not(:has(li[data-name=劳动节]))")
        .await;
    let year = app
        .get("/api/v1/admin/calendar/2027", &admin)
        .await
        .expect(200);
    assert_eq!(year["days"].as_array().map(Vec::len), Some(9), "{year}");

    // A category due in working days: refused beside the field for the urgent tier, then
    // created, listed as such, and saved again unchanged (without the derived hours).
    b.click("#ms-tab-categories").await;
    b.click("#ms-category-new").await;
    b.type_into("#ms-category-form input[name=code]", "road")
        .await;
    b.type_into("#ms-category-form input[name=name]", "道路破损")
        .await;
    select(&b, "#ms-category-form select[name=tier]", "urgent").await;
    b.type_into("#ms-category-form input[name=resolve_workdays]", "5")
        .await;
    b.click("#ms-category-form button[type=submit]").await;
    b.wait_for("#ms-category-form #ms-err-resolve_workdays")
        .await;
    assert_eq!(
        b.text("#ms-category-form #ms-err-resolve_workdays").await,
        run.t(
            "紧急件按自然小时计时，不能按工作日。",
            "Urgent cases count natural hours, not working days."
        )
    );
    run.shot(
        &b,
        &shot("calendar-category-form"),
        "#ms-field-resolve_workdays",
    )
    .await;
    select(&b, "#ms-category-form select[name=tier]", "general").await;
    b.click("#ms-category-form button[type=submit]").await;
    b.wait_for("#ms-category-list tr[data-id]").await;
    let listed = b.text("#ms-category-list").await;
    assert!(
        listed.contains(run.t("办结 5个工作日", "resolve in 5 working days")),
        "{listed}"
    );
    run.shot(&b, &shot("calendar-category"), "#ms-category-list")
        .await;
    b.click("#ms-category-list tr[data-id] [data-action=edit]")
        .await;
    b.wait_for("#ms-category-form input[name=resolve_workdays]")
        .await;
    let hours = b
        .js("return document.querySelector('#ms-category-form input[name=resolve_hours]').value")
        .await;
    assert_eq!(hours, json!(""));
    b.click("#ms-category-form button[type=submit]").await;
    // Saved without a refusal: the form closes.
    b.wait_for(".ms-admin-category:not(:has(#ms-category-form))")
        .await;
    let categories = app.get("/api/v1/categories", &admin).await.expect(200);
    let road = categories
        .as_array()
        .and_then(|l| l.iter().find(|c| c["code"] == json!("road")))
        .cloned()
        .unwrap_or_default();
    assert_eq!(road["resolve_workdays"], json!(5), "{categories}");
    assert_eq!(road["tier"], json!("general"));
    b.close().await;
}

#[tokio::test]
async fn the_console_loads_a_years_holidays_and_a_category_in_working_days_on_a_desk() {
    let test = "admin_calendar_zh";
    let b = Browser::start_screen(test, 1280, 1000).await;
    let run = Run {
        en: false,
        prefix: "admin-zh-1280".into(),
        docs: true,
    };
    keep_the_calendar(test, run, b).await;
}

#[tokio::test]
async fn the_console_loads_a_years_holidays_and_a_category_in_working_days_on_a_phone_in_english() {
    let test = "admin_calendar_en";
    let b = Browser::start(test).await;
    let run = Run {
        en: true,
        prefix: "admin-en-360".into(),
        docs: true,
    };
    keep_the_calendar(test, run, b).await;
}
