//! Visitors on the site and proactive chat over real WebSockets: the live list, invitations
//! (automatic and manual), an agent opening a chat, the visitor's earlier chats, and console
//! preferences.

use crate::harness::*;
use serde_json::{Value, json};

/// Turn the org's campaign into a proactive one.
async fn make_proactive(owner: &Client, o: &Org, mode: &str, after_secs: &str) {
    let d = o.department.to_string();
    owner
        .post(
            &format!("/admin/sites/{}/campaigns/{}", o.site, o.campaign),
            &[
                ("name", "Main"),
                ("language", "en"),
                ("department", &d),
                ("color", "#123456"),
                ("field_key", "name"),
                ("field_label", "Your name"),
                ("field_kind", "text"),
                ("field_required", "yes"),
                ("postchat_enabled", "on"),
                ("proactive_mode", mode),
                ("proactive_after_secs", after_secs),
                ("invitation_text", "Questions about your cart?"),
                ("reinvite_after_mins", "0"),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{}/campaigns", o.site));
}

#[tokio::test]
async fn a_console_watching_the_live_list_sees_visitors_arrive_and_browse() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut a, welcome) = agent(&o.agent, json!([])).await;
    assert_eq!(welcome["prefs"]["sound"], true, "default preferences");
    assert!(welcome["canned"].as_array().is_some_and(|c| c.is_empty()));
    let (mut v, vw) = visitor(&s.base, o.campaign, None, None).await;
    let id = vw["visitor"].as_u64().expect("visitor id");
    a.send(json!({"type": "watch_visitors", "on": true})).await;
    let full = a.until_type("visitors").await;
    assert_eq!(full["full"], true);
    let me = full["visitors"].as_array().and_then(|l| l.iter().find(|x| x["id"] == id).cloned()).expect("listed");
    assert_eq!(me["page_url"], "https://shop.example/cart");
    assert_eq!(me["page_title"], "Cart");
    assert_eq!(me["tabs"], 1);
    assert!(me["visit_started_at"].as_u64().is_some());

    v.send(json!({"type": "page", "url": "https://shop.example/checkout", "title": "<script>alert(1)</script>"})).await;
    let batch = a.until(|f: &Value| f["type"] == "visitors" && f["full"] == false).await;
    let me = &batch["visitors"][0];
    assert_eq!(me["page_url"], "https://shop.example/checkout");
    assert_eq!(me["page_title"], "<script>alert(1)</script>", "titles are data, escaped by the console");
    assert_eq!(me["pages"].as_array().map(Vec::len), Some(2));

    // The same list as JSON, for the site's people only.
    let api = o.agent.get(&format!("/api/v1/sites/{}/visitors/live", o.site)).await;
    api.assert_ok();
    let list: Value = serde_json::from_str(&api.body).expect("json");
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["page_url"], "https://shop.example/checkout");
    assert_eq!(list[0]["pages"].as_array().map(Vec::len), Some(2));

    // A visitor on a phone, in French: their browser, system, device and language are listed.
    let headers = [
        (
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1".to_string(),
        ),
        ("accept-language", "fr-FR,fr;q=0.9".to_string()),
    ];
    let mut phone = Ws::connect(&ws_url(&s.base, "/ws/visitor"), &headers).await;
    phone.send(json!({"type": "hello", "v": 1, "campaign": o.campaign, "page": {"url": "https://shop.example/", "title": "Shop", "zone": "Europe/Paris"}})).await;
    let pid = phone.until_type("visitor_welcome").await["visitor"].as_u64().expect("visitor id");
    let seen = a
        .until(|f: &Value| {
            f["type"] == "visitors" && f["visitors"].as_array().is_some_and(|l| l.iter().any(|x| x["id"] == pid))
        })
        .await;
    let it = seen["visitors"].as_array().and_then(|l| l.iter().find(|x| x["id"] == pid).cloned()).expect("listed");
    assert_eq!(
        (it["browser"].as_str(), it["os"].as_str(), it["device"].as_str(), it["language"].as_str()),
        (Some("Safari 17"), Some("iOS 17.4"), Some("phone"), Some("fr-FR")),
        "{it}"
    );
    assert_eq!(it["time_zone"], "Europe/Paris");
    let api: Value = serde_json::from_str(&o.agent.get(&format!("/api/v1/sites/{}/visitors/live", o.site)).await.body)
        .expect("json");
    let listed = api.as_array().and_then(|l| l.iter().find(|x| x["id"] == pid).cloned()).expect("in the API");
    assert_eq!((listed["browser"].as_str(), listed["device"].as_str()), (Some("Safari 17"), Some("phone")));

    // Another site's agent never sees this visitor.
    let other = org(&s.base, &owner, "Other").await;
    let (mut b, _) = agent(&other.agent, json!([])).await;
    b.send(json!({"type": "watch_visitors", "on": true})).await;
    let theirs = b.until_type("visitors").await;
    assert!(theirs["visitors"].as_array().is_some_and(|l| l.is_empty()), "{theirs}");
    b.send(json!({"type": "invite", "visitor": id})).await;
    assert_eq!(b.until_type("error").await["code"], "visitor_gone");
    other.agent.get(&format!("/api/v1/sites/{}/visitors/live", o.site)).await.assert_status(404);
}

#[tokio::test]
async fn a_manual_invitation_accepted_brings_the_visitor_to_the_inviting_agent() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (_bob_id, bob) = colleague(&s.base, &owner, &o, "Bob").await;
    let (_a, _) = agent(&o.agent, json!([])).await;
    let (mut b, _) = agent(&bob, json!([])).await;
    let (mut v, vw) = visitor(&s.base, o.campaign, None, None).await;
    let id = vw["visitor"].as_u64().expect("visitor id");
    b.send(json!({"type": "invite", "visitor": id, "text": "Can I help with your cart?"})).await;
    let inv = v.until_type("invitation").await;
    assert_eq!(inv["text"], "Can I help with your cart?");
    assert_eq!(inv["mode"], "manual");
    assert_eq!(inv["agent"], "Bob");
    b.send(json!({"type": "invite", "visitor": id})).await;
    assert_eq!(b.until_type("error").await["code"], "invitation_pending");

    v.send(json!({"type": "invitation_answer", "invitation": inv["invitation"], "accept": true})).await;
    let closed = v.until_type("invitation_closed").await;
    assert_eq!(closed["outcome"], "accepted");
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let assigned = b.until_type("assigned").await;
    assert_eq!(assigned["chat"]["info"]["name"], "Vera", "Bob invited, Bob gets the chat");
}

#[tokio::test]
async fn with_invite_the_campaign_invites_after_the_delay_and_a_refusal_reaches_every_tab() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    make_proactive(&owner, &o, "with_invite", "1").await;
    let (_a, _) = agent(&o.agent, json!([])).await;
    let (mut tab1, w) = visitor(&s.base, o.campaign, None, None).await;
    let token = w["token"].as_str().expect("token").to_string();
    let inv = tab1.until_type("invitation").await;
    assert_eq!(inv["text"], "Questions about your cart?");
    assert_eq!(inv["mode"], "auto");
    assert!(inv["agent"].is_null());
    // A second tab shows the same invitation.
    let (mut tab2, _) = visitor(&s.base, o.campaign, Some(&token), None).await;
    assert_eq!(tab2.until_type("invitation").await["invitation"], inv["invitation"]);
    tab2.send(json!({"type": "invitation_answer", "invitation": inv["invitation"], "accept": false})).await;
    assert_eq!(tab1.until_type("invitation_closed").await["outcome"], "refused");
    assert_eq!(tab2.until_type("invitation_closed").await["outcome"], "refused");
}

#[tokio::test]
async fn without_invite_an_agent_is_alerted_opens_the_chat_and_writes_first() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    make_proactive(&owner, &o, "without_invite", "1").await;
    let (mut a, _) = agent(&o.agent, json!([])).await;
    let (mut v, vw) = visitor(&s.base, o.campaign, None, None).await;
    let id = vw["visitor"].as_u64().expect("visitor id");
    let alert = a.until_type("proactive_alert").await;
    assert_eq!(alert["visitor"]["id"], id);
    assert_eq!(alert["visitor"]["page_url"], "https://shop.example/cart");
    assert!(alert["expires_at"].as_u64().is_some());
    a.send(json!({"type": "open_chat", "visitor": id})).await;
    let assigned = a.until_type("assigned").await;
    let chat = assigned["chat"]["id"].as_u64().expect("chat");
    assert_eq!(assigned["chat"]["status"], "active");
    assert_eq!(a.until_type("proactive_alert_withdrawn").await["reason"], "opened");
    let opened = v.until_type("chat").await;
    assert_eq!(opened["chat"]["id"], chat);
    assert_eq!(opened["chat"]["status"], "active");
    a.send(json!({"type": "message", "chat": chat, "id": "first", "text": "Hi! Anything I can help with?"})).await;
    let first = v.until(|f: &Value| f["type"] == "event" && f["kind"] == "message").await;
    assert_eq!(first["text"], "Hi! Anything I can help with?");

    // The visitor panel lists this chat among the visitor's chats.
    a.send(json!({"type": "visitor_chats", "visitor": id})).await;
    let theirs = a.until_type("visitor_chats").await;
    assert_eq!(theirs["chats"][0]["id"], chat);
    a.send(json!({"type": "open_chat", "visitor": id})).await;
    assert_eq!(a.until_type("error").await["code"], "already_chatting");
}

#[tokio::test]
async fn console_preferences_are_saved_per_agent_and_reach_the_other_tabs() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut tab1, _) = agent(&o.agent, json!([])).await;
    let (mut tab2, _) = agent(&o.agent, json!([])).await;
    let prefs = json!({"sound": false, "notify": true, "front_on_chat": true, "front_on_message": false});
    tab1.send(json!({"type": "prefs", "prefs": prefs})).await;
    assert_eq!(tab2.until_type("prefs").await["prefs"], prefs);
    let (_tab3, welcome) = agent(&o.agent, json!([])).await;
    assert_eq!(welcome["prefs"], prefs);
    tab1.send(json!({"type": "prefs", "prefs": {"sound": "loud"}})).await;
    assert_eq!(tab1.until_type("error").await["code"], "bad_frame");
}

#[tokio::test]
async fn a_site_with_live_chat_turned_off_refuses_its_widgets_until_turned_on_again() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    owner
        .post(&format!("/admin/sites/{}/enabled", o.site), &[("enabled", "no")])
        .await
        .assert_redirect("/admin/sites/");
    owner.get(&format!("/admin/sites/{}", o.site)).await.assert_contains("Live chat is <strong>off</strong>");
    let mut ws = Ws::connect(&ws_url(&s.base, "/ws/visitor"), &[]).await;
    ws.send(json!({"type": "hello", "v": 1, "campaign": o.campaign})).await;
    assert_eq!(ws.closed().await, Closed::Code(4004));
    assert_eq!(ws.seen_of("error")[0]["code"], "site_disabled");
    owner.post(&format!("/admin/sites/{}/enabled", o.site), &[("enabled", "maybe")]).await.assert_status(400);
    // Only the owner decides.
    o.agent.post(&format!("/admin/sites/{}/enabled", o.site), &[("enabled", "yes")]).await.assert_status(403);
    owner
        .post(&format!("/admin/sites/{}/enabled", o.site), &[("enabled", "yes")])
        .await
        .assert_redirect("/admin/sites/");
    let (_v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    assert!(welcome["token"].is_string());
}
