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

/// A TIFF block as a camera writes it into EXIF: IFD0 pointing at a GPS IFD with latitude
/// and longitude (degrees, minutes, seconds as rationals). `seconds` makes each one distinct.
fn tiff_with_gps(seconds: u32) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes()); // IFD0
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    // IFD0 at 8: one entry, GPSInfo → 26.
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x8825, 4, 1, 26);
    t.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD at 26: four entries, rationals at 26 + 2 + 4 * 12 + 4 = 80 and 104.
    t.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
    entry(&mut t, 0x0002, 5, 3, 80);
    entry(&mut t, 0x0003, 2, 2, u32::from_le_bytes(*b"E\0\0\0"));
    entry(&mut t, 0x0004, 5, 3, 104);
    t.extend_from_slice(&0u32.to_le_bytes());
    for (d, m, s) in [(25, 29, seconds), (103, 48, seconds + 1)] {
        for (n, den) in [(d, 1u32), (m, 1), (s, 100)] {
            t.extend_from_slice(&n.to_le_bytes());
            t.extend_from_slice(&den.to_le_bytes());
        }
    }
    t
}

/// The GPS rationals of [`tiff_with_gps`]: the bytes that must not survive.
fn gps_marker(seconds: u32) -> Vec<u8> {
    let t = tiff_with_gps(seconds);
    t[80..128].to_vec()
}

const XMP: &[u8] = br#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="25,29.4920N" exif:GPSLongitude="103,48.0601E"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(body);
    s
}

/// A phone's multi-picture JPEG: the primary image with EXIF (GPS) and an MPF index in APP2,
/// then after its EOI a secondary image with its own EXIF GPS, then a vendor trailer.
fn multi_picture_jpeg() -> Vec<u8> {
    let base = std::fs::read(fixture()).unwrap();
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff_with_gps(4920));
    let mut second = vec![0xFF, 0xD8];
    let mut exif2 = b"Exif\0\0".to_vec();
    exif2.extend_from_slice(&tiff_with_gps(4921));
    second.extend_from_slice(&segment(0xE1, &exif2));
    second.extend_from_slice(&base[2..]);
    // MPF: version, number of images, and the MP entries (size, offset from the MP header).
    let mpf_len = 4 + 8 + 2 + 3 * 12 + 4 + 32;
    let primary_len = 2 + (2 + 2 + exif.len()) + (2 + 2 + mpf_len) + base.len() - 2;
    let mp_header_at = 2 + (2 + 2 + exif.len()) + 4 + 4;
    let mut mpf = b"MPF\0II*\0".to_vec();
    mpf.extend_from_slice(&8u32.to_le_bytes());
    mpf.extend_from_slice(&3u16.to_le_bytes());
    for (tag, kind, count, value) in [
        (0xB000u16, 7u16, 4u32, u32::from_le_bytes(*b"0100")),
        (0xB001, 4, 1, 2),
        (0xB002, 7, 32, 8 + 2 + 3 * 12 + 4),
    ] {
        mpf.extend_from_slice(&tag.to_le_bytes());
        mpf.extend_from_slice(&kind.to_le_bytes());
        mpf.extend_from_slice(&count.to_le_bytes());
        mpf.extend_from_slice(&value.to_le_bytes());
    }
    mpf.extend_from_slice(&0u32.to_le_bytes());
    for (attr, size, offset) in [
        (0x2003_0000u32, primary_len as u32, 0u32),
        (
            0x0002_0002,
            second.len() as u32,
            (primary_len - mp_header_at) as u32,
        ),
    ] {
        mpf.extend_from_slice(&attr.to_le_bytes());
        mpf.extend_from_slice(&size.to_le_bytes());
        mpf.extend_from_slice(&offset.to_le_bytes());
        mpf.extend_from_slice(&[0; 4]);
    }
    assert_eq!(mpf.len(), mpf_len);
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&segment(0xE1, &exif));
    out.extend_from_slice(&segment(0xE2, &mpf));
    out.extend_from_slice(&base[2..]);
    assert_eq!(out.len(), primary_len);
    out.extend_from_slice(&second);
    out.extend_from_slice(b"SEFHImage_UTC_Data1764979200000SEFT");
    out
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    c.extend_from_slice(&h.finalize().to_be_bytes());
    c
}

/// `data` as a zlib stream of one stored block (what zTXt holds), readable as it is.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut z = vec![0x78, 0x01, 0x01];
    let len = data.len() as u16;
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    z
}

fn pixels() -> image::RgbImage {
    image::RgbImage::from_fn(24, 16, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 15) as u8, 128])
    })
}

const PNG_TEXT: &[u8] = b"Author\0Wang Xiaoming 13812345678";
const PNG_ZTEXT: &[u8] = b"Location 25.4970N 103.8010E";
const PNG_C2PA: &[u8] =
    b"\0\0\0\x40jumb\0\0\0\x18jumdc2pa.assertions\0stds.exif exif:GPSLatitude=25,29.4930N";

/// A PNG as photo apps save it: eXIf with GPS, tEXt, iTXt (XMP) and zTXt after IHDR, the
/// capture time (tIME), content credentials (C2PA's caBX, whose EXIF assertion repeats the
/// position), and something after IEND.
fn png_with_metadata() -> Vec<u8> {
    let mut plain = Vec::new();
    pixels()
        .write_to(
            &mut std::io::Cursor::new(&mut plain),
            image::ImageFormat::Png,
        )
        .unwrap();
    let ihdr_end = 8 + 4 + 4 + 13 + 4;
    let mut out = plain[..ihdr_end].to_vec();
    out.extend_from_slice(&png_chunk(b"eXIf", &tiff_with_gps(4930)));
    out.extend_from_slice(&png_chunk(b"tEXt", PNG_TEXT));
    let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    itxt.extend_from_slice(XMP);
    out.extend_from_slice(&png_chunk(b"iTXt", &itxt));
    let mut ztxt = b"Comment\0\0".to_vec();
    ztxt.extend_from_slice(&zlib_stored(PNG_ZTEXT));
    out.extend_from_slice(&png_chunk(b"zTXt", &ztxt));
    out.extend_from_slice(&png_chunk(b"tIME", &[0x07, 0xEA, 12, 6, 9, 30, 15]));
    out.extend_from_slice(&png_chunk(b"caBX", PNG_C2PA));
    out.extend_from_slice(&plain[ihdr_end..]);
    out.extend_from_slice(b"trailing GPS 25.4970N");
    out
}

fn riff_chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = id.to_vec();
    c.extend_from_slice(&(data.len() as u32).to_le_bytes());
    c.extend_from_slice(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

/// An extended (VP8X) WebP as phones write it: the image, then EXIF with GPS and an XMP packet.
fn webp_with_metadata() -> Vec<u8> {
    let mut plain = Vec::new();
    pixels()
        .write_to(
            &mut std::io::Cursor::new(&mut plain),
            image::ImageFormat::WebP,
        )
        .unwrap();
    assert_eq!(&plain[..4], b"RIFF");
    let image_chunks = &plain[12..];
    let (w, h) = (24u32 - 1, 16u32 - 1);
    let mut vp8x = vec![0b0000_1100, 0, 0, 0];
    vp8x.extend_from_slice(&w.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&h.to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend_from_slice(&riff_chunk(b"VP8X", &vp8x));
    body.extend_from_slice(image_chunks);
    body.extend_from_slice(&riff_chunk(b"EXIF", &tiff_with_gps(4940)));
    body.extend_from_slice(&riff_chunk(b"XMP ", XMP));
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Uploads `bytes` to a new case of resident A and fetches what is served back.
async fn round_trip(
    app: &minsheng_tests::TestApp,
    w: &World,
    name: &str,
    bytes: Vec<u8>,
) -> (String, Vec<u8>) {
    let id = w
        .submit(app, &w.resident_a, "路灯坏了,附上手机拍的照片")
        .await["id"]
        .as_i64()
        .unwrap();
    let ph = app
        .upload(&w.resident_a, id, name, bytes, None)
        .await
        .expect(201);
    let resp = app
        .client
        .get(app.url(ph["url"].as_str().unwrap()))
        .bearer_auth(&w.resident_a)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(ph["content_type"], ct.as_str());
    (ct, resp.bytes().await.unwrap().to_vec())
}

#[track_caller]
fn assert_gone(what: &str, served: &[u8], secrets: &[&[u8]]) {
    for s in secrets {
        assert!(
            !contains(served, s),
            "{what} still holds {:?}",
            String::from_utf8_lossy(s)
        );
    }
}

#[tokio::test]
async fn a_multi_picture_jpeg_is_served_as_its_first_image_without_gps_mpf_or_trailer() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let upload = multi_picture_jpeg();
            let secrets: [&[u8]; 7] = [
                &gps_marker(4920),
                &gps_marker(4921),
                b"Exif\0\0",
                b"MPF\0",
                b"II*\0",
                b"SEFH",
                b"Image_UTC_Data",
            ];
            for s in secrets {
                assert!(contains(&upload, s), "the fixture carries it");
            }
            let original =
                image::load_from_memory_with_format(&upload, image::ImageFormat::Jpeg).unwrap();
            let (ct, served) = round_trip(&app, &w, "IMG_0002.JPG", upload).await;
            assert_eq!(ct, "image/jpeg");
            assert_gone("the JPEG", &served, &secrets);
            assert_eq!(
                &served[served.len() - 2..],
                &[0xFF, 0xD9],
                "ends at the first EOI"
            );
            let decoded = image::load_from_memory_with_format(&served, image::ImageFormat::Jpeg)
                .expect("still a JPEG");
            assert_eq!(
                (decoded.width(), decoded.height()),
                (original.width(), original.height())
            );
            assert_eq!(decoded.to_rgb8(), original.to_rgb8(), "the same picture");
        },
    )
    .await;
}

#[tokio::test]
async fn a_webp_is_served_without_its_exif_or_xmp_and_still_decodes() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let upload = webp_with_metadata();
            let secrets: [&[u8]; 5] = [
                &gps_marker(4940),
                b"EXIF",
                b"XMP ",
                b"xmpmeta",
                b"GPSLatitude",
            ];
            for s in secrets {
                assert!(contains(&upload, s), "the fixture carries it");
            }
            let original =
                image::load_from_memory_with_format(&upload, image::ImageFormat::WebP).unwrap();
            let (ct, served) = round_trip(&app, &w, "IMG_0003.webp", upload).await;
            assert_eq!(ct, "image/webp");
            assert_gone("the WebP", &served, &secrets);
            let decoded = image::load_from_memory_with_format(&served, image::ImageFormat::WebP)
                .expect("still a WebP");
            assert_eq!(decoded.to_rgb8(), original.to_rgb8(), "the same picture");
            // If the extended header stays, it no longer announces EXIF or XMP.
            if let Some(at) = served.windows(4).position(|w| w == b"VP8X") {
                assert_eq!(served[at + 8] & 0b0000_1100, 0);
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_png_is_served_without_its_exif_text_time_credentials_or_trailer_and_still_decodes() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let upload = png_with_metadata();
            let secrets: [&[u8]; 13] = [
                &gps_marker(4930),
                b"eXIf",
                b"tIME",
                b"caBX",
                b"stds.exif",
                b"tEXt",
                b"iTXt",
                b"zTXt",
                PNG_TEXT,
                PNG_ZTEXT,
                b"xmpmeta",
                b"13812345678",
                b"trailing GPS",
            ];
            for s in secrets {
                assert!(contains(&upload, s), "the fixture carries it");
            }
            let original =
                image::load_from_memory_with_format(&upload, image::ImageFormat::Png).unwrap();
            let (ct, served) = round_trip(&app, &w, "Screenshot.png", upload).await;
            assert_eq!(ct, "image/png");
            assert_gone("the PNG", &served, &secrets);
            let decoded = image::load_from_memory_with_format(&served, image::ImageFormat::Png)
                .expect("still a PNG");
            assert_eq!(decoded.to_rgb8(), original.to_rgb8(), "the same picture");
        },
    )
    .await;
}
