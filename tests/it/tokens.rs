//! API tokens: made on the admin pages, shown once, used as `Authorization: Bearer` on the JSON
//! API, limited to their site (every route), revocable, rate limited, their last use shown.

use crate::harness::*;
use reqwest::StatusCode;

/// Make a token on `path` (a site's or the owner's tokens page); returns its secret.
async fn make_token(admin: &Client, path: &str, name: &str) -> String {
    let page = admin.post(path, &[("name", name), ("scope", "read"), ("expires_days", "30")]).await;
    page.assert_ok().assert_contains("not shown again");
    let start = page.body.find("<code id=\"token-secret\">").expect("the secret") + "<code id=\"token-secret\">".len();
    let secret = page.body[start..].split('<').next().expect("secret").to_string();
    assert!(secret.starts_with("parley_") && secret.len() == 71, "{secret}");
    assert!(!admin.get(path).await.body.contains(&secret), "the secret is shown once");
    secret
}

async fn api(base: &str, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new().get(format!("{base}/api{path}")).bearer_auth(token).send().await.expect("GET")
}

const ROUTES: [&str; 5] = ["agents", "departments", "campaigns", "canned", "visitors/live"];

#[tokio::test]
async fn a_sites_token_reads_its_site_and_nothing_of_another_until_revoked() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let a = org(&s.base, &owner, "Alpha").await;
    let b = org(&s.base, &owner, "Beta").await;
    create_person(&owner, a.site, "Ada Admin", "ada@alpha.example", "admin", "admin-password-1").await;
    let ada = s.client();
    ada.login_ok("ada@alpha.example", "admin-password-1").await;
    let token = make_token(&ada, &format!("/admin/sites/{}/tokens", a.site), "CRM").await;

    for route in ROUTES {
        let r = api(&s.base, &token, &format!("/v1/sites/{}/{route}", a.site)).await;
        assert_eq!(r.status(), StatusCode::OK, "{route}");
        let r = api(&s.base, &token, &format!("/v1/sites/{}/{route}", b.site)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "another site's {route}");
        assert_eq!(api(&s.base, &token, &format!("/v1/sites/999/{route}")).await.status(), StatusCode::NOT_FOUND);
    }
    let agents: serde_json::Value =
        api(&s.base, &token, &format!("/v1/sites/{}/agents", a.site)).await.json().await.expect("json");
    assert!(agents.to_string().contains("ada@alpha.example"));
    assert_eq!(
        api(&s.base, "parley_wrong", &format!("/v1/sites/{}/agents", a.site)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The page shows its last use; another site's admin cannot see or revoke it; an agent has no page.
    // Its expiry is set, so "never" could only be its last use.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let list = loop {
        let list = ada.get(&format!("/admin/sites/{}/tokens", a.site)).await;
        if !list.body.contains("<td>never</td>") || std::time::Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(list.body.contains("CRM") && list.body.contains("data-status=\"active\""), "{}", list.body);
    assert!(!list.body.contains("<td>never</td>"), "the last use is shown: {}", list.body);
    ada.get(&format!("/admin/sites/{}/tokens", b.site)).await.assert_status(404);
    a.agent.get(&format!("/admin/sites/{}/tokens", a.site)).await.assert_status(403);
    let id = id_after(&list.body, &format!("/admin/sites/{}/tokens/", a.site));
    ada.post(&format!("/admin/sites/{}/tokens/{id}/revoke", b.site), &[]).await.assert_status(404);
    ada.post(&format!("/admin/sites/{}/tokens/{id}/revoke", a.site), &[])
        .await
        .assert_redirect(&format!("/admin/sites/{}/tokens?ok=revoked", a.site));
    assert_eq!(api(&s.base, &token, &format!("/v1/sites/{}/agents", a.site)).await.status(), StatusCode::UNAUTHORIZED);
    ada.get(&format!("/admin/sites/{}/tokens", a.site)).await.assert_contains("data-status=\"revoked\"");

    // Bad forms are refused with the field named.
    let bad = ada
        .post(&format!("/admin/sites/{}/tokens", a.site), &[("name", ""), ("scope", "all"), ("expires_days", "x")])
        .await;
    bad.assert_status(422)
        .assert_contains("id=\"name-error\"")
        .assert_contains("id=\"scope-error\"")
        .assert_contains("id=\"expires_days-error\"");
}

#[tokio::test]
async fn the_organizations_token_reaches_every_site_and_each_token_is_rate_limited() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let a = org(&s.base, &owner, "Alpha").await;
    let b = org(&s.base, &owner, "Beta").await;
    let token = make_token(&owner, "/admin/tokens", "Warehouse").await;
    for site in [a.site, b.site] {
        assert_eq!(api(&s.base, &token, &format!("/v1/sites/{site}/agents")).await.status(), StatusCode::OK);
    }
    // 300 requests a minute, then 429 with Retry-After.
    let mut limited = None;
    for i in 0..400 {
        let r = api(&s.base, &token, &format!("/v1/sites/{}/canned", a.site)).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, r.headers().get("retry-after").is_some()));
            break;
        }
    }
    let (at, retry_after) = limited.expect("rate limited");
    assert!((295..=300).contains(&at) && retry_after, "limited after {at} requests");
    // A site's admin cannot make an organization's token.
    create_person(&owner, a.site, "Ada Admin", "ada@alpha.example", "admin", "admin-password-1").await;
    let ada = s.client();
    ada.login_ok("ada@alpha.example", "admin-password-1").await;
    ada.get("/admin/tokens").await.assert_status(404);
}
