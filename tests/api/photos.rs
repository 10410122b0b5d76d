//! Photos: the type comes from the bytes, location metadata is stripped, limits hold, and
//! only those who may see the case may fetch them.

use minsheng_tests::{World, on_each_backend};
use serde_json::json;

pub fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/street-light.jpg")
}

const SECRET_GPS: &[u8] = b"GPSLatitude=25.4970N;GPSLongitude=103.8010E";

/// The fixture JPEG with an EXIF segment carrying a (fake) GPS position.
fn jpeg_with_location() -> Vec<u8> {
    let jpeg = std::fs::read(fixture()).unwrap();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(SECRET_GPS);
    let len = (payload.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_photo_is_stored_without_its_location_and_served_only_to_those_who_may_see_it() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let id = w.submit(&app, &w.resident_a, "路灯坏了,附上照片").await["id"]
                .as_i64()
                .unwrap();
            let upload = jpeg_with_location();
            assert!(contains(&upload, SECRET_GPS));
            let ph = app
                .upload(&w.resident_a, id, "IMG_0001.txt", upload.clone(), None)
                .await
                .expect(201);
            assert_eq!(
                ph["content_type"], "image/jpeg",
                "decided by the bytes, not the name"
            );
            let url = ph["url"].as_str().unwrap().to_string();
            let resp = app
                .client
                .get(app.url(&url))
                .bearer_auth(&w.resident_a)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            assert_eq!(resp.headers()["content-type"], "image/jpeg");
            let stored = resp.bytes().await.unwrap();
            assert!(!contains(&stored, SECRET_GPS), "location metadata stripped");
            assert!(!contains(&stored, b"Exif\0\0"), "no EXIF segment left");
            assert_eq!(&stored[..2], &[0xFF, 0xD8]);
            assert!(
                stored.len() > 100 && stored.len() < upload.len(),
                "the image itself is kept"
            );
            let case = app
                .get(&format!("/api/v1/cases/{id}"), &w.resident_a)
                .await
                .expect(200);
            assert_eq!(case["photos"][0]["url"], url.as_str());
            assert!(
                case["timeline"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["kind"] == "photo")
            );
            // Others: resident B and another department get 404, the dispatcher sees it.
            for t in [&w.resident_b, &w.handler_water] {
                let r = app
                    .client
                    .get(app.url(&url))
                    .bearer_auth(t)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 404);
            }
            let r = app
                .client
                .get(app.url(&url))
                .bearer_auth(&w.dispatcher)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            let r = app.client.get(app.url(&url)).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 401);
        },
    )
    .await;
}

#[tokio::test]
async fn text_files_oversized_uploads_and_the_tenth_photo_are_refused() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let id = w.submit(&app, &w.resident_a, "路灯坏了,附上照片").await["id"]
                .as_i64()
                .unwrap();
            app.upload(
                &w.resident_a,
                id,
                "photo.jpg",
                b"just some text pretending".to_vec(),
                None,
            )
            .await
            .expect_error(415, "unsupported_media_type");
            let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00];
            fake.extend_from_slice(&[0u8; 64]);
            app.upload(&w.resident_a, id, "broken.jpg", fake, None)
                .await
                .expect_error(422, "invalid_image");
            let mut huge = std::fs::read(fixture()).unwrap();
            huge.resize(11 * 1024 * 1024, 0);
            app.upload(&w.resident_a, id, "huge.jpg", huge, None)
                .await
                .expect_error(413, "payload_too_large");
            let jpeg = std::fs::read(fixture()).unwrap();
            for _ in 0..9 {
                app.upload(&w.resident_a, id, "p.jpg", jpeg.clone(), None)
                    .await
                    .expect(201);
            }
            app.upload(&w.resident_a, id, "p.jpg", jpeg.clone(), None)
                .await
                .expect_error(422, "too_many_photos");
            let case = app
                .get(&format!("/api/v1/cases/{id}"), &w.resident_a)
                .await
                .expect(200);
            assert_eq!(
                case["photos"].as_array().unwrap().len(),
                9,
                "refused uploads stored nothing"
            );
        },
    )
    .await;
}

#[tokio::test]
async fn a_handler_attaches_evidence_to_the_resolution() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let id = w.resolved_case(&app).await;
            let case = app
                .get(&format!("/api/v1/cases/{id}"), &w.handler)
                .await
                .expect(200);
            let resolve_event = case["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == "resolve")
                .unwrap()["id"]
                .as_i64()
                .unwrap();
            let jpeg = std::fs::read(fixture()).unwrap();
            let ph = app
                .upload(
                    &w.handler,
                    id,
                    "after.jpg",
                    jpeg.clone(),
                    Some(resolve_event),
                )
                .await
                .expect(201);
            assert_eq!(ph["event_id"], resolve_event);
            let other = w.submit(&app, &w.resident_b, "另一件诉求的事件").await;
            let foreign_event = other["timeline"][0]["id"].as_i64().unwrap();
            app.upload(
                &w.handler,
                id,
                "after.jpg",
                jpeg.clone(),
                Some(foreign_event),
            )
            .await
            .expect_error(404, "unknown_event");
            // Supervisors and leaders may look, not add.
            app.upload(&w.leader, id, "x.jpg", jpeg.clone(), None)
                .await
                .expect_error(403, "forbidden");
            app.act(
                &w.resident_a,
                id,
                json!({ "action": "rate", "satisfaction": "satisfied" }),
            )
            .await
            .expect(200);
            app.upload(&w.resident_a, id, "late.jpg", jpeg, None)
                .await
                .expect_error(409, "case_closed");
        },
    )
    .await;
}
