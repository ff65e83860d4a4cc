//! Every admin resource round-trips through its pages, and bad input is refused with a clear
//! message while changing nothing.

use crate::harness::*;

fn campaign_fields<'a>(name: &'a str, dept: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("language", "de"),
        ("department", dept),
        ("color", "#112233"),
        ("position", "left"),
        ("field_key", "name"),
        ("field_label", "Your name"),
        ("field_kind", "text"),
        ("field_required", "yes"),
        ("field_key", "order"),
        ("field_label", "Order number"),
        ("field_kind", "text"),
        ("field_required", "no"),
        ("postchat_enabled", "on"),
        ("proactive_mode", "with_invite"),
        ("proactive_after_secs", "45"),
        ("proactive_url_rules", "https://shop.example/*"),
        ("invitation_text", "Need help?"),
        ("reinvite_after_mins", "0"),
        ("greeting", "Guten Tag!"),
    ]
}

#[tokio::test]
async fn sites_create_rename_delete_with_confirmation() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let a = create_site(&o, "Acme").await;
    let b = create_site(&o, "Globex").await;
    o.get("/admin/sites").await.assert_ok().assert_contains("Acme").assert_contains("Globex");
    o.get("/admin/sites?q=glob").await.assert_ok().assert_contains("Globex");
    assert!(!o.get("/admin/sites?q=glob").await.body.contains("Acme"), "search filters");
    o.post(&format!("/admin/sites/{a}/rename"), &[("name", "Acme Shop")])
        .await
        .assert_redirect(&format!("/admin/sites/{a}?ok=saved"));
    o.get(&format!("/admin/sites/{a}")).await.assert_ok().assert_contains("Acme Shop");
    // Duplicate name (case-insensitive) is refused with the input kept.
    o.post(&format!("/admin/sites/{b}/rename"), &[("name", "acme shop")])
        .await
        .assert_status(422)
        .assert_contains("Another site has this name.");
    // Delete needs the exact name.
    o.get(&format!("/admin/sites/{b}/delete")).await.assert_ok().assert_contains("Type the site");
    o.post(&format!("/admin/sites/{b}/delete"), &[("confirm_name", "Glob")]).await.assert_status(422);
    o.get(&format!("/admin/sites/{b}")).await.assert_ok();
    o.post(&format!("/admin/sites/{b}/delete"), &[("confirm_name", "Globex")])
        .await
        .assert_redirect("/admin/sites?ok=deleted");
    o.get(&format!("/admin/sites/{b}")).await.assert_status(404);
}

#[tokio::test]
async fn site_names_are_validated() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let long = "x".repeat(101);
    o.post("/admin/sites", &[("name", &long)])
        .await
        .assert_status(422)
        .assert_contains("At most 100 characters.")
        .assert_contains(&long);
    o.post("/admin/sites", &[("name", "   ")]).await.assert_status(422).assert_contains("Required.");
    assert!(o.get("/admin/sites").await.body.contains("No sites yet"), "nothing was created");
}

#[tokio::test]
async fn cross_site_groups_need_two_sites_and_follow_site_deletion() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let a = create_site(&o, "Acme").await.to_string();
    let b = create_site(&o, "Globex").await.to_string();
    let c = create_site(&o, "Initech").await.to_string();
    o.post("/admin/groups", &[("name", "Solo"), ("sites", &a)])
        .await
        .assert_status(422)
        .assert_contains("at least two sites");
    o.post("/admin/groups", &[("name", "EU"), ("sites", &a), ("sites", &b)])
        .await
        .assert_redirect("/admin/groups?ok=created");
    o.post("/admin/groups", &[("name", "All"), ("sites", &a), ("sites", &b), ("sites", &c)])
        .await
        .assert_redirect("/admin/groups");
    o.post("/admin/groups", &[("name", "eu"), ("sites", &a), ("sites", &c)])
        .await
        .assert_status(422)
        .assert_contains("Another group has this name.");
    let list = o.get("/admin/groups").await;
    list.assert_contains("Acme, Globex, Initech");
    let eu = id_after(&list.body, "/admin/groups/");
    o.get(&format!("/admin/groups/{eu}")).await.assert_ok().assert_contains("checked");
    // Deleting Globex removes it from "All" and deletes "EU" (left with one site); the page says so first.
    o.get(&format!("/admin/sites/{b}/delete")).await.assert_contains("EU");
    o.post(&format!("/admin/sites/{b}/delete"), &[("confirm_name", "Globex")]).await.assert_redirect("/admin/sites");
    let list = o.get("/admin/groups").await;
    assert!(!list.body.contains(">EU<"), "EU is gone: {}", list.body);
    list.assert_contains("Acme, Initech");
    let all = id_after(&list.body, "/admin/groups/");
    o.post(&format!("/admin/groups/{all}/delete"), &[]).await.assert_redirect("/admin/groups?ok=deleted");
    o.get(&format!("/admin/groups/{all}")).await.assert_status(404);
}

#[tokio::test]
async fn agents_round_trip_with_departments_and_bad_input_is_explained() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let site = create_site(&o, "Acme").await;
    o.post(&format!("/admin/sites/{site}/departments"), &[("name", "Billing"), ("rule", "least_busy")])
        .await
        .assert_redirect(&format!("/admin/sites/{site}/departments"));
    let depts = o.get(&format!("/admin/sites/{site}/departments")).await;
    let billing = id_after(&depts.body, &format!("/admin/sites/{site}/departments/")).to_string();
    let form = |email: &'static str, max: &'static str| {
        vec![
            ("name", "Ann Agent"),
            ("email", email),
            ("role", "agent"),
            ("skills", "billing, french"),
            ("max_chats", max),
            ("active", "on"),
            ("password", "ann-password-1"),
            ("password_confirm", "ann-password-1"),
        ]
    };
    let mut f = form("ann@example.com", "4");
    f.push(("departments", &billing));
    o.post(&format!("/admin/sites/{site}/agents"), &f)
        .await
        .assert_redirect(&format!("/admin/sites/{site}/agents?ok=created"));
    let list = o.get(&format!("/admin/sites/{site}/agents")).await;
    list.assert_contains("Ann Agent").assert_contains("Billing").assert_contains("billing, french");
    let ann = id_after(&list.body, &format!("/admin/sites/{site}/agents/"));
    o.get(&format!("/admin/sites/{site}/departments")).await.assert_contains("Ann Agent");
    // Bad input: each field named, input kept, nothing created.
    let p = o.post(&format!("/admin/sites/{site}/agents"), &form("not-an-email", "99")).await;
    p.assert_status(422)
        .assert_contains("Enter a valid email address")
        .assert_contains("A whole number from 1 to 50.")
        .assert_contains("not-an-email");
    let p = o.post(&format!("/admin/sites/{site}/agents"), &form("ANN@example.com", "2")).await;
    p.assert_status(422).assert_contains("Another account already uses this email.");
    // The owner's email is taken too (emails are unique across the organization).
    o.post(&format!("/admin/sites/{site}/agents"), &form("owner@example.com", "2")).await.assert_status(422);
    o.get(&format!("/admin/sites/{site}/agents")).await.assert_contains("1 in all");
    // Edit: leave the department, become admin.
    o.post(
        &format!("/admin/sites/{site}/agents/{ann}"),
        &[("name", "Ann B."), ("email", "ann@example.com"), ("role", "admin"), ("max_chats", "2"), ("active", "on")],
    )
    .await
    .assert_redirect(&format!("/admin/sites/{site}/agents?ok=saved"));
    let edit = o.get(&format!("/admin/sites/{site}/agents/{ann}")).await;
    edit.assert_contains("Ann B.").assert_contains(r#"<option value="admin" selected>"#);
    assert!(!o.get(&format!("/admin/sites/{site}/departments")).await.body.contains("Ann"), "left Billing");
}

#[tokio::test]
async fn departments_round_trip_and_cannot_be_deleted_while_a_campaign_targets_them() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let site = create_site(&o, "Acme").await;
    let base = format!("/admin/sites/{site}/departments");
    o.post(&base, &[("name", "Sales"), ("rule", "round_robin")]).await.assert_redirect(&base);
    o.post(&base, &[("name", "sales"), ("rule", "round_robin")])
        .await
        .assert_status(422)
        .assert_contains("Another department");
    o.post(&base, &[("name", "X"), ("rule", "random")])
        .await
        .assert_status(422)
        .assert_contains("Choose an allocation rule.");
    let dept = id_after(&o.get(&base).await.body, &format!("{base}/"));
    // Text that is not UTF-8 is refused, not stored with replacement characters.
    o.post_body(&base, "name=Ventes%FF%FE&rule=round_robin").await.assert_status(400);
    o.post_body(&base, "name=Ventes+%C3%A9t%C3%A9&rule=round_robin").await.assert_redirect(&base);
    o.get(&base).await.assert_contains("Ventes été");
    assert!(!o.get(&base).await.body.contains('\u{FFFD}'), "no replacement character was stored");
    o.post(&format!("{base}/{dept}"), &[("name", "Sales EU"), ("rule", "least_busy")]).await.assert_redirect(&base);
    o.get(&base).await.assert_contains("Sales EU").assert_contains("Least busy");
    let d = dept.to_string();
    o.post(&format!("/admin/sites/{site}/campaigns"), &campaign_fields("Main", &d))
        .await
        .assert_redirect(&format!("/admin/sites/{site}/campaigns"));
    let p = o.post(&format!("{base}/{dept}/delete"), &[]).await;
    p.assert_status(422).assert_contains("Campaign “Main” sends its chats to this department");
    o.get(&base).await.assert_contains("Sales EU");
}

#[tokio::test]
async fn campaigns_round_trip_every_field() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let site = create_site(&o, "Acme").await;
    o.post(&format!("/admin/sites/{site}/departments"), &[("name", "Support"), ("rule", "round_robin")]).await;
    let dept = id_after(
        &o.get(&format!("/admin/sites/{site}/departments")).await.body,
        &format!("/admin/sites/{site}/departments/"),
    )
    .to_string();
    let base = format!("/admin/sites/{site}/campaigns");
    o.get(&format!("{base}/new")).await.assert_ok().assert_contains("Hello! How can we help you today?");
    o.post(&base, &campaign_fields("Main", &dept)).await.assert_redirect(&format!("{base}?ok=created"));
    let list = o.get(&base).await;
    list.assert_contains("Main")
        .assert_contains("Support")
        .assert_contains("With invite")
        .assert_contains("cross-site default")
        .assert_contains("widget.js");
    let id = id_after(&list.body, &format!("{base}/"));
    let edit = o.get(&format!("{base}/{id}")).await;
    edit.assert_ok()
        .assert_contains(r#"value="Your name""#)
        .assert_contains(r#"<option value="yes" selected>Required</option>"#)
        .assert_contains(r#"value="Order number""#)
        .assert_contains("Guten Tag!")
        .assert_contains("https://shop.example/*")
        .assert_contains(r#"<option value="de" selected>"#)
        .assert_contains(r##"value="#112233""##)
        .assert_contains("Hallo! Wie können wir Ihnen helfen?");
    // Bad input: invitation text required for with-invite, duplicate keys, bad colour.
    let mut bad = campaign_fields("Other", &dept);
    bad.retain(|(k, _)| *k != "invitation_text" && *k != "color");
    bad.push(("color", "red"));
    bad.push(("field_key", "order"));
    bad.push(("field_label", "Again"));
    bad.push(("field_kind", "text"));
    bad.push(("field_required", "no"));
    let p = o.post(&base, &bad).await;
    p.assert_status(422)
        .assert_contains("An invitation needs its text.")
        .assert_contains("used twice")
        .assert_contains("A colour like");
    o.post(&base, &campaign_fields("main", &dept)).await.assert_status(422).assert_contains("Another campaign");
    // A department of another site cannot be targeted.
    let other = create_site(&o, "Globex").await;
    o.post(&format!("/admin/sites/{other}/campaigns"), &campaign_fields("X", &dept))
        .await
        .assert_status(422)
        .assert_contains("no longer exists");
}

#[tokio::test]
async fn the_cross_site_default_campaign_is_shown_and_cannot_be_deleted() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let site = create_site(&o, "Acme").await;
    let base = format!("/admin/sites/{site}/campaigns");
    o.get(&format!("/admin/sites/{site}/settings")).await.assert_contains("no campaign yet");
    o.post(&base, &campaign_fields("First", "")).await;
    o.post(&base, &campaign_fields("Second", "")).await;
    let list = o.get(&base).await;
    let first = id_after(&list.body, &format!("{base}/"));
    let second = id_after(&list.body[list.body.find("Second").expect("second") - 80..], &format!("{base}/"));
    assert_ne!(first, second);
    o.get(&format!("/admin/sites/{site}/settings")).await.assert_contains("Now serving: <strong>First</strong>");
    let settings = format!("/admin/sites/{site}/settings");
    let sec = second.to_string();
    o.post(&settings, &[("default_campaign", &sec), ("warm_timeout_secs", "45"), ("transcript_cross_site", "on")])
        .await
        .assert_redirect(&format!("{settings}?ok=saved"));
    let page = o.get(&settings).await;
    page.assert_contains("Now serving: <strong>Second</strong>").assert_contains(r#"value="45""#);
    page.assert_contains(r#"aria-describedby="warm_timeout_secs-hint" type="number" min="5" max="600""#)
        .assert_contains(r#"<p class="hint" id="warm_timeout_secs-hint">From 5 to 600 seconds."#);
    assert!(!page.body.contains(r#"name="notify_visitor" checked"#), "unticked box saved as off");
    o.post(&settings, &[("default_campaign", ""), ("warm_timeout_secs", "2")])
        .await
        .assert_status(422)
        .assert_contains("A whole number of seconds from 5 to 600.")
        .assert_contains(r#"aria-describedby="warm_timeout_secs-hint warm_timeout_secs-error" aria-invalid="true""#);
    let p = o.post(&format!("{base}/{second}/delete"), &[]).await;
    p.assert_status(422).assert_contains("default for cross-site transfers");
    // The implicit default (first created) can go; the page then shows the next.
    o.post(&settings, &[("default_campaign", ""), ("warm_timeout_secs", "30")]).await.assert_redirect(&settings);
    o.post(&format!("{base}/{first}/delete"), &[]).await.assert_redirect(&format!("{base}?ok=deleted"));
    o.get(&settings).await.assert_contains("Now serving: <strong>Second</strong>");
}

#[tokio::test]
async fn lists_page_after_twenty() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    for i in 0..23 {
        create_site(&o, &format!("Site {i:02}")).await;
    }
    let p1 = o.get("/admin/sites").await;
    p1.assert_contains("23 in all").assert_contains("page 1 of 2").assert_contains("page=2");
    let p2 = o.get("/admin/sites?page=2").await;
    p2.assert_contains("Site 22");
    assert!(!p2.body.contains("Site 00"));
}

#[tokio::test]
async fn oversized_and_malformed_forms_are_refused() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let huge = "y".repeat(70_000);
    o.post("/admin/sites", &[("name", &huge)]).await.assert_status(413);
    let site = create_site(&o, "Acme").await;
    o.post(&format!("/admin/sites/{site}/departments"), &[("name", "D"), ("rule", "round_robin"), ("members", "abc")])
        .await
        .assert_status(400);
}
