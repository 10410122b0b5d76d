//! The WeChat official-account callback: the handshake, plain and safe-mode (AES) messages,
//! retries of one MsgId, bad signatures, oversized and malformed bodies, and content security.
//!
//! Safe-mode messages are built here from the documentation with the crates directly (not
//! with the server's code), and one message is the published sample of Tencent's own
//! WXBizMsgCrypt library, which wechatpy's test suite also uses: an independent implementation's
//! known output.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use minsheng_server::Config;
use minsheng_server::channels::open311::create_api_key;
use minsheng_server::channels::wechat_mp::{MpCrypto, signature};
use minsheng_tests::{
    TestApp, World, backends, on_each_backend, serve_stand_in, spawn_app_on, spawn_instance_sharing,
};
use poem::{
    EndpointExt, Route, handler, post,
    web::{Data, Json},
};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

pub(crate) const TOKEN: &str = "spamtest";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx2c2769f8efd9abc2";

/// Plain mode: a token, no EncodingAESKey.
fn configure(c: &mut Config) {
    c.wechat_token = Some(minsheng_server::config::Secret::new(TOKEN));
    c.public_url = Some("https://ms.example.cn".into());
}

/// Safe mode: with the EncodingAESKey, only sealed messages are accepted.
fn configure_safe(c: &mut Config) {
    configure(c);
    c.wechat_aes_key = Some(minsheng_server::config::Secret::new(AES_KEY));
    c.wechat_mp_appid = Some(APPID.into());
}

/// Now, as WeChat's `timestamp` (seconds).
fn now_ts() -> i64 {
    minsheng_server::now_ms() / 1000
}

/// A nonce not used before.
fn fresh_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A plain-mode query, signed, for this timestamp and nonce.
pub(crate) fn plain_query(ts: i64, nonce: &str) -> String {
    let ts = ts.to_string();
    format!(
        "signature={}&timestamp={ts}&nonce={nonce}&openid=x",
        sign(&[TOKEN, &ts, nonce])
    )
}

/// A safe-mode query and body for a sealed `Encrypt`, signed.
fn safe_request(ts: i64, nonce: &str, enc: &str) -> (String, String) {
    let ts = ts.to_string();
    (
        format!(
            "timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={}",
            sign(&[TOKEN, &ts, nonce, enc])
        ),
        format!(
            "<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
        ),
    )
}

/// Seals `inner` and posts it in safe mode, now, with a fresh nonce.
async fn send_safe(app: &TestApp, inner: &str) -> (u16, String) {
    let (q, body) = safe_request(now_ts(), &fresh_nonce(), &seal(inner));
    send_raw(app, &q, body).await
}

/// SHA-1 over the sorted parts, as the documentation describes it.
fn sign(parts: &[&str]) -> String {
    let mut v = parts.to_vec();
    v.sort();
    let mut h = Sha1::new();
    h.update(v.concat().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The 32-byte key from the 43-character setting (the last character's spare bits ignored).
fn key() -> [u8; 32] {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(format!("{AES_KEY}="))
        .unwrap()
        .try_into()
        .unwrap()
}

/// random(16) + length (4, big-endian) + message + appid, PKCS#7 to a multiple of 32,
/// AES-256-CBC with IV = key[0..16], base64.
fn seal(msg: &str) -> String {
    seal_for(msg, APPID)
}

/// Sealed for `appid`.
fn seal_for(msg: &str, appid: &str) -> String {
    let k = key();
    let mut p = b"0123456789abcdef".to_vec();
    p.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    p.extend_from_slice(msg.as_bytes());
    p.extend_from_slice(appid.as_bytes());
    let pad = 32 - p.len() % 32;
    p.extend(std::iter::repeat_n(pad as u8, pad));
    let iv: [u8; 16] = k[..16].try_into().unwrap();
    let c = cbc::Encryptor::<aes::Aes256>::new(&k.into(), &iv.into())
        .encrypt_padded_vec_mut::<NoPadding>(&p);
    STANDARD.encode(c)
}

fn open(enc: &str) -> (String, String) {
    let k = key();
    let iv: [u8; 16] = k[..16].try_into().unwrap();
    let data = STANDARD.decode(enc).unwrap();
    let p = cbc::Decryptor::<aes::Aes256>::new(&k.into(), &iv.into())
        .decrypt_padded_vec_mut::<NoPadding>(&data)
        .unwrap();
    let pad = *p.last().unwrap() as usize;
    let body = &p[..p.len() - pad];
    let len = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
    (
        String::from_utf8(body[20..20 + len].to_vec()).unwrap(),
        String::from_utf8(body[20 + len..].to_vec()).unwrap(),
    )
}

pub(crate) fn text_msg(from: &str, msg_id: &str, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

fn element(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    let v = &xml[start..end];
    Some(
        v.strip_prefix("<![CDATA[")
            .and_then(|v| v.strip_suffix("]]>"))
            .unwrap_or(v)
            .to_string(),
    )
}

/// Posts a plain-mode message, correctly signed, now and with a fresh nonce; returns the
/// status and body.
pub(crate) async fn send_plain(app: &TestApp, body: &str) -> (u16, String) {
    send_raw(
        app,
        &plain_query(now_ts(), &fresh_nonce()),
        body.to_string(),
    )
    .await
}

async fn send_raw(app: &TestApp, query: &str, body: String) -> (u16, String) {
    let r = app
        .client
        .post(app.url(&format!("/wechat/callback?{query}")))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The reply's text content.
pub(crate) fn reply_text(body: &str) -> String {
    element(body, "Content").unwrap_or_else(|| panic!("a text reply, got {body}"))
}

async fn case_count(app: &TestApp) -> i64 {
    app.state
        .db
        .count_by_status()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn the_handshake_echoes_echostr_only_with_a_good_signature() {
    on_each_backend(configure, |app| async move {
        let (ts, nonce) = ("1409735669", "1320562132");
        let good = sign(&[TOKEN, ts, nonce]);
        let r = app
            .client
            .get(app.url(&format!(
                "/wechat/callback?signature={good}&timestamp={ts}&nonce={nonce}&echostr=shr5ch"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.text().await.unwrap(), "shr5ch");
        let r = app
            .client
            .get(app.url(&format!(
                "/wechat/callback?signature={}&timestamp={ts}&nonce={nonce}&echostr=shr5ch",
                "0".repeat(40)
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert_ne!(r.text().await.unwrap(), "shr5ch");
        let r = app
            .client
            .get(app.url("/wechat/callback?echostr=shr5ch"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    })
    .await;
    // Without a token the callback is not configured at all.
    on_each_backend(
        |_| {},
        |app| async move {
            let r = app
                .client
                .get(app.url("/wechat/callback?echostr=x"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 503);
        },
    )
    .await;
}

#[test]
fn signatures_and_the_published_sample_agree_with_other_implementations() {
    // wechatpy's test_utils: check_callback_signature('789', sign, '456', '123').
    assert_eq!(
        signature(&["789", "456", "123"]),
        "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
    );
    // Tencent's WXBizMsgCrypt sample (token spamtest, the sample key and appid).
    assert_eq!(
        signature(&[TOKEN, "1409735669", "1320562132", SAMPLE_ENCRYPT]),
        SAMPLE_MSG_SIGNATURE
    );
    let (msg, appid) = MpCrypto::new(AES_KEY, APPID)
        .unwrap()
        .decrypt(SAMPLE_ENCRYPT)
        .unwrap();
    assert_eq!(appid, APPID);
    assert!(
        msg.starts_with("<xml>") && msg.contains("<MsgType><![CDATA[text]]></MsgType>"),
        "{msg}"
    );
    // Our sealing matches the documentation's recipe byte for byte (same random prefix).
    let ours = MpCrypto::new(AES_KEY, APPID)
        .unwrap()
        .encrypt_with("<xml>hi</xml>", *b"0123456789abcdef");
    assert_eq!(ours, seal("<xml>hi</xml>"));
    assert_eq!(
        open(&ours),
        ("<xml>hi</xml>".to_string(), APPID.to_string())
    );
}

const SAMPLE_MSG_SIGNATURE: &str = "5d197aaffba7e9b25a30732f161a50dee96bd5fa";
const SAMPLE_ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

#[tokio::test]
async fn the_published_sample_message_is_opened_when_fresh_and_refused_with_its_old_timestamp() {
    on_each_backend(configure_safe, |app| async move {
        World::build(&app).await;
        let body = format!("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt></xml>");
        // As published (2014): outside the replay window.
        let q = format!("timestamp=1409735669&nonce=1320562132&encrypt_type=aes&msg_signature={SAMPLE_MSG_SIGNATURE}");
        let (status, reply) = send_raw(&app, &q, body.clone()).await;
        assert_eq!((status, reply.as_str()), (401, "stale_timestamp"));
        // The same Encrypt signed now is opened and answered sealed.
        let (q, _) = safe_request(now_ts(), "1320562132", SAMPLE_ENCRYPT);
        let (status, reply) = send_raw(&app, &q, body.clone()).await;
        assert_eq!(status, 200, "{reply}");
        assert!(reply.contains("<Encrypt>"), "{reply}");
        // With one character of the signature changed it is refused.
        let sig = q.rsplit('=').next().unwrap().to_string();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        let bad = q.replace(&sig, &format!("{flipped}{}", &sig[1..]));
        assert_eq!(send_raw(&app, &bad, body).await.0, 401);
    })
    .await;
}

#[tokio::test]
async fn a_text_message_makes_one_draft_however_often_wechat_retries_it() {
    on_each_backend(configure, |app| async move {
        let w = World::build(&app).await;
        let msg = text_msg("o-follower", "6054768590064713728", "南宁西路路灯坏了一个月了,晚上很黑");
        let first = plain_query(now_ts(), &fresh_nonce());
        let (status, body) = send_raw(&app, &first, msg.clone()).await;
        assert_eq!(status, 200, "{body}");
        let reply = reply_text(&body);
        assert!(reply.contains("https://ms.example.cn/w/track"), "{reply}");
        assert_eq!(element(&body, "ToUserName").as_deref(), Some("o-follower"));
        let no: String = reply.split("编号 ").nth(1).unwrap().chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(no.starts_with("MS"), "{reply}");

        // WeChat's retries of the same MsgId (the same request again): the same reply,
        // still one case.
        for _ in 0..3 {
            let (s, again) = send_raw(&app, &first, msg.clone()).await;
            assert_eq!(s, 200);
            assert_eq!(reply_text(&again), reply);
        }
        assert_eq!(case_count(&app).await, 1);

        let list = app.get(&format!("/api/v1/cases?text={no}"), &w.dispatcher).await.expect(200);
        let case = list["items"][0].clone();
        assert_eq!(case["channel"], "wechat");
        assert_eq!(case["status"], "submitted");
        let id = case["id"].as_i64().unwrap();

        // A location right after attaches to the draft and places it in its area.
        let loc = "<xml><ToUserName>gh</ToUserName><FromUserName>o-follower</FromUserName><CreateTime>1700000001</CreateTime><MsgType>location</MsgType><Location_X>25.2</Location_X><Location_Y>103.1</Location_Y><Scale>15</Scale><Label><![CDATA[南宁西路12号]]></Label><MsgId>6054768590064713729</MsgId></xml>";
        let (s, body) = send_plain(&app, loc).await;
        assert_eq!(s, 200);
        assert!(reply_text(&body).contains("位置"), "{body}");
        let img = "<xml><ToUserName>gh</ToUserName><FromUserName>o-follower</FromUserName><CreateTime>1700000002</CreateTime><MsgType>image</MsgType><PicUrl>http://mmbiz.example/p.jpg</PicUrl><MediaId>m1</MediaId><MsgId>6054768590064713730</MsgId></xml>";
        let (s, body) = send_plain(&app, img).await;
        assert_eq!(s, 200);
        assert!(reply_text(&body).contains("图片"), "{body}");
        let case = app.get(&format!("/api/v1/cases/{id}"), &w.dispatcher).await.expect(200);
        assert_eq!(case["lat"], 25.2);
        assert_eq!(case["address"], "南宁西路12号");
        assert_eq!(case["area_id"], w.grid_a);
        let kinds: Vec<&str> = case["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["submit", "attach", "attach"]);

        // 查询: the follower's own case, by its tracking number.
        let (_, body) = send_plain(&app, &text_msg("o-follower", "1", &format!("查询 {no}"))).await;
        assert!(reply_text(&body).contains("待受理"), "{body}");
        app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
        let (_, body) = send_plain(&app, &text_msg("o-follower", "2", &format!("查询{no}"))).await;
        assert!(reply_text(&body).contains("已受理"), "{body}");
        // Someone else cannot read a private case's status.
        let (_, body) = send_plain(&app, &text_msg("o-stranger", "3", &format!("查询 {no}"))).await;
        assert!(reply_text(&body).contains("未找到"), "{body}");
        // A location with no draft before it asks for the text first.
        let (_, body) = send_plain(&app, &loc.replace("o-follower", "o-stranger").replace("729", "731")).await;
        assert!(reply_text(&body).contains("请先"), "{body}");
        // Too short a text makes no case.
        let (_, body) = send_plain(&app, &text_msg("o-stranger", "4", "灯坏")).await;
        assert!(reply_text(&body).contains("描述"), "{body}");
        assert_eq!(case_count(&app).await, 1);
        // Follower and mini-program users stay apart.
        let users = app.get("/api/v1/admin/users", &w.admin).await.expect(200);
        assert!(users.as_array().unwrap().iter().all(|u| u["openid"] != "o-follower"));
    })
    .await;
}

#[tokio::test]
async fn safe_mode_messages_are_opened_and_answered_sealed() {
    on_each_backend(configure_safe, |app| async move {
        World::build(&app).await;
        let inner = text_msg("o-safe", "7000000000000000001", "小区门口下水道堵了三天");
        let (ts, nonce) = (now_ts(), fresh_nonce());
        let (q, body) = safe_request(ts, &nonce, &seal(&inner));
        let q = format!("signature={}&{q}", sign(&[TOKEN, &ts.to_string(), &nonce]));
        let (status, reply) = send_raw(&app, &q, body.clone()).await;
        assert_eq!(status, 200, "{reply}");
        let sealed = element(&reply, "Encrypt").unwrap();
        let (rts, rnonce) = (
            element(&reply, "TimeStamp").unwrap(),
            element(&reply, "Nonce").unwrap(),
        );
        assert_eq!(
            element(&reply, "MsgSignature").unwrap(),
            sign(&[TOKEN, &rts, &rnonce, &sealed])
        );
        let (plain, appid) = open(&sealed);
        assert_eq!(appid, APPID);
        assert!(reply_text(&plain).contains("编号 MS"), "{plain}");
        // The retry gets the same answer and no second case.
        let (_, again) = send_raw(&app, &q, body).await;
        assert_eq!(
            reply_text(&open(&element(&again, "Encrypt").unwrap()).0),
            reply_text(&plain)
        );
        assert_eq!(case_count(&app).await, 1);
    })
    .await;
}

#[tokio::test]
async fn bad_signatures_are_401_and_change_nothing() {
    on_each_backend(configure, |app| async move {
        World::build(&app).await;
        let msg = text_msg(
            "o-evil",
            "8000000000000000001",
            "伪造的消息内容不应该被保存",
        );
        let (ts, nonce) = (now_ts().to_string(), "1");
        for sig in [
            "",
            "0000000000000000000000000000000000000000",
            &sign(&["other-token", &ts, nonce]),
        ] {
            let (s, _) = send_raw(
                &app,
                &format!("signature={sig}&timestamp={ts}&nonce={nonce}"),
                msg.clone(),
            )
            .await;
            assert_eq!(s, 401);
        }
        assert_eq!(case_count(&app).await, 0);
        // The MsgId was not used up: the genuine message still makes its case.
        let (s, _) = send_plain(&app, &msg).await;
        assert_eq!(s, 200);
        assert_eq!(case_count(&app).await, 1);
    })
    .await;
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_4xx() {
    on_each_backend(configure_safe, |app| async move {
        World::build(&app).await;
        let huge = text_msg("o-big", "9000000000000000001", &"长".repeat(40_000));
        assert_eq!(send_safe(&app, &huge).await.0, 413);
        assert_eq!(send_safe(&app, "<xml><Content>unclosed</xml>").await.0, 400);
        assert_eq!(send_safe(&app, "not xml at all").await.0, 400);
        assert_eq!(
            send_safe(&app, "<xml><MsgType>text</MsgType></xml>")
                .await
                .0,
            400
        );
        let ts = now_ts().to_string();
        for enc in ["!!!not base64!!!", "AAAA", &STANDARD.encode([0u8; 32])] {
            let body = format!("<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>");
            let q = format!(
                "timestamp={ts}&nonce=1&encrypt_type=aes&msg_signature={}",
                sign(&[TOKEN, &ts, "1", enc])
            );
            assert_eq!(send_raw(&app, &q, body).await.0, 400, "{enc}");
        }
        let q = format!(
            "timestamp={ts}&nonce=1&encrypt_type=aes&msg_signature={}",
            sign(&[TOKEN, &ts, "1"])
        );
        assert_eq!(send_raw(&app, &q, "<xml></xml>".into()).await.0, 400);
        let r = app
            .client
            .put(app.url("/wechat/callback"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405);
        assert_eq!(case_count(&app).await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_replayed_callback_is_refused_on_every_instance_but_wechats_retry_gets_its_reply() {
    on_each_backend(configure, |a| async move {
        let b = spawn_instance_sharing(&a, configure).await;
        World::build(&a).await;
        let (ts, nonce) = (now_ts(), fresh_nonce());
        let q = plain_query(ts, &nonce);
        let first = text_msg("o-r", "5100000000000000001", "桥下的排水口堵住了,一下雨就积水");
        let (s, body) = send_raw(&a, &q, first.clone()).await;
        assert_eq!(s, 200, "{body}");
        let reply = reply_text(&body);
        // WeChat's retry of it, reaching the other instance: the stored reply.
        let (s, again) = send_raw(&b, &q, first.clone()).await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(reply_text(&again), reply);
        // Another message under the same (timestamp, nonce), signed alike: a replay, on
        // either instance, and nothing is made of it.
        let forged = text_msg("o-r", "5100000000000000002", "有人伪造的另一条消息内容");
        for app in [&b, &a] {
            let (s, body) = send_raw(app, &q, forged.clone()).await;
            assert_eq!((s, body.as_str()), (401, "replayed"));
        }
        let forged_other = text_msg("o-someone", "5100000000000000001", "冒用他人的消息编号");
        assert_eq!(send_raw(&a, &q, forged_other).await, (401, "replayed".into()));
        assert_eq!(case_count(&a).await, 1);
        // Events, which are not stored, are refused the second time too.
        let sub = "<xml><ToUserName>gh</ToUserName><FromUserName>o-r</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>";
        let q2 = plain_query(ts, &fresh_nonce());
        assert_eq!(send_raw(&a, &q2, sub.into()).await.0, 200);
        assert_eq!(send_raw(&b, &q2, sub.into()).await, (401, "replayed".into()));
        // The window: five minutes either way.
        let late = text_msg("o-r", "5100000000000000003", "五分钟以前发出的一条消息");
        for off in [-301, 301] {
            let (s, body) = send_raw(&a, &plain_query(now_ts() + off, &fresh_nonce()), late.clone()).await;
            assert_eq!((s, body.as_str()), (401, "stale_timestamp"), "{off}");
        }
        let (s, _) = send_raw(&a, &plain_query(now_ts() - 200, &fresh_nonce()), late).await;
        assert_eq!(s, 200);
        assert_eq!(case_count(&a).await, 2);
        // Pairs older than the window are pruned when a new one is recorded.
        let db = &a.state.db;
        let old = now_ts() - 1_000;
        assert!(db.wechat_nonce_fresh(old, "n", old - 1).await.unwrap());
        assert!(!db.wechat_nonce_fresh(old, "n", old - 1).await.unwrap());
        assert!(db.wechat_nonce_fresh(now_ts(), &fresh_nonce(), now_ts() - 300).await.unwrap());
        assert!(db.wechat_nonce_fresh(old, "n", old - 1).await.unwrap(), "pruned");
    })
    .await;
}

#[tokio::test]
async fn one_senders_msg_id_never_gets_anothers_stored_reply() {
    on_each_backend(configure, |app| async move {
        World::build(&app).await;
        let (_, mine) =
            send_plain(&app, &text_msg("o-alice", "42", "我家楼下的路灯坏了很久了")).await;
        let mine = reply_text(&mine);
        assert!(mine.contains("编号 MS"), "{mine}");
        // Another follower whose message has the same MsgId gets an answer of their own.
        let (s, theirs) = send_plain(&app, &text_msg("o-mallory", "42", "查询 MS1")).await;
        assert_eq!(s, 200);
        let theirs = reply_text(&theirs);
        assert_ne!(theirs, mine);
        assert!(theirs.contains("未找到"), "{theirs}");
        let (_, theirs) =
            send_plain(&app, &text_msg("o-bob", "42", "小区门口的垃圾三天没人清运")).await;
        assert_ne!(reply_text(&theirs), mine);
        assert_eq!(case_count(&app).await, 2);
    })
    .await;
}

#[tokio::test]
async fn with_an_aes_key_only_messages_sealed_for_our_appid_are_accepted() {
    on_each_backend(configure_safe, |app| async move {
        World::build(&app).await;
        let msg = text_msg("o-plain", "5200000000000000001", "不加密的消息不应再被接受");
        // Plain mode, correctly signed: its signature does not cover the body.
        let (s, body) = send_plain(&app, &msg).await;
        assert_eq!((s, body.as_str()), (401, "safe_mode_required"));
        // Safe mode without the msg_signature.
        let (q, body) = safe_request(now_ts(), &fresh_nonce(), &seal(&msg));
        let q = q.split("&msg_signature").next().unwrap().to_string();
        assert_eq!(
            send_raw(&app, &q, body).await,
            (401, "safe_mode_required".into())
        );
        // Sealed for another official account.
        let (q, body) = safe_request(now_ts(), &fresh_nonce(), &seal_for(&msg, "wx-another-app"));
        assert_eq!(send_raw(&app, &q, body).await, (401, "wrong_appid".into()));
        // A msg_signature over another Encrypt.
        let (q, _) = safe_request(now_ts(), "7", &seal("<xml></xml>"));
        let (_, body) = safe_request(now_ts(), "7", &seal(&msg));
        assert_eq!(
            send_raw(&app, &q, body).await,
            (401, "invalid_signature".into())
        );
        assert_eq!(case_count(&app).await, 0);
        let (s, _) = send_safe(&app, &msg).await;
        assert_eq!(s, 200);
        assert_eq!(case_count(&app).await, 1);
    })
    .await;
}

/// The server refuses to start with an EncodingAESKey but no official-account appid to
/// check messages against.
#[tokio::test]
async fn an_aes_key_without_the_official_accounts_appid_is_a_configuration_error() {
    let Some(bin) = crate::crash::binary() else {
        eprintln!("the minsheng binary is not built; skipping (cargo build -p minsheng-server)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db", dir.path().display());
    let run = |appid: Option<&str>| {
        let mut c = crate::crash::minsheng(&bin, &db, dir.path(), &["migrate"]);
        c.env("MINSHENG_WECHAT_TOKEN", TOKEN)
            .env("MINSHENG_WECHAT_AES_KEY", AES_KEY)
            .env_remove("MINSHENG_WECHAT_MP_APPID");
        if let Some(a) = appid {
            c.env("MINSHENG_WECHAT_MP_APPID", a);
        }
        c.output().unwrap()
    };
    let out = run(None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MINSHENG_WECHAT_MP_APPID"), "{err}");
    let out = run(Some(APPID));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A stand-in for WeChat's API host that counts the content checks it is asked for (and
/// answers each `pass`).
#[handler]
async fn stable_token() -> poem::Response {
    poem::Response::builder()
        .content_type("application/json")
        .body(json!({ "access_token": "tok", "expires_in": 7200 }).to_string())
}

#[handler]
async fn msg_sec_check(Data(calls): Data<&Arc<AtomicUsize>>) -> poem::Response {
    calls.fetch_add(1, Ordering::SeqCst);
    poem::Response::builder()
        .content_type("application/json")
        .body(
            json!({ "errcode": 0, "errmsg": "ok", "result": { "suggest": "pass", "label": 100 } })
                .to_string(),
        )
}

async fn fake_wechat(calls: Arc<AtomicUsize>) -> String {
    serve_stand_in(
        Route::new()
            .at("/cgi-bin/stable_token", post(stable_token))
            .at("/wxa/msg_sec_check", post(msg_sec_check))
            .data(calls),
    )
    .await
}

#[tokio::test]
async fn official_account_and_open311_cases_make_no_content_check_call_and_wait_for_the_desk() {
    let calls = Arc::new(AtomicUsize::new(0));
    let base = fake_wechat(calls.clone()).await;
    for backend in backends() {
        let base = base.clone();
        let app = spawn_app_on(&backend, move |c| {
            configure(c);
            c.wechat.api_base = base;
            c.wechat.appid = Some("wx-mini".into());
            c.wechat.secret = Some(minsheng_server::config::Secret::new("s"));
        })
        .await;
        let w = World::build(&app).await;
        let key = create_api_key(&app.state, "checked").await.unwrap();
        let before = calls.load(Ordering::SeqCst);
        let verdict = |id: i64| {
            let app = &app;
            async move {
                app.state
                    .db
                    .content_check(id)
                    .await
                    .unwrap()
                    .unwrap()
                    .verdict
            }
        };

        // The official account: stored and answered, marked unchecked, no call to WeChat.
        let (s, body) = send_plain(&app, &text_msg("o-a", "100", "公众号反映小区路灯不亮")).await;
        assert_eq!(s, 200);
        assert!(reply_text(&body).contains("编号 MS"), "{body}");
        assert_eq!(case_count(&app).await, 1);
        let mp_id = app.state.db.content_holds(10).await.unwrap()[0].case_id;
        assert_eq!(verdict(mp_id).await, "unchecked");

        // Open311: the same; the request asked to be public, and waits for the desk.
        let r = app
            .client
            .post(app.url("/open311/v2/requests.json"))
            .form(&[
                ("api_key", key.as_str()),
                ("service_code", "light"),
                ("address_string", "南宁西路"),
                ("description", "南宁西路的路灯不亮"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().await.unwrap();
        let no = v[0]["service_request_id"].as_str().unwrap().to_string();
        let id = app
            .state
            .db
            .case_id_by_tracking(&no)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(verdict(id).await, "unchecked");
        let get = |no: String| {
            let app = &app;
            async move {
                let url = app.url(&format!("/open311/v2/requests/{no}.json"));
                app.client.get(url).send().await.unwrap().status().as_u16()
            }
        };
        assert_eq!(get(no.clone()).await, 404, "private until the desk decides");

        // The retry loop leaves unchecked cases alone.
        let far = minsheng_server::now_ms() + 86_400_000;
        let settled = minsheng_server::channels::content_check::retry_due(&app.state, far)
            .await
            .unwrap();
        assert_eq!(settled, 0);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            before,
            "WeChat was never asked"
        );

        // The desk sees it, reads the Open311 case and publishes it, as its client asked.
        let holds = app
            .get("/api/v1/content-holds", &w.dispatcher)
            .await
            .expect(200);
        let hold = holds
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["tracking_no"] == json!(no));
        assert_eq!(hold.unwrap()["verdict"], "unchecked", "{holds}");
        app.post(
            &format!("/api/v1/content-holds/{id}/decision"),
            &w.dispatcher,
            json!({ "publish": true }),
        )
        .await
        .expect(204);
        assert_eq!(get(no).await, 200);
    }
}

/// The tracking number in a draft's reply.
fn number_in(reply: &str) -> String {
    reply
        .split("编号 ")
        .nth(1)
        .unwrap_or_else(|| panic!("a tracking number in {reply}"))
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

#[tokio::test]
async fn a_query_with_a_full_width_colon_answers_the_status_and_files_nothing() {
    on_each_backend(configure, |app| async move {
        World::build(&app).await;
        let (_, body) =
            send_plain(&app, &text_msg("o-colon", "8001", "小区门口的井盖松动了")).await;
        let no = number_in(&reply_text(&body));
        assert_eq!(case_count(&app).await, 1);
        // 查询：MS… as a Chinese keyboard types it (U+FF1A).
        let (status, body) = send_plain(
            &app,
            &text_msg("o-colon", "8002", &format!("查询\u{ff1a}{no}")),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let reply = reply_text(&body);
        assert!(reply.contains("当前状态"), "{reply}");
        assert!(reply.contains(&no), "{reply}");
        assert_eq!(case_count(&app).await, 1, "a query is not a new complaint");
    })
    .await;
}

#[tokio::test]
async fn the_link_in_a_reply_shows_that_one_case_read_only_to_a_follower_for_thirty_days() {
    on_each_backend(configure, |app| async move {
        let w = World::build(&app).await;
        let (_, body) = send_plain(
            &app,
            &text_msg("o-link", "9001", "菜市场旁边的垃圾三天没清运了"),
        )
        .await;
        let reply = reply_text(&body);
        let no = number_in(&reply);
        let link = reply
            .split_whitespace()
            .find(|p| p.starts_with("https://ms.example.cn/w/track#link="))
            .unwrap_or_else(|| panic!("a signed link in {reply}"));
        let token = link.split("#link=").nth(1).unwrap().to_string();
        let id = app
            .state
            .db
            .case_id_by_tracking(&no)
            .await
            .unwrap()
            .unwrap();
        // The desk moves the case on: the link shows it as it is now.
        app.act(&w.dispatcher, id, json!({ "action": "accept" }))
            .await
            .expect(200);

        // No login: the case as its owner sees it, with its timeline, and nothing to do.
        let r = app
            .client
            .get(app.url(&format!("/api/v1/public/case-links/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["id"], id);
        assert_eq!(v["tracking_no"], no.as_str());
        assert_eq!(v["status"], "accepted");
        assert_eq!(v["description"], "菜市场旁边的垃圾三天没清运了");
        assert!(v["timeline"].as_array().unwrap().len() >= 2, "{v}");
        assert_eq!(v["allowed_actions"], json!([]), "read-only");

        let get = |t: String| {
            let app = &app;
            async move {
                let r = app
                    .client
                    .get(app.url(&format!("/api/v1/public/case-links/{t}")))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let v: Value = r.json().await.unwrap();
                (status, v["code"].as_str().unwrap_or("").to_string())
            }
        };
        // Another case's id under this signature, or a changed signature: nothing.
        let (case_part, rest) = token.split_once('.').unwrap();
        let other = format!("{}.{rest}", case_part.parse::<i64>().unwrap() + 1);
        assert_eq!(get(other).await, (404, "link_invalid".into()));
        let flipped = format!(
            "{}{}",
            &token[..token.len() - 1],
            if token.ends_with('A') { 'B' } else { 'A' }
        );
        assert_eq!(get(flipped).await, (404, "link_invalid".into()));
        assert_eq!(get("1.2.3".into()).await, (404, "link_invalid".into()));

        // Signed with our key 31 days ago: expired (a new query gives a new link).
        let key = minsheng_server::channels::track_link::key(&app.state.cfg).unwrap();
        let old = minsheng_server::channels::track_link::sign(&key, id, now_ts() - 31 * 86_400);
        assert_eq!(get(old).await, (404, "link_expired".into()));
        let fresh29 = minsheng_server::channels::track_link::sign(&key, id, now_ts() - 29 * 86_400);
        assert_eq!(get(fresh29).await.0, 200);
        let (_, body) = send_plain(&app, &text_msg("o-link", "9002", &format!("查询 {no}"))).await;
        assert!(reply_text(&body).contains("/w/track#link="), "{body}");
    })
    .await;
}

/// A WeChat API host that answers every call after `SLOW`, and refuses the first token it
/// issued (so the content check refreshes it and asks again).
const SLOW: std::time::Duration = std::time::Duration::from_millis(1_800);

#[handler]
async fn slow_token(Data(n): Data<&Arc<std::sync::atomic::AtomicU32>>) -> Json<Value> {
    tokio::time::sleep(SLOW).await;
    let i = n.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "access_token": format!("slow-{i}"), "expires_in": 7200 }))
}

#[handler]
async fn slow_check(
    poem::web::Query(q): poem::web::Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    tokio::time::sleep(SLOW).await;
    if q.get("access_token").map(String::as_str) == Some("slow-0") {
        return Json(json!({ "errcode": 40001, "errmsg": "invalid credential" }));
    }
    Json(json!({ "errcode": 0, "errmsg": "ok", "result": { "suggest": "pass", "label": 100 } }))
}

#[tokio::test]
async fn a_slow_wechat_api_never_keeps_the_callback_past_its_budget_and_the_message_is_still_handled()
 {
    let counter = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let base = serve_stand_in(
        Route::new()
            .at("/cgi-bin/stable_token", post(slow_token))
            .at("/cgi-bin/token", poem::get(slow_token))
            .at("/wxa/msg_sec_check", post(slow_check))
            .data(counter.clone()),
    )
    .await;
    for backend in backends() {
        counter.store(0, Ordering::SeqCst);
        let base = base.clone();
        let app = spawn_app_on(&backend, move |c| {
            configure(c);
            c.wechat.api_base = base;
            c.wechat.appid = Some("wx-mini".into());
            c.wechat.secret = Some(minsheng_server::config::Secret::new("s"));
        })
        .await;
        World::build(&app).await;
        // Today a follower's message asks WeChat nothing (its content check is left to the
        // desk): this holds the callback to its budget whatever a later change calls here.
        let started = std::time::Instant::now();
        let (status, body) = send_plain(
            &app,
            &text_msg("o-slow", "9101", "公交站台的顶棚漏雨很严重"),
        )
        .await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{body}");
        assert!(
            took < std::time::Duration::from_millis(4_500),
            "answered after {took:?} ({})",
            app.backend
        );
        // The handling went on: the draft is stored once WeChat's API has answered.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while case_count(&app).await == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "no draft ({})",
                app.backend
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn an_internal_error_answers_wechat_200_with_an_apology_never_a_5xx() {
    on_each_backend(configure, |app| async move {
        // The table of handled messages is gone: every lookup fails.
        let sql = "ALTER TABLE wechat_messages RENAME TO wechat_messages_away";
        match &app.state.db {
            minsheng_server::storage::Db::Sqlite(p) => {
                sqlx::query(sql).execute(p).await.unwrap();
            }
            minsheng_server::storage::Db::Postgres(p) => {
                sqlx::query(sql).execute(p).await.unwrap();
            }
        }
        let (status, body) = send_plain(&app, &text_msg("o-err", "9201", "路口信号灯不亮了")).await;
        assert_eq!(status, 200, "{body}");
        assert!(reply_text(&body).contains("系统繁忙"), "{body}");
        assert!(!body.contains("internal"), "{body}");
    })
    .await;
}
