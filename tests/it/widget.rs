//! `/widget.js`: the visitor widget as another site's page loads it.

use crate::harness::TestServer;

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

#[tokio::test]
async fn the_widget_script_is_served_to_any_origin_with_a_short_cache() {
    let s = TestServer::start().await;
    let http = &s.client().http;
    let url = format!("{}/widget.js", s.base);
    let r = http.get(&url).header("Origin", "https://shop.example").send().await.expect("get");
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").is_some_and(|v| v.starts_with("text/javascript")));
    assert_eq!(header(&r, "cache-control").as_deref(), Some("public, max-age=300"));
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some("*"));
    assert_eq!(header(&r, "cross-origin-resource-policy").as_deref(), Some("cross-origin"));
    let etag = header(&r, "etag").expect("an etag");
    let body = r.text().await.expect("body");
    assert!(body.contains("data-campaign") && body.contains("/ws/visitor"), "the widget itself");
    // Text from data only ever goes through textContent: no HTML parsing sink in the widget.
    for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
        assert!(!body.contains(sink), "widget.js must not use {sink}");
    }

    let again = http.get(&url).header("If-None-Match", &etag).send().await.expect("conditional get");
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag").as_deref(), Some(etag.as_str()));

    let head = http.head(&url).send().await.expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "access-control-allow-origin").as_deref(), Some("*"));
}
