//! Files in chat over real HTTP and sockets: upload, send, fetch, exactly once, who may read a
//! file, every refusal of bad input, and a visitor's export and erasure with files.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A small but real PNG (1×1, RGBA).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

const PDF: &[u8] =
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// An upload by a visitor (their token) for `chat`: (status, JSON answer, headers).
async fn visitor_upload(
    base: &str,
    token: &str,
    chat: u64,
    name: impl Into<String>,
    body: Vec<u8>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/api/visitor/uploads"),
        &[("chat", chat.to_string()), ("name", name.into())],
    )
    .expect("url");
    let resp = reqwest::Client::new().post(url).bearer_auth(token).body(body).send().await.expect("upload");
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}

/// An upload by an agent (their session and CSRF header).
async fn agent_upload(agent: &Client, chat: u64, name: &str, body: Vec<u8>, csrf: bool) -> (StatusCode, Value) {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/console/uploads", agent.base),
        &[("chat", chat.to_string()), ("name", name.to_string())],
    )
    .expect("url");
    let mut req = agent.http.post(url).body(body);
    if csrf {
        req = req.header("x-csrf-token", agent.csrf().await);
    }
    let resp = req.send().await.expect("upload");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A visitor in a chat with the org's agent: (visitor socket, token, chat, agent socket).
async fn chat_with_agent(base: &str, o: &Org) -> (Ws, String, u64, Ws) {
    let (mut a, _) = agent(&o.agent, json!([])).await;
    let (mut v, welcome) = visitor(base, o.campaign, None, None).await;
    assert_eq!(welcome["files"]["max_bytes"], 10 * 1024 * 1024);
    assert_eq!(welcome["files"]["types"], json!(["image", "pdf", "text", "office"]));
    let token = welcome["token"].as_str().expect("token").to_string();
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
    a.until_type("assigned").await;
    (v, token, chat, a)
}

async fn fetch(http: &reqwest::Client, url: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut req = http.get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("GET file")
}

#[tokio::test]
async fn a_visitors_photo_reaches_the_agent_once_and_only_the_chats_readers_can_fetch_it() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Shop").await;
    let (mut v, token, chat, mut a) = chat_with_agent(&s.base, &o).await;

    let (status, up, _) = visitor_upload(&s.base, &token, chat, "parcel.PNG", PNG.to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    assert_eq!(
        (up["type"].as_str(), up["size"].as_u64(), up["image"].as_bool()),
        (Some("image/png"), Some(PNG.len() as u64), Some(true))
    );
    let upload = up["upload"].as_u64().expect("upload id");
    v.send(json!({"type": "message", "chat": chat, "id": "f1", "upload": upload, "text": "the box"})).await;
    let ack = v.until_type("ack").await;
    let got = a.until(|f: &Value| f["type"] == "event" && f["kind"] == "message").await;
    assert_eq!(got["seq"], ack["seq"]);
    assert_eq!(got["text"], "the box");
    let file = &got["file"];
    assert_eq!(
        (file["name"].as_str(), file["type"].as_str(), file["image"].as_bool()),
        (Some("parcel.PNG"), Some("image/png"), Some(true))
    );
    let url = format!("{}{}", s.base, file["url"].as_str().expect("url"));
    // The visitor's own event came before its ack.
    let mine = v.seen.iter().find(|f| f["type"] == "event" && f["kind"] == "message").expect("the visitor's event");
    assert_eq!(mine["file"]["url"], file["url"], "the visitor sees the same file");

    // Exactly once: the same message id again is only acknowledged; another id cannot reuse it.
    v.send(json!({"type": "message", "chat": chat, "id": "f1", "upload": upload, "text": "the box"})).await;
    assert_eq!(v.until_type("ack").await["seq"], ack["seq"]);
    v.send(json!({"type": "message", "chat": chat, "id": "f2", "upload": upload})).await;
    let e = v.until_type("error").await;
    assert_eq!((e["code"].as_str(), e["id"].as_str()), (Some("upload_not_found"), Some("f2")));
    a.send(json!({"type": "history", "chat": chat})).await;
    let h = a.until_type("history").await;
    let files = h["events"].as_array().expect("events").iter().filter(|e| !e["file"].is_null()).count();
    assert_eq!(files, 1, "one event carries the file: {h}");

    // The agent (session) and the visitor (token) get the bytes, with the safe headers.
    let r = fetch(&o.agent.http, &url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.headers()["content-disposition"].to_str().expect("cd").starts_with("inline"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["content-security-policy"].to_str().expect("csp").contains("sandbox"));
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), PNG);
    let plain = reqwest::Client::new();
    let r = fetch(&plain, &url, Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), PNG);
    // Nobody else: no credentials, another visitor, another site's agent, a wrong key.
    assert_eq!(fetch(&plain, &url, None).await.status(), StatusCode::NOT_FOUND);
    let (_other, other_welcome) = visitor(&s.base, o.campaign, None, None).await;
    assert_eq!(fetch(&plain, &url, other_welcome["token"].as_str()).await.status(), StatusCode::NOT_FOUND);
    let b = org(&s.base, &owner, "Other").await;
    assert_eq!(fetch(&b.agent.http, &url, None).await.status(), StatusCode::NOT_FOUND);
    let parts: Vec<&str> = url.rsplitn(3, '/').collect();
    let wrong = url.replace(parts[1], &"0".repeat(parts[1].len()));
    assert_eq!(fetch(&o.agent.http, &wrong, None).await.status(), StatusCode::NOT_FOUND);
    owner.get(&format!("/admin/sites/{}/chats/{chat}", o.site)).await.assert_ok().assert_contains("parcel.PNG");
    // The agent sends a PDF: a download for the visitor.
    let (status, up) = agent_upload(&o.agent, chat, "invoice.pdf", PDF.to_vec(), true).await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    a.send(json!({"type": "message", "chat": chat, "id": "a1", "upload": up["upload"]})).await;
    let ev = v.until(|f: &Value| f["type"] == "event" && f["author"]["by"] == "agent" && !f["file"].is_null()).await;
    assert_eq!((ev["file"]["image"].as_bool(), ev["text"].as_str()), (Some(false), Some("")));
    let r = fetch(&plain, &format!("{}{}", s.base, ev["file"]["url"].as_str().expect("url")), Some(&token)).await;
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(r.headers()["content-disposition"].to_str().expect("cd").starts_with("attachment"));
    // Without the CSRF header, an agent's upload is refused.
    assert_eq!(agent_upload(&o.agent, chat, "x.pdf", PDF.to_vec(), false).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_uploads_get_explicit_answers_and_keep_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    let s = TestServer::start_in(dir, "[chat]\nmax_file_bytes = 1048576\nsite_files_mb = 2\n").await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Shop").await;
    let (mut v, token, chat, _a) = chat_with_agent_limits(&s.base, &o).await;
    let up = |name: &str, body: Vec<u8>| visitor_upload(&s.base, &token, chat, name.to_string(), body);

    let (status, e, _) = up("big.png", [PNG, &vec![0u8; 1_100_000]].concat()).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));
    assert!(e["message"].as_str().expect("message").contains("1 MiB"), "{e}");
    let (status, e, _) = up("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00".to_vec()).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("type_not_allowed")), "{e}");
    let (status, e, _) = up("empty.txt", Vec::new()).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::BAD_REQUEST, Some("empty_file")));
    let (status, e, _) = up("invoice.png", PDF.to_vec()).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("type_mismatch")), "{e}");
    assert!(e["message"].as_str().expect("message").contains(".png"), "{e}");
    let (status, ok, _) = up(&format!("../../{}.pdf", "n".repeat(10_000)), PDF.to_vec()).await;
    assert_eq!(status, StatusCode::CREATED);
    let name = ok["name"].as_str().expect("name");
    assert!(name.chars().count() == 200 && name.ends_with(".pdf") && !name.contains('/'), "{name}");
    let (status, ok, _) = up("page.html", b"<!doctype html><script>alert(1)</script>".to_vec()).await;
    assert_eq!(
        (status, ok["type"].as_str(), ok["image"].as_bool()),
        (StatusCode::CREATED, Some("text/html"), Some(false))
    );

    // Another chat's upload, another visitor's, another site's: not sendable here.
    let (mut v2, w2) = visitor(&s.base, o.campaign, None, None).await;
    let t2 = w2["token"].as_str().expect("token").to_string();
    v2.send(json!({"type": "start", "fields": {"name": "Max"}})).await;
    let chat2 = v2.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
    let (_, theirs, _) = visitor_upload(&s.base, &t2, chat2, "a.pdf", PDF.to_vec()).await;
    v.send(json!({"type": "message", "chat": chat, "id": "x1", "upload": theirs["upload"]})).await;
    assert_eq!(v.until_type("error").await["code"], "upload_not_found");
    let (status, _, _) = visitor_upload(&s.base, &token, chat2, "a.pdf", PDF.to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not into another visitor's chat");
    let b = org(&s.base, &owner, "Other").await;
    let (mut bv, btoken, bchat, _ba) = chat_with_agent_limits(&s.base, &b).await;
    let (_, bup, _) = visitor_upload(&s.base, &btoken, bchat, "b.pdf", PDF.to_vec()).await;
    v.send(json!({"type": "message", "chat": chat, "id": "x2", "upload": bup["upload"]})).await;
    assert_eq!(v.until_type("error").await["code"], "upload_not_found", "another site's upload");
    bv.send(json!({"type": "message", "chat": bchat, "id": "x3", "upload": ok["upload"]})).await;
    assert_eq!(bv.until_type("error").await["code"], "upload_not_found");
    let (status, _, _) = visitor_upload(&s.base, "not-a-token", chat, "a.pdf", PDF.to_vec()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The site's quota (2 MiB): 900 KB files until it is full.
    let big = [PDF, &vec![b' '; 900_000]].concat();
    let mut answers = Vec::new();
    for i in 0..3 {
        answers.push(up(&format!("q{i}.pdf"), big.clone()).await.0);
    }
    assert_eq!(answers, vec![StatusCode::CREATED, StatusCode::CREATED, StatusCode::INSUFFICIENT_STORAGE]);

    // A flood: 20 uploads a minute, then 429 with Retry-After.
    let mut last = (StatusCode::CREATED, Value::Null, reqwest::header::HeaderMap::new());
    for _ in 0..20 {
        last = up("n.txt", b"note".to_vec()).await;
        if last.0 == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!((last.0, last.1["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert!(last.2.get("retry-after").is_some());
}

/// `chat_with_agent` for a server with other file limits (its welcome says them).
async fn chat_with_agent_limits(base: &str, o: &Org) -> (Ws, String, u64, Ws) {
    let (mut a, _) = agent(&o.agent, json!([])).await;
    let (mut v, welcome) = visitor(base, o.campaign, None, None).await;
    let token = welcome["token"].as_str().expect("token").to_string();
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
    a.until_type("assigned").await;
    (v, token, chat, a)
}

#[tokio::test]
async fn files_are_in_the_visitors_export_and_gone_with_their_erasure_and_a_site_can_refuse_them() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Shop").await;
    let (mut v, token, chat, mut a) = chat_with_agent(&s.base, &o).await;
    let (_, up, _) = visitor_upload(&s.base, &token, chat, "parcel.png", PNG.to_vec()).await;
    v.send(json!({"type": "message", "chat": chat, "id": "f1", "upload": up["upload"]})).await;
    v.until_type("ack").await;
    let ev = a.until(|f: &Value| f["type"] == "event" && !f["file"].is_null()).await;
    let url = format!("{}{}", s.base, ev["file"]["url"].as_str().expect("url"));
    v.send(json!({"type": "end", "chat": chat})).await;
    v.until(|f: &Value| f["type"] == "event" && f["kind"] == "ended").await;
    let visitor_id = {
        let (_, w) = visitor(&s.base, o.campaign, Some(&token), None).await;
        w["visitor"].as_u64().expect("visitor")
    };
    let export = owner.get(&format!("/admin/sites/{}/visitors/{visitor_id}/export", o.site)).await;
    let export: Value = serde_json::from_str(&export.body).expect("export JSON");
    let files = export["files"].as_array().expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["name"], "parcel.png");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(files[0]["content_base64"].as_str().expect("b64"))
        .expect("b64");
    assert_eq!(bytes, PNG);
    drop((v, a));
    owner
        .post(&format!("/admin/sites/{}/visitors/{visitor_id}/erase", o.site), &[])
        .await
        .assert_redirect("/admin/sites/");
    assert_eq!(fetch(&o.agent.http, &url, None).await.status(), StatusCode::NOT_FOUND, "erased with the visitor");

    // The site turns files off: the welcome says so and uploads are refused.
    let settings = format!("/admin/sites/{}/settings", o.site);
    owner.post(&settings, &[("warm_timeout_secs", "30"), ("mail_language", "en")]).await.assert_redirect(&settings);
    let (mut v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    assert!(welcome["files"].is_null(), "{welcome}");
    let token = welcome["token"].as_str().expect("token");
    let (_a2, _) = agent(&o.agent, json!([])).await;
    v.send(json!({"type": "start", "fields": {"name": "Max"}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
    let (status, e, _) = visitor_upload(&s.base, token, chat, "p.png", PNG.to_vec()).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("files_disabled")));
    // Only images: a PDF is refused.
    owner
        .post(
            &settings,
            &[("warm_timeout_secs", "30"), ("mail_language", "en"), ("files_enabled", "on"), ("file_types", "image")],
        )
        .await
        .assert_redirect(&settings);
    let (status, e, _) = visitor_upload(&s.base, token, chat, "a.pdf", PDF.to_vec()).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("type_not_allowed")));
    assert_eq!(visitor_upload(&s.base, token, chat, "p.png", PNG.to_vec()).await.0, StatusCode::CREATED);
}
