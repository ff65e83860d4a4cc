//! Canned replies: managed by a site's admins through their pages, refused when the shortcut
//! is taken or the CSRF token is missing, invisible to other sites, closed to agents, and
//! listed for the site's agents by the JSON API.

use crate::harness::*;

/// A site with a site admin (signed in) and an agent (signed in).
struct Setup {
    site: u64,
    admin: Client,
    agent: Client,
}

async fn setup(s: &TestServer, o: &Client, name: &str) -> Setup {
    let site = create_site(o, name).await;
    let lower = name.to_lowercase();
    let (admin_email, agent_email) = (format!("admin@{lower}.example"), format!("agent@{lower}.example"));
    create_person(o, site, &format!("{name} Admin"), &admin_email, "admin", "admin-password-1").await;
    create_person(o, site, &format!("{name} Agent"), &agent_email, "agent", "agent-password-1").await;
    let admin = s.client();
    admin.login_ok(&admin_email, "admin-password-1").await;
    let agent = s.client();
    agent.login_ok(&agent_email, "agent-password-1").await;
    Setup { site, admin, agent }
}

/// Create a canned reply through the form; its id, from the list.
async fn create(c: &Client, site: u64, shortcut: &str, text: &str) -> u64 {
    let base = format!("/admin/sites/{site}/canned");
    c.post(&base, &[("shortcut", shortcut), ("text", text)]).await.assert_redirect(&format!("{base}?ok=created"));
    let wanted = shortcut.trim_start_matches('/').to_lowercase();
    let list = c.get(&format!("{base}?q={wanted}")).await;
    // The row's link: `<a href="{base}/7">/wanted</a>`.
    let at = list.body.find(&format!(">/{wanted}</a>")).unwrap_or_else(|| panic!("not listed:\n{}", list.body));
    let marker = format!("{base}/");
    let start = list.body[..at].rfind(&marker).expect("a link") + marker.len();
    list.body[start..at].trim_end_matches('"').parse().expect("an id")
}

#[tokio::test]
async fn a_site_admin_creates_edits_searches_and_deletes_canned_replies() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let Setup { site, admin, .. } = setup(&s, &o, "Acme").await;
    let base = format!("/admin/sites/{site}/canned");
    let empty = admin.get(&base).await;
    empty.assert_ok().assert_contains("No canned replies yet.").assert_contains(&format!(r#"href="{base}""#));
    empty.assert_contains(r#"aria-current="page">Canned replies</a>"#);
    admin.get(&format!("{base}/new")).await.assert_ok().assert_contains("New canned reply");

    // Create: the slash is stripped and the shortcut lower-cased; the text keeps its lines.
    let thanks = create(&admin, site, "/Thanks", "Thank you for your patience!\r\nAnything else?").await;
    let edit = admin.get(&format!("{base}/{thanks}")).await;
    edit.assert_ok()
        .assert_contains(r#"value="thanks""#)
        .assert_contains("Thank you for your patience!\nAnything else?</textarea>");
    // Edit.
    admin
        .post(&format!("{base}/{thanks}"), &[("shortcut", "ty"), ("text", "Thanks a lot & <goodbye>.")])
        .await
        .assert_redirect(&format!("{base}?ok=saved"));
    let list = admin.get(&format!("{base}?ok=saved")).await;
    list.assert_contains("/ty").assert_contains("Thanks a lot &#38; &#60;goodbye&#62;.").assert_contains("Saved.");
    assert!(!list.body.contains("<goodbye>"), "escaped");
    assert!(!list.body.contains(">/thanks</a>"), "renamed");
    // The owner manages them too; list and search.
    let hours = create(&o, site, "hours", "We are open 9 to 5, Monday to Friday.").await;
    assert_ne!(hours, thanks);
    let found = admin.get(&format!("{base}?q=MONDAY")).await;
    found.assert_contains("/hours").assert_contains("1 in all");
    assert!(!found.body.contains(">/ty</a>"), "search filters: {}", found.body);
    admin.get(&format!("{base}?q=nothing-like-it")).await.assert_contains("No canned reply matches.");
    // Sorted by shortcut.
    let list = admin.get(&base).await;
    let (h, t) = (list.body.find(">/hours</a>").expect("hours"), list.body.find(">/ty</a>").expect("ty"));
    assert!(h < t, "by shortcut: {}", list.body);

    // Deleting needs the box ticked.
    admin.post(&format!("{base}/{hours}/delete"), &[]).await.assert_status(422).assert_contains("to confirm");
    admin.get(&format!("{base}/{hours}")).await.assert_ok();
    admin
        .post(&format!("{base}/{hours}/delete"), &[("confirm", "yes")])
        .await
        .assert_redirect(&format!("{base}?ok=deleted"));
    admin.get(&format!("{base}/{hours}")).await.assert_status(404);
    admin.post(&format!("{base}/{hours}/delete"), &[("confirm", "yes")]).await.assert_status(404);
    admin.get(&format!("{base}?ok=deleted")).await.assert_contains("1 in all").assert_contains("Deleted.");
}

#[tokio::test]
async fn bad_or_duplicate_shortcuts_are_refused_with_the_input_kept() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let Setup { site, admin, .. } = setup(&s, &o, "Acme").await;
    let base = format!("/admin/sites/{site}/canned");
    let hi = create(&admin, site, "hi", "Hello!").await;
    let bye = create(&admin, site, "bye", "Goodbye!").await;
    // The same shortcut in another case, with or without the slash.
    for dup in ["HI", "/hi"] {
        admin
            .post(&base, &[("shortcut", dup), ("text", "My carefully typed answer")])
            .await
            .assert_status(422)
            .assert_contains("Another canned reply of this site has the shortcut /hi.")
            .assert_contains(&format!(r#"value="{dup}""#))
            .assert_contains("My carefully typed answer</textarea>");
    }
    // Renaming onto a taken shortcut is refused too.
    admin
        .post(&format!("{base}/{bye}"), &[("shortcut", "Hi"), ("text", "Goodbye!")])
        .await
        .assert_status(422)
        .assert_contains("has the shortcut /hi");
    // Field rules, every error at once.
    let long = "x".repeat(2001);
    admin
        .post(&base, &[("shortcut", "two words"), ("text", &long)])
        .await
        .assert_status(422)
        .assert_contains("Only letters a–z, digits, - and _")
        .assert_contains("At most 2000 characters.")
        .assert_contains(r#"value="two words""#);
    admin.post(&base, &[("shortcut", ""), ("text", "  ")]).await.assert_status(422).assert_contains("Required.");
    let list = admin.get(&base).await;
    list.assert_contains("2 in all");
    admin.get(&format!("{base}/{hi}")).await.assert_contains("Hello!");
    admin.get(&format!("{base}/{bye}")).await.assert_contains(r#"value="bye""#);
}

#[tokio::test]
async fn canned_lists_page_after_twenty() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let site = create_site(&o, "Acme").await;
    let base = format!("/admin/sites/{site}/canned");
    for i in 0..23 {
        o.post(&base, &[("shortcut", &format!("r{i:02}")), ("text", &format!("Reply number {i}"))])
            .await
            .assert_redirect(&base);
    }
    let p1 = o.get(&base).await;
    p1.assert_contains("23 in all").assert_contains("page 1 of 2").assert_contains("/r00");
    let p2 = o.get(&format!("{base}?page=2")).await;
    p2.assert_contains("/r22");
    assert!(!p2.body.contains(">/r00</a>"));
}

#[tokio::test]
async fn canned_posts_without_a_csrf_token_are_refused() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let Setup { site, admin, .. } = setup(&s, &o, "Acme").await;
    let base = format!("/admin/sites/{site}/canned");
    let id = create(&admin, site, "hi", "Hello!").await;
    let fields = [("shortcut", "evil"), ("text", "Forged")];
    admin.post_raw(&base, &fields).await.assert_status(403);
    admin.post_raw(&format!("{base}/{id}"), &fields).await.assert_status(403);
    admin
        .post_raw(&format!("{base}/{id}"), &[("csrf_token", ""), ("shortcut", "evil"), ("text", "x")])
        .await
        .assert_status(403);
    admin.post_raw(&format!("{base}/{id}/delete"), &[("confirm", "yes")]).await.assert_status(403);
    let list = admin.get(&base).await;
    list.assert_contains("1 in all").assert_contains("/hi");
    assert!(!list.body.contains("evil"));
}

#[tokio::test]
async fn another_sites_admin_gets_404_for_every_canned_url() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let a = setup(&s, &o, "Alpha").await;
    let b = setup(&s, &o, "Beta").await;
    let mine = create(&a.admin, a.site, "mine", "Alpha own").await;
    let theirs = create(&b.admin, b.site, "secret", "Beta secret answer").await;
    let (bs, bid) = (b.site, theirs);
    let gets = [
        format!("/admin/sites/{bs}/canned"),
        format!("/admin/sites/{bs}/canned?q=secret"),
        format!("/admin/sites/{bs}/canned/new"),
        format!("/admin/sites/{bs}/canned/{bid}"),
        // Beta's id under Alpha's own path.
        format!("/admin/sites/{}/canned/{bid}", a.site),
        format!("/api/v1/sites/{bs}/canned"),
    ];
    for path in &gets {
        let p = a.admin.get(path).await;
        assert_eq!(p.status, 404, "GET {path} answered {}", p.status);
        assert!(!p.body.contains("secret answer"), "GET {path} leaked");
    }
    let fields = [("shortcut", "stolen"), ("text", "Alpha was here"), ("confirm", "yes")];
    let posts = [
        format!("/admin/sites/{bs}/canned"),
        format!("/admin/sites/{bs}/canned/{bid}"),
        format!("/admin/sites/{bs}/canned/{bid}/delete"),
        format!("/admin/sites/{}/canned/{bid}", a.site),
        format!("/admin/sites/{}/canned/{bid}/delete", a.site),
    ];
    for path in &posts {
        let p = a.admin.post(path, &fields).await;
        assert_eq!(p.status, 404, "POST {path} answered {}", p.status);
    }
    // Beta is untouched, Alpha got nothing new.
    let beta = b.admin.get(&format!("/admin/sites/{bs}/canned")).await;
    beta.assert_contains("1 in all").assert_contains("/secret").assert_contains("Beta secret answer");
    assert!(!beta.body.contains("stolen"));
    let alpha = a.admin.get(&format!("/admin/sites/{}/canned", a.site)).await;
    alpha.assert_contains("1 in all").assert_contains("/mine");
    a.admin.get(&format!("/admin/sites/{}/canned/{mine}", a.site)).await.assert_ok();
}

#[tokio::test]
async fn agents_cannot_manage_canned_replies_but_the_api_lists_them() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let acme = setup(&s, &o, "Acme").await;
    let other = setup(&s, &o, "Globex").await;
    let site = acme.site;
    let base = format!("/admin/sites/{site}/canned");
    let thanks = create(&acme.admin, site, "thanks", "Thank you!\nBye.").await;
    let hello = create(&acme.admin, site, "hello", "Hello, how can I help?").await;

    // An agent of the site: the admin pages are closed (403), reading or writing.
    for path in [base.clone(), format!("{base}/new"), format!("{base}/{thanks}")] {
        acme.agent.get(&path).await.assert_status(403);
    }
    let fields = [("shortcut", "mine"), ("text", "By an agent"), ("confirm", "yes")];
    for path in [base.clone(), format!("{base}/{thanks}"), format!("{base}/{thanks}/delete")] {
        acme.agent.post(&path, &fields).await.assert_status(403);
    }
    // Nobody signed in: sent to sign in.
    let anonymous = s.client();
    anonymous.get(&base).await.assert_redirect("/login");
    anonymous.post(&format!("{base}/{thanks}/delete"), &[("confirm", "yes")]).await.assert_redirect("/login");
    acme.admin.get(&format!("{base}/{thanks}")).await.assert_ok();

    // The API: the site's agents read the list, by shortcut.
    let page = acme.agent.get(&format!("/api/v1/sites/{site}/canned")).await;
    page.assert_ok();
    let replies: serde_json::Value = serde_json::from_str(&page.body).expect("json");
    let replies = replies.as_array().expect("a list");
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["id"], hello);
    assert_eq!(replies[0]["shortcut"], "hello");
    assert_eq!(replies[1]["shortcut"], "thanks");
    assert_eq!(replies[1]["text"], "Thank you!\nBye.");
    assert!(replies[1]["updated_at"].as_u64().is_some_and(|t| t > 0));
    // Admins and the owner too; other sites' people and strangers not.
    acme.admin.get(&format!("/api/v1/sites/{site}/canned")).await.assert_ok();
    o.get(&format!("/api/v1/sites/{site}/canned")).await.assert_ok();
    other.agent.get(&format!("/api/v1/sites/{site}/canned")).await.assert_status(404);
    other.admin.get(&format!("/api/v1/sites/{site}/canned")).await.assert_status(404);
    anonymous.get(&format!("/api/v1/sites/{site}/canned")).await.assert_status(401);
    let empty = other.agent.get(&format!("/api/v1/sites/{}/canned", other.site)).await;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&empty.body).expect("json"), serde_json::json!([]));
    // The OpenAPI document describes the route.
    let doc: serde_json::Value = serde_json::from_str(&s.client().get("/api/openapi.json").await.body).expect("json");
    assert!(
        doc["paths"]["/api/v1/sites/{site}/canned"].is_object() || doc["paths"]["/v1/sites/{site}/canned"].is_object()
    );
}
