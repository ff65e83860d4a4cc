//! A site admin of site A gets 404 for every object of site B, whatever id they try, through
//! every admin page and API route; and nothing of B changes.

use crate::harness::*;

struct SiteObjects {
    site: u64,
    agent: u64,
    department: u64,
    campaign: u64,
}

async fn populate(o: &Client, name: &str, admin_email: &str) -> SiteObjects {
    let site = create_site(o, name).await;
    create_person(o, site, &format!("{name} admin"), admin_email, "admin", "admin-password-1").await;
    let agent =
        create_person(o, site, &format!("{name} agent"), &format!("agent@{name}.example"), "agent", "agent-password-1")
            .await;
    o.post(&format!("/admin/sites/{site}/departments"), &[("name", "Desk"), ("rule", "round_robin")]).await;
    let department = id_after(
        &o.get(&format!("/admin/sites/{site}/departments")).await.body,
        &format!("/admin/sites/{site}/departments/"),
    );
    let d = department.to_string();
    o.post(
        &format!("/admin/sites/{site}/campaigns"),
        &[
            ("name", "Main"),
            ("language", "en"),
            ("department", &d),
            ("color", "#123456"),
            ("proactive_mode", "disabled"),
            ("proactive_after_secs", "0"),
            ("reinvite_after_mins", "0"),
        ],
    )
    .await
    .assert_redirect(&format!("/admin/sites/{site}/campaigns"));
    let campaign = id_after(
        &o.get(&format!("/admin/sites/{site}/campaigns")).await.body,
        &format!("/admin/sites/{site}/campaigns/"),
    );
    SiteObjects { site, agent, department, campaign }
}

#[tokio::test]
async fn a_site_admin_gets_404_for_every_object_of_another_site() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let a = populate(&o, "alpha", "admin@alpha.example").await;
    let b = populate(&o, "beta", "admin@beta.example").await;
    let admin_a = s.client();
    admin_a.login_ok("admin@alpha.example", "admin-password-1").await;
    // Sanity: A's own pages work.
    admin_a.get(&format!("/admin/sites/{}/agents/{}", a.site, a.agent)).await.assert_ok();

    let (bs, ba, bd, bc) = (b.site, b.agent, b.department, b.campaign);
    let get_paths = vec![
        format!("/admin/sites/{bs}"),
        format!("/admin/sites/{bs}/agents"),
        format!("/admin/sites/{bs}/agents/new"),
        format!("/admin/sites/{bs}/agents/{ba}"),
        format!("/admin/sites/{bs}/departments"),
        format!("/admin/sites/{bs}/departments/new"),
        format!("/admin/sites/{bs}/departments/{bd}"),
        format!("/admin/sites/{bs}/campaigns"),
        format!("/admin/sites/{bs}/campaigns/new"),
        format!("/admin/sites/{bs}/campaigns/{bc}"),
        format!("/admin/sites/{bs}/settings"),
        format!("/admin/sites/{bs}/messages"),
        format!("/admin/sites/{bs}/visitors?q=a"),
        format!("/admin/sites/{bs}/visitors/1"),
        format!("/admin/sites/{bs}/visitors/1/export"),
        // B's ids under A's own site path.
        format!("/admin/sites/{}/agents/{ba}", a.site),
        format!("/admin/sites/{}/departments/{bd}", a.site),
        format!("/admin/sites/{}/campaigns/{bc}", a.site),
        // The JSON API.
        format!("/api/v1/sites/{bs}/agents"),
        format!("/api/v1/sites/{bs}/departments"),
        format!("/api/v1/sites/{bs}/campaigns"),
    ];
    for path in &get_paths {
        let p = admin_a.get(path).await;
        assert_eq!(p.status, 404, "GET {path} answered {}", p.status);
    }
    let d = bd.to_string();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/admin/sites/{bs}/agents"),
            vec![
                ("name", "Evil"),
                ("email", "evil@x.example"),
                ("role", "admin"),
                ("max_chats", "1"),
                ("password", "evil-password-1"),
                ("password_confirm", "evil-password-1"),
            ],
        ),
        (
            format!("/admin/sites/{bs}/agents/{ba}"),
            vec![("name", "Evil"), ("email", "agent@beta.example"), ("role", "admin"), ("max_chats", "1")],
        ),
        (
            format!("/admin/sites/{bs}/agents/{ba}/password"),
            vec![("password", "evil-password-1"), ("password_confirm", "evil-password-1")],
        ),
        (
            format!("/admin/sites/{}/agents/{ba}/password", a.site),
            vec![("password", "evil-password-1"), ("password_confirm", "evil-password-1")],
        ),
        (format!("/admin/sites/{bs}/departments"), vec![("name", "Evil"), ("rule", "round_robin")]),
        (format!("/admin/sites/{bs}/departments/{bd}"), vec![("name", "Evil"), ("rule", "round_robin")]),
        (format!("/admin/sites/{}/departments/{bd}", a.site), vec![("name", "Evil"), ("rule", "round_robin")]),
        (format!("/admin/sites/{bs}/departments/{bd}/delete"), vec![]),
        (format!("/admin/sites/{bs}/campaigns/{bc}/delete"), vec![]),
        (format!("/admin/sites/{}/campaigns/{bc}/delete", a.site), vec![]),
        (format!("/admin/sites/{bs}/settings"), vec![("warm_timeout_secs", "10")]),
        (format!("/admin/sites/{bs}/visitors/1/erase"), vec![]),
        // Pointing A's campaign at B's department is refused too.
        (
            format!("/admin/sites/{}/campaigns/{}", a.site, a.campaign),
            vec![
                ("name", "Main"),
                ("language", "en"),
                ("department", &d),
                ("color", "#123456"),
                ("proactive_mode", "disabled"),
                ("proactive_after_secs", "0"),
                ("reinvite_after_mins", "0"),
            ],
        ),
    ];
    for (path, fields) in &posts {
        let p = admin_a.post(path, fields).await;
        assert!(p.status == 404 || p.status == 422, "POST {path} answered {}", p.status);
        assert!(
            p.status == 404 || path.contains(&format!("/sites/{}/campaigns", a.site)),
            "POST {path} answered {}",
            p.status
        );
    }
    // B is untouched.
    let beta = o.get(&format!("/admin/sites/{bs}/agents/{ba}")).await;
    beta.assert_contains("beta agent");
    assert!(!o.get(&format!("/admin/sites/{bs}/agents")).await.body.contains("Evil"));
    o.get(&format!("/admin/sites/{bs}/departments")).await.assert_contains("Desk");
    o.get(&format!("/admin/sites/{bs}/campaigns")).await.assert_contains("Main");
    s.client().login_ok("agent@beta.example", "agent-password-1").await;
}

#[tokio::test]
async fn guessing_ids_beyond_any_site_is_404_even_for_the_owner() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    for path in [
        "/admin/sites/999",
        "/admin/sites/0",
        "/admin/sites/999/agents",
        "/admin/sites/1/agents/999",
        "/admin/groups/999",
    ] {
        let p = o.get(path).await;
        assert_eq!(p.status, 404, "GET {path}");
    }
}
