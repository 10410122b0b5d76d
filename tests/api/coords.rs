//! One coordinate system: everything stored is WGS-84. Inputs in GCJ-02 (WeChat, Tencent and
//! AMap maps) or BD-09 (Baidu) say so with `coord_system` and are converted on the way in;
//! reads are WGS-84 unless a map on a Chinese base map asks for `?coord_system=gcj02`.

use minsheng_model::CoordSystem;
use minsheng_model::coords::{from_wgs84, to_wgs84};
use minsheng_model::visits::distance_m;
use minsheng_server::channels::open311::create_api_key;
use minsheng_tests::{TestApp, World, on_each_backend, visit_at};
use serde_json::{Value, json};

/// A door in 麒麟区, Qujing (the demo district), as GPS (WGS-84) reads it.
const DOOR: (f64, f64) = (25.4900, 103.7960);

/// A grid under the supervisor's community around the real 麒麟区, so that the offset
/// between GCJ-02 and WGS-84 is the one a supervisor there meets.
async fn qilin_grid(app: &TestApp, w: &World) -> i64 {
    let ring = json!([
        [103.78, 25.47],
        [103.82, 25.47],
        [103.82, 25.51],
        [103.78, 25.51]
    ]);
    app.post(
        "/api/v1/admin/areas",
        &w.admin,
        json!({ "parent_id": w.community_a, "level": "grid", "code": "G3", "name": "寥廓南路网格", "boundary": ring }),
    )
    .await
    .expect(201)["id"]
        .as_i64()
        .unwrap()
}

async fn import_csv(app: &TestApp, w: &World, csv: String, query: &str) {
    app.post_file(
        &format!("/api/v1/households/import{query}"),
        &w.admin,
        "households.csv",
        csv.into_bytes(),
        &[],
    )
    .await
    .expect(200);
}

fn household<'a>(list: &'a Value, address: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["address"] == address)
        .unwrap_or_else(|| panic!("household {address}"))
}

fn point(v: &Value) -> (f64, f64) {
    (v["lat"].as_f64().unwrap(), v["lng"].as_f64().unwrap())
}

#[tokio::test]
async fn a_household_imported_as_gcj02_is_at_the_door_where_a_wgs84_check_in_stands() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            qilin_grid(&app, &w).await;
            // The door as a Tencent or AMap map (and so the community's spreadsheet) has it.
            let (glat, glng) = from_wgs84(CoordSystem::Gcj02, DOOR.0, DOOR.1);
            let offset = distance_m(DOOR.0, DOOR.1, glat, glng);
            assert!((370.0..410.0).contains(&offset), "the offset in 麒麟区 is ~390 m: {offset}");

            // The file declared GCJ-02.
            import_csv(
                &app,
                &w,
                format!("地址,网格,户主,纬度,经度\n寥廓南路1号,G3,李桂英,{glat:.7},{glng:.7}\n"),
                "?coord_system=gcj02",
            )
            .await;
            // A file taken as WGS-84 (the old behaviour), with one row whose 坐标系 says GCJ-02.
            import_csv(
                &app,
                &w,
                format!(
                    "地址,网格,户主,纬度,经度,坐标系\n寥廓南路2号,G3,王建国,{glat:.7},{glng:.7},\n寥廓南路3号,G3,赵小兰,{glat:.7},{glng:.7},GCJ-02\n"
                ),
                "",
            )
            .await;
            let list = app.get("/api/v1/households?limit=100", &w.admin).await.expect(200);
            let (a, b, c) = (
                household(&list, "寥廓南路1号"),
                household(&list, "寥廓南路2号"),
                household(&list, "寥廓南路3号"),
            );
            for h in [a, c] {
                let (lat, lng) = point(h);
                assert!(distance_m(lat, lng, DOOR.0, DOOR.1) < 1.0, "stored in WGS-84: {h}");
            }
            let (lat, lng) = point(b);
            assert!(distance_m(lat, lng, glat, glng) < 0.1, "taken as given: {b}");
            // Read back for a Chinese base map, the converted household is where the map has it.
            let gcj = app
                .get(&format!("/api/v1/households/{}?coord_system=gcj02", a["id"]), &w.admin)
                .await
                .expect(200);
            let (lat, lng) = point(&gcj);
            assert!(distance_m(lat, lng, glat, glng) < 1.0, "{gcj}");

            // The supervisor stands at the door; the phone's GPS reads WGS-84.
            let visit = |id: &str, h: &Value| {
                let mut v = visit_at(id, h["id"].as_i64().unwrap(), DOOR.0, DOOR.1, 10.0);
                v["coord_system"] = json!("wgs84");
                v
            };
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.supervisor,
                    json!({ "visits": [
                        visit("coords-gcj-00001", a),
                        visit("coords-old-00001", b),
                        visit("coords-row-00001", c),
                    ]}),
                )
                .await
                .expect(200);
            let flags: Vec<Value> = r["results"].as_array().unwrap().iter().map(|x| x["flags"].clone()).collect();
            assert_eq!(flags, vec![json!([]), json!(["far_from_household"]), json!([])], "{r}");
            let far = app
                .get("/api/v1/visits/coords-old-00001", &w.dispatcher)
                .await
                .expect(200);
            let d = far["distance_m"].as_f64().unwrap();
            assert!((370.0..410.0).contains(&d), "flagged by the offset, ~390 m: {d}");
            let near = app
                .get("/api/v1/visits/coords-gcj-00001", &w.dispatcher)
                .await
                .expect(200);
            assert!(near["distance_m"].as_f64().unwrap() < 1.0, "{near}");

            // A check-in sent in GCJ-02 (a native mini-program page) compares like with like.
            let mut v = visit_at("coords-gcj-00002", a["id"].as_i64().unwrap(), glat, glng, 10.0);
            v["coord_system"] = json!("gcj02");
            let r = app
                .post("/api/v1/visits/sync", &w.supervisor, json!({ "visits": [v] }))
                .await
                .expect(200);
            assert_eq!(r["results"][0]["flags"], json!([]), "{r}");
            let stored = app
                .get("/api/v1/visits/coords-gcj-00002", &w.dispatcher)
                .await
                .expect(200);
            let (lat, lng) = point(&stored);
            assert!(distance_m(lat, lng, DOOR.0, DOOR.1) < 1.0, "{stored}");

            // An unknown 坐标系 is a bad row, named.
            let r = app
                .post_file(
                    "/api/v1/households/import",
                    &w.admin,
                    "h.csv",
                    format!("地址,网格,纬度,经度,坐标系\n寥廓南路4号,G3,{glat},{glng},北京54\n").into_bytes(),
                    &[],
                )
                .await;
            assert_eq!(r.status, 422, "{}", r.body);
            assert_eq!(r.body["errors"][0]["column"], "坐标系");
        },
    )
    .await;
}

#[tokio::test]
async fn a_case_submitted_in_gcj02_just_inside_a_grid_edge_is_placed_in_that_grid_and_stored_in_wgs84()
 {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            // Grid A ends at 103.25° E; this point is ~30 m inside it.
            let inside = (25.3, 103.2497);
            let (glat, glng) = from_wgs84(CoordSystem::Gcj02, inside.0, inside.1);
            assert!(
                glng > 103.25,
                "the GCJ-02 point itself lies outside the grid: {glng}"
            );
            let submit = |lat: f64, lng: f64, system: Option<&str>| {
                let mut body = json!({
                    "client_request_id": uuid::Uuid::new_v4().to_string(),
                    "category_id": w.cat_light,
                    "description": "路灯不亮已经一周了",
                    "lat": lat, "lng": lng,
                });
                if let Some(s) = system {
                    body["coord_system"] = json!(s);
                }
                let app = &app;
                let token = w.resident_a.clone();
                async move { app.post("/api/v1/cases", &token, body).await.expect(201) }
            };
            let case = submit(glat, glng, Some("gcj02")).await;
            assert_eq!(case["area_id"].as_i64(), Some(w.grid_a), "{case}");
            let id = case["id"].as_i64().unwrap();
            let read = app
                .get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
                .await
                .expect(200);
            let (lat, lng) = point(&read);
            assert!(
                distance_m(lat, lng, inside.0, inside.1) < 1.0,
                "reads back in WGS-84 within a metre: {lat},{lng}"
            );
            let (clat, clng) = to_wgs84(CoordSystem::Gcj02, glat, glng);
            assert!(distance_m(lat, lng, clat, clng) < 1.0);

            // The same numbers taken as WGS-84 (the old behaviour) land in the neighbour.
            let old = submit(glat, glng, None).await;
            assert_eq!(old["area_id"].as_i64(), Some(w.community_a), "{old}");

            // A map on a Chinese base map asks for GCJ-02, in its box and its points.
            let gcj = app
                .get(
                    &format!("/api/v1/cases/{id}?coord_system=gcj02"),
                    &w.dispatcher,
                )
                .await
                .expect(200);
            let (lat, lng) = point(&gcj);
            assert!(distance_m(lat, lng, glat, glng) < 1.0, "{gcj}");
            let list = app
                .get("/api/v1/cases?coord_system=gcj02", &w.dispatcher)
                .await
                .expect(200);
            let item = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .unwrap();
            let (lat, lng) = point(item);
            assert!(distance_m(lat, lng, glat, glng) < 1.0, "{item}");
            let bbox = format!(
                "{},{},{},{}",
                glng - 0.0005,
                glat - 0.0005,
                glng + 0.0005,
                glat + 0.0005
            );
            let pts = app
                .get(
                    &format!("/api/v1/map/points?bbox={bbox}&coord_system=gcj02"),
                    &w.dispatcher,
                )
                .await
                .expect(200);
            let p = pts["points"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == id);
            let p = p.unwrap_or_else(|| panic!("the case is in its GCJ-02 box: {pts}"));
            let (lat, lng) = point(p);
            assert!(distance_m(lat, lng, glat, glng) < 1.0, "{p}");
            let wgs = app
                .get(&format!("/api/v1/map/points?bbox={bbox}"), &w.dispatcher)
                .await
                .expect(200);
            assert!(
                !wgs["points"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["id"] == id),
                "not in the same box read as WGS-84: {wgs}"
            );
        },
    )
    .await;
}

#[tokio::test]
async fn open311_takes_wgs84_by_the_spec_and_coord_system_as_an_extension() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let key = create_api_key(&app.state, "fixmystreet").await.unwrap();
            let (glat, glng) = from_wgs84(CoordSystem::Gcj02, DOOR.0, DOOR.1);
            let post = |system: Option<&'static str>, description: &'static str| {
                let (lat, lng) = (glat.to_string(), glng.to_string());
                let key = key.clone();
                let app = &app;
                async move {
                    let mut form = vec![
                        ("api_key", key),
                        ("service_code", "light".to_string()),
                        ("lat", lat),
                        ("long", lng),
                        ("description", description.to_string()),
                    ];
                    if let Some(s) = system {
                        form.push(("coord_system", s.to_string()));
                    }
                    let r = app
                        .client
                        .post(app.url("/open311/v2/requests.json"))
                        .form(&form)
                        .send()
                        .await
                        .unwrap();
                    let status = r.status().as_u16();
                    let body: Value = r.json().await.unwrap();
                    (status, body)
                }
            };
            let stored = |tracking: String| {
                let app = &app;
                let token = w.dispatcher.clone();
                async move {
                    let list = app
                        .get(&format!("/api/v1/cases?q={tracking}"), &token)
                        .await
                        .expect(200);
                    point(&list["items"][0])
                }
            };
            let (s, body) = post(Some("gcj02"), "路灯不亮已经一周了(高德坐标)").await;
            assert_eq!(s, 200, "{body}");
            let (lat, lng) =
                stored(body[0]["service_request_id"].as_str().unwrap().to_string()).await;
            assert!(distance_m(lat, lng, DOOR.0, DOOR.1) < 1.0);
            let (s, body) = post(None, "路灯不亮已经一周了(GPS 坐标)").await;
            assert_eq!(s, 200, "{body}");
            let (lat, lng) =
                stored(body[0]["service_request_id"].as_str().unwrap().to_string()).await;
            assert!(distance_m(lat, lng, glat, glng) < 0.1, "WGS-84 by default");
            let (s, body) = post(Some("mars"), "路灯不亮已经一周了(未知坐标)").await;
            assert_eq!(s, 400, "{body}");
            assert_eq!(body[0]["code"], 400, "{body}");
            let _ = w;
        },
    )
    .await;
}

#[tokio::test]
async fn a_boundary_traced_on_a_gcj02_map_is_stored_in_wgs84_and_geojson_is_taken_as_wgs84() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let corners = [(25.47, 103.78), (25.47, 103.82), (25.51, 103.82), (25.51, 103.78)];
            let ring = |system: CoordSystem| -> Value {
                corners
                    .iter()
                    .map(|&(lat, lng)| {
                        let (a, b) = from_wgs84(system, lat, lng);
                        json!([b, a])
                    })
                    .collect()
            };
            let make = |code: &'static str, system: Option<&'static str>, ring: Value| {
                let mut body = json!({ "parent_id": w.community_a, "level": "grid", "code": code, "name": code, "boundary": ring });
                if let Some(s) = system {
                    body["coord_system"] = json!(s);
                }
                let (app, admin) = (&app, w.admin.clone());
                async move { app.post("/api/v1/admin/areas", &admin, body).await.expect(201) }
            };
            let traced = make("G3", Some("gcj02"), ring(CoordSystem::Gcj02)).await;
            let geojson = make("G4", None, ring(CoordSystem::Wgs84)).await;
            for area in [&traced, &geojson] {
                for (p, (lat, lng)) in area["boundary"].as_array().unwrap().iter().zip(corners) {
                    let (plng, plat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                    assert!(distance_m(plat, plng, lat, lng) < 1.0, "stored in WGS-84: {area}");
                }
            }
            // A map on a Chinese base map reads the boundaries in its own system.
            let areas = app.get("/api/v1/areas?coord_system=gcj02", &w.admin).await.expect(200);
            let g3 = areas.as_array().unwrap().iter().find(|a| a["code"] == "G3").unwrap();
            assert_eq!(g3["boundary"].as_array().unwrap().len(), 4);
            for (p, q) in g3["boundary"].as_array().unwrap().iter().zip(ring(CoordSystem::Gcj02).as_array().unwrap()) {
                let d = distance_m(
                    p[1].as_f64().unwrap(),
                    p[0].as_f64().unwrap(),
                    q[1].as_f64().unwrap(),
                    q[0].as_f64().unwrap(),
                );
                assert!(d < 1.0, "{g3}");
            }
        },
    )
    .await;
}
