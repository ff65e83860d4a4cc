//! Health, metrics, the OpenAPI document, the JSON API, assets and response headers.

use crate::harness::*;

#[tokio::test]
async fn healthz_metrics_and_openapi() {
    let s = TestServer::start().await;
    let c = s.client();
    let h = c.get("/healthz").await;
    h.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&h.body).expect("json");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    s.owner().await.post("/admin/sites", &[("name", "Acme")]).await;
    let m = c.get("/metrics").await;
    m.assert_ok()
        .assert_contains("# TYPE parley_store_commits_total counter")
        .assert_contains("parley_http_responses_total{class=\"2xx\"}");
    let commits: u64 = m
        .body
        .lines()
        .find(|l| l.starts_with("parley_store_commits_total "))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|n| n.parse().ok())
        .expect("commits");
    assert!(commits >= 2, "a sign-in and a site were committed: {commits}");
    let api = c.get("/api/openapi.json").await;
    api.assert_ok();
    let doc: serde_json::Value = serde_json::from_str(&api.body).expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    assert!(doc["paths"]["/api/v1/me"].is_object() || doc["paths"]["/v1/me"].is_object(), "{}", doc["paths"]);
}

#[tokio::test]
async fn the_api_needs_a_session_and_shows_only_the_callers_site() {
    let s = TestServer::start().await;
    s.client().get("/api/v1/me").await.assert_status(401);
    let o = s.owner().await;
    let me: serde_json::Value = serde_json::from_str(&o.get("/api/v1/me").await.body).expect("json");
    assert_eq!(me["role"], "owner");
    assert_eq!(me["email"], OWNER_EMAIL);
    let site = create_site(&o, "Acme").await;
    create_person(&o, site, "Ann", "ann@example.com", "agent", "ann-password-1").await;
    let ann = s.client();
    ann.login_ok("ann@example.com", "ann-password-1").await;
    let agents: serde_json::Value =
        serde_json::from_str(&ann.get(&format!("/api/v1/sites/{site}/agents")).await.body).expect("json");
    assert_eq!(agents[0]["email"], "ann@example.com");
    let other = create_site(&o, "Globex").await;
    ann.get(&format!("/api/v1/sites/{other}/agents")).await.assert_status(404);
}

#[tokio::test]
async fn pages_carry_security_headers_and_assets_are_fingerprinted() {
    let s = TestServer::start().await;
    let r = s.client().http.get(format!("{}/login", s.base)).send().await.expect("get");
    let h = r.headers().clone();
    let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(h.get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
    let body = r.text().await.expect("body");
    let i = body.find("/static/").expect("stylesheet link");
    let href = body[i..].split('"').next().expect("href").to_string();
    let css = s.client().http.get(format!("{}{href}", s.base)).send().await.expect("css");
    assert_eq!(css.status(), 200);
    assert!(css.headers().get("cache-control").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("immutable")));
    assert!(css.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/css")));
    let head = s.client().http.head(format!("{}{href}", s.base)).send().await.expect("head");
    assert_eq!(head.status(), 200, "HEAD works on assets");
    let stale = s.client().http.get(format!("{}/static/000000000000/app.css", s.base)).send().await.expect("stale");
    assert_eq!(stale.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-cache"));
    s.client().get("/static/000000000000/nope.css").await.assert_status(404);
}

/// GET `path` accepting `encoding`: (status, headers, body decoded).
async fn fetch_encoded(base: &str, path: &str, encoding: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("accept-encoding", encoding)
        .send()
        .await
        .expect("get");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    let raw = r.bytes().await.expect("body").to_vec();
    let body = match headers.get("content-encoding").and_then(|v| v.to_str().ok()) {
        Some("br") => {
            let mut out = Vec::new();
            brotli::BrotliDecompress(&mut &raw[..], &mut out).expect("brotli");
            out
        }
        Some("gzip") => {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut out).expect("gzip");
            out
        }
        None => raw,
        Some(other) => panic!("unexpected encoding {other}"),
    };
    (status, headers, body)
}

#[tokio::test]
async fn assets_pages_and_json_are_compressed_when_the_browser_accepts_it() {
    let s = TestServer::start().await;
    let header = |h: &reqwest::header::HeaderMap, k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (_, plain_h, plain) = fetch_encoded(&s.base, "/widget.js", "identity").await;
    assert_eq!(header(&plain_h, "content-encoding"), None);
    assert_eq!(header(&plain_h, "vary").as_deref(), Some("accept-encoding"));
    for (accept, coding) in [("gzip, deflate, br", "br"), ("gzip", "gzip")] {
        let r = reqwest::Client::new()
            .get(format!("{}/widget.js", s.base))
            .header("accept-encoding", accept)
            .send()
            .await
            .expect("get");
        let sent =
            r.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
        assert!(sent.is_some_and(|n| n * 3 < plain.len()), "{coding}: {sent:?} bytes of {}", plain.len());
        let (status, h, body) = fetch_encoded(&s.base, "/widget.js", accept).await;
        assert_eq!((status, header(&h, "content-encoding").as_deref()), (200, Some(coding)));
        assert_eq!(header(&h, "vary").as_deref(), Some("accept-encoding"));
        assert_eq!(body, plain, "the {coding} variant is the same script");
        assert!(header(&h, "etag").is_some_and(|e| e.ends_with(&format!("-{coding}\""))), "{:?}", header(&h, "etag"));
        // Revalidating the compressed variant: 304.
        let etag = header(&h, "etag").unwrap_or_default();
        let again = reqwest::Client::new()
            .get(format!("{}/widget.js", s.base))
            .header("accept-encoding", accept)
            .header("if-none-match", etag)
            .send()
            .await
            .expect("get");
        assert_eq!(again.status(), 304);
    }
    // A fingerprinted stylesheet, a page and the OpenAPI document.
    let login = s.client().get("/login").await.body;
    let css =
        login.split("href=\"").skip(1).map(|p| p.split('"').next().unwrap_or_default()).find(|u| u.ends_with(".css"));
    let css = css.expect("a stylesheet on the sign-in page").to_string();
    for path in [css.as_str(), "/login", "/api/openapi.json"] {
        let (_, plain_h, plain) = fetch_encoded(&s.base, path, "identity").await;
        let (status, h, body) = fetch_encoded(&s.base, path, "br").await;
        assert_eq!((status, header(&h, "content-encoding").as_deref()), (200, Some("br")), "{path}");
        assert!(header(&h, "vary").is_some_and(|v| v.contains("accept-encoding")), "{path}");
        assert_eq!(header(&plain_h, "content-encoding"), None, "{path}");
        if path == "/login" {
            // The page carries a fresh CSRF token each time: compare its frame, not its bytes.
            assert!(String::from_utf8_lossy(&body).contains("<form"), "{path}");
        } else {
            assert_eq!(body, plain, "{path}");
        }
    }
    // Small answers go out as they are.
    let (_, h, _) = fetch_encoded(&s.base, "/healthz", "br").await;
    assert_eq!(header(&h, "content-encoding"), None);
}
