//! Sign-in, sessions, CSRF, throttling, roles.

use crate::harness::*;

#[tokio::test]
async fn unauthenticated_admin_and_console_go_to_sign_in() {
    let s = TestServer::start().await;
    let c = s.client();
    c.get("/admin").await.assert_redirect("/login?next=%2Fadmin");
    c.get("/console").await.assert_redirect("/login?next=%2Fconsole");
    c.get("/admin/sites/1/agents").await.assert_redirect("/login");
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_sign_out_ends_it() {
    let s = TestServer::start().await;
    let c = s.client();
    let p = c.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    p.assert_redirect("/admin/sites");
    let cookie = p.set_cookies.iter().find(|c| c.starts_with("parley_session=")).expect("session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "no Secure flag on plain HTTP: {cookie}");
    let first = c.cookie_header();
    c.get("/admin/sites").await.assert_ok().assert_contains("Sites");
    // Signing in again gives a new token; the old one is gone.
    c.login_ok(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_ne!(first, c.cookie_header());
    let old = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = old.get(format!("{}/admin/sites", s.base)).header("cookie", first).send().await.expect("get");
    assert_eq!(r.status(), 303, "the pre-rotation session no longer works");
    c.post("/logout", &[]).await.assert_redirect("/login");
    c.get("/admin/sites").await.assert_redirect("/login");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let s = TestServer::start().await;
    let a = s.client().login("nobody@example.com", "whatever-123").await;
    let b = s.client().login(OWNER_EMAIL, "wrong-password").await;
    assert_eq!(a.status, 401);
    assert_eq!(b.status, 401);
    let strip = |body: &str| {
        body.replace(&csrf_in(body).unwrap_or_default(), "")
            .replace("nobody@example.com", "E")
            .replace(OWNER_EMAIL, "E")
    };
    assert_eq!(strip(&a.body), strip(&b.body));
    assert!(a.body.contains("Wrong email or password."));
}

#[tokio::test]
async fn repeated_failures_are_slowed_down_per_account() {
    let s = TestServer::start().await;
    for _ in 0..5 {
        s.client().login(OWNER_EMAIL, "wrong-password").await.assert_status(401);
    }
    // Even the right password must wait now, from any client.
    let p = s.client().login(OWNER_EMAIL, OWNER_PASSWORD).await;
    p.assert_status(429).assert_contains("Too many failed sign-ins");
}

#[tokio::test]
async fn posts_without_a_valid_csrf_token_are_refused() {
    let s = TestServer::start().await;
    let c = s.owner().await;
    let good = c.csrf().await;
    c.post_raw("/admin/sites", &[("name", "No token")]).await.assert_status(403);
    c.post_raw("/admin/sites", &[("csrf_token", ""), ("name", "Empty")]).await.assert_status(403);
    c.post_raw("/admin/sites", &[("csrf_token", &good[..good.len() - 2]), ("name", "Short")]).await.assert_status(403);
    // Another browser's valid token does not fit this browser's cookie.
    let other = s.client().csrf().await;
    c.post_raw("/admin/sites", &[("csrf_token", &other), ("name", "Other")]).await.assert_status(403);
    c.post_raw("/logout", &[]).await.assert_status(403);
    c.post_raw("/admin/sites", &[("csrf_token", &good), ("name", "Good")]).await.assert_redirect("/admin/sites/");
    let list = c.get("/admin/sites").await;
    assert!(list.body.contains("Good") && !list.body.contains("No token"), "only the valid POST changed anything");
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let s = TestServer::start().await;
    let c = s.owner().await;
    let cookie = c.cookie_header();
    let dir = s.stop().await;
    let s = TestServer::start_in(dir, "").await;
    let fresh = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = fresh.get(format!("{}/admin/sites", s.base)).header("cookie", cookie).send().await.expect("get");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let s = TestServer::start().await;
    let a = s.owner().await;
    let b = s.owner().await;
    let p = a
        .post(
            "/account/password",
            &[("current", OWNER_PASSWORD), ("password", "brand-new-pass-1"), ("password_confirm", "brand-new-pass-1")],
        )
        .await;
    p.assert_redirect("/account?ok=password");
    a.get("/admin/sites").await.assert_ok();
    b.get("/admin/sites").await.assert_redirect("/login");
    s.client().login(OWNER_EMAIL, OWNER_PASSWORD).await.assert_status(401);
    s.client().login_ok(OWNER_EMAIL, "brand-new-pass-1").await;
    // A wrong current password changes nothing.
    a.post(
        "/account/password",
        &[("current", "nope-nope-nope"), ("password", "other-pass-123"), ("password_confirm", "other-pass-123")],
    )
    .await
    .assert_status(422)
    .assert_contains("not your current password");
}

#[tokio::test]
async fn disabling_or_resetting_an_agent_ends_their_sessions() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let site = create_site(&owner, "Acme").await;
    let id = create_person(&owner, site, "Ann", "ann@example.com", "agent", "ann-password-1").await;
    let ann = s.client();
    ann.login_ok("ann@example.com", "ann-password-1").await;
    ann.get("/account").await.assert_ok().assert_contains("ann@example.com");
    owner
        .post(
            &format!("/admin/sites/{site}/agents/{id}/password"),
            &[("password", "reset-pass-123"), ("password_confirm", "reset-pass-123")],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{site}/agents/{id}?ok=reset"));
    ann.get("/account").await.assert_redirect("/login");
    ann.login_ok("ann@example.com", "reset-pass-123").await;
    owner
        .post(
            &format!("/admin/sites/{site}/agents/{id}"),
            &[("name", "Ann"), ("email", "ann@example.com"), ("role", "agent"), ("max_chats", "3")],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{site}/agents"));
    ann.get("/account").await.assert_redirect("/login");
    ann.login("ann@example.com", "reset-pass-123").await.assert_status(401);
}

#[tokio::test]
async fn agents_cannot_enter_the_admin_pages_and_admins_only_their_site() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let site = create_site(&owner, "Acme").await;
    create_person(&owner, site, "Ann", "ann@example.com", "agent", "ann-password-1").await;
    create_person(&owner, site, "Adam", "adam@example.com", "admin", "adam-password-1").await;
    let ann = s.client();
    let p = ann.login("ann@example.com", "ann-password-1").await;
    p.assert_redirect("/console");
    ann.get("/admin").await.assert_status(403);
    ann.get(&format!("/admin/sites/{site}/agents")).await.assert_status(403);
    ann.get("/console").await.assert_ok().assert_contains("data-ws=\"/ws/agent\"");
    owner.get("/console").await.assert_redirect("/admin");
    let adam = s.client();
    adam.login("adam@example.com", "adam-password-1").await.assert_redirect(&format!("/admin/sites/{site}"));
    adam.get(&format!("/admin/sites/{site}/agents")).await.assert_ok().assert_contains("Ann");
    adam.get("/admin/sites").await.assert_status(403);
    adam.get("/admin/groups").await.assert_status(403);
    adam.post(&format!("/admin/sites/{site}/rename"), &[("name", "Mine now")]).await.assert_status(403);
}

#[tokio::test]
async fn a_signed_in_visit_to_the_login_page_goes_home_and_next_is_followed_only_locally() {
    let s = TestServer::start().await;
    let c = s.client();
    let p = c.post("/login", &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD), ("next", "/admin/groups")]).await;
    p.assert_redirect("/admin/groups");
    c.get("/login").await.assert_redirect("/admin/sites");
    let c = s.client();
    let p =
        c.post("/login", &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD), ("next", "//evil.example/")]).await;
    p.assert_redirect("/admin/sites");
}
