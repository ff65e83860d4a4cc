//! Every kind of transfer over real WebSockets: agents' consoles and a visitor's widget.

use crate::harness::*;
use serde_json::{Value, json};

struct Scene {
    s: TestServer,
    owner: Client,
    o: Org,
    ann: Ws,
    v: Ws,
    /// The visitor's token, to come back.
    token: Option<String>,
    chat: u64,
}

/// Site "Acme" with Ann (online, has the visitor's chat) and the given colleagues (connected,
/// in the same department, after the chat was allocated to Ann).
async fn scene(colleagues: &[&str]) -> (Scene, Vec<(u64, Ws)>) {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut ann, _) = agent(&o.agent, json!([])).await;
    let (mut v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    let token = welcome["token"].as_str().map(str::to_string);
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
    ann.until_type("assigned").await;
    v.send(json!({"type": "message", "chat": chat, "id": "v1", "text": "My order is late"})).await;
    v.until_type("ack").await;
    let mut others = vec![];
    for name in colleagues {
        let (id, client) = colleague(&s.base, &owner, &o, name).await;
        let (ws, _) = agent(&client, json!([])).await;
        others.push((id, ws));
    }
    (Scene { s, owner, o, ann, v, token, chat }, others)
}

fn transfer(chat: u64, target: Value, comment: &str) -> Value {
    json!({"type": "transfer", "chat": chat, "target": target, "comment": comment})
}

#[tokio::test]
async fn cold_transfer_hands_the_whole_history_and_comment_to_the_new_agent() {
    let (mut sc, mut others) = scene(&["Bob"]).await;
    let (bob_id, bob) = &mut others[0];
    sc.ann.send(transfer(sc.chat, json!({"kind": "agent", "agent": bob_id, "mode": "cold"}), "Refund case")).await;
    sc.ann.until(|f: &Value| f["type"] == "unassigned" && f["chat"] == sc.chat).await;
    let got = bob.until_type("assigned").await;
    assert_eq!(got["chat"]["id"], sc.chat);
    bob.send(json!({"type": "history", "chat": sc.chat})).await;
    let h = bob.until_type("history").await;
    let events = h["events"].as_array().expect("events");
    assert!(events.iter().any(|e| e["text"] == "My order is late"), "the whole history");
    assert!(events.iter().any(|e| e["kind"] == "transfer" && e["comment"] == "Refund case" && e["transfer"] == "cold"));
    let notice =
        sc.v.until(|f: &Value| f["kind"] == "system" && f["text"].as_str().is_some_and(|t| t.contains("transferred")))
            .await;
    assert_eq!(notice["chat"], sc.chat);
    assert!(
        !sc.v.seen.iter().any(|f| f["kind"] == "transfer" || f.to_string().contains("Refund case")),
        "the comment stays among agents"
    );
    // The source has lost it.
    sc.ann.send(json!({"type": "message", "chat": sc.chat, "id": "late", "text": "still mine?"})).await;
    assert_eq!(sc.ann.until_type("error").await["code"], "chat_not_found");
}

#[tokio::test]
async fn warm_transfer_declined_then_accepted_elsewhere_then_transfer_now() {
    let (mut sc, mut others) = scene(&["Bob", "Cy"]).await;
    let (bob_id, cy_id) = (others[0].0, others[1].0);
    sc.ann.send(transfer(sc.chat, json!({"kind": "agent", "agent": bob_id, "mode": "warm"}), "Knows billing?")).await;
    let offer = others[0].1.until_type("offer").await;
    assert_eq!(
        (offer["note"].as_str(), offer["chat"]["info"]["name"].as_str()),
        (Some("Knows billing?"), Some("Vera"))
    );
    assert!(offer["expires_at"].as_u64().is_some());
    // Ann keeps chatting meanwhile.
    sc.ann.send(json!({"type": "message", "chat": sc.chat, "id": "a1", "text": "Finding a colleague"})).await;
    sc.ann.until(|f: &Value| f["type"] == "ack" && f["id"] == "a1").await;
    others[0].1.send(json!({"type": "answer_offer", "chat": sc.chat, "accept": false, "reason": "on a call"})).await;
    let t = sc.ann.until(|f: &Value| f["type"] == "transfer" && f["outcome"] == "declined").await;
    assert_eq!(
        (t["reason"].as_str(), t["decline_text"].as_str(), t["note"].as_str()),
        (Some("declined"), Some("on a call"), Some("Knows billing?"))
    );
    sc.ann.send(transfer(sc.chat, json!({"kind": "agent", "agent": cy_id, "mode": "warm"}), "Knows billing?")).await;
    others[1].1.until_type("offer").await;
    others[1].1.send(json!({"type": "answer_offer", "chat": sc.chat, "accept": true})).await;
    sc.ann.until(|f: &Value| f["type"] == "transfer" && f["outcome"] == "accepted").await;
    sc.ann.send(json!({"type": "message", "chat": sc.chat, "id": "bye", "text": "Cy takes over, bye!"})).await;
    sc.ann.until(|f: &Value| f["type"] == "ack" && f["id"] == "bye").await;
    sc.ann.send(json!({"type": "transfer_now", "chat": sc.chat})).await;
    sc.ann.until_type("unassigned").await;
    assert_eq!(others[1].1.until_type("assigned").await["chat"]["id"], sc.chat);
    let _ = bob_id;
}

#[tokio::test]
async fn an_unanswered_warm_offer_times_out_with_no_answer() {
    let (mut sc, mut others) = scene(&["Bob"]).await;
    let settings = format!("/admin/sites/{}/settings", sc.o.site);
    sc.owner.post(&settings, &[("warm_timeout_secs", "5")]).await.assert_redirect(&settings);
    sc.ann.send(transfer(sc.chat, json!({"kind": "agent", "agent": others[0].0, "mode": "warm"}), "n")).await;
    others[0].1.until_type("offer").await;
    // The 5 s timeout is the server's; the test only waits longer than it for the frames.
    sc.ann.wait = std::time::Duration::from_secs(15);
    others[0].1.wait = std::time::Duration::from_secs(15);
    let t = sc.ann.until(|f: &Value| f["type"] == "transfer" && f["outcome"] == "expired").await;
    assert_eq!(t["reason"], "no_answer");
    assert_eq!(others[0].1.until_type("offer_withdrawn").await["reason"], "expired");
    others[0].1.send(json!({"type": "answer_offer", "chat": sc.chat, "accept": true})).await;
    assert_eq!(others[0].1.until_type("error").await["code"], "offer_gone");
}

#[tokio::test]
async fn broadcast_goes_to_all_and_vanishes_for_the_others_when_one_accepts() {
    let (mut sc, mut others) = scene(&["Bob", "Cy"]).await;
    sc.ann
        .send(transfer(
            sc.chat,
            json!({"kind": "department", "department": sc.o.department, "broadcast": true}),
            "anyone?",
        ))
        .await;
    for (_, ws) in others.iter_mut() {
        assert_eq!(ws.until_type("offer").await["broadcast"], true);
    }
    // Both accept at the same moment: exactly one wins, the other is told.
    let accept = json!({"type": "answer_offer", "chat": sc.chat, "accept": true});
    let (a, b) = others.split_at_mut(1);
    futures_util::future::join(a[0].1.send(accept.clone()), b[0].1.send(accept)).await;
    let mut winners = 0;
    for (_, ws) in others.iter_mut() {
        let f = ws
            .until(|f: &Value| f["type"] == "assigned" || f["type"] == "error" || f["type"] == "offer_withdrawn")
            .await;
        if f["type"] == "assigned" {
            winners += 1;
        } else {
            assert!(f["code"] == "offer_gone" || f["reason"] == "taken", "{f}");
        }
    }
    assert_eq!(winners, 1, "one owner");
    sc.ann.until_type("unassigned").await;
}

#[tokio::test]
async fn transfer_anyway_waits_for_an_offline_agent_and_a_queue_transfer_allocates() {
    let (mut sc, _) = scene(&[]).await;
    let (bob_id, bob_client) = colleague(&sc.s.base, &sc.owner, &sc.o, "Bob").await;
    sc.ann.send(transfer(sc.chat, json!({"kind": "agent", "agent": bob_id, "mode": "cold"}), "")).await;
    assert_eq!(sc.ann.until_type("error").await["code"], "target_unavailable");
    // A fallback over a day is refused, not cut silently; the chat stays.
    let too_long = json!({"kind": "agent", "agent": bob_id, "mode": "anyway", "fallback_mins": 1441});
    sc.ann.send(transfer(sc.chat, too_long, "")).await;
    let refused = sc.ann.until_type("error").await;
    assert_eq!((refused["code"].as_str(), refused["chat"].as_u64()), (Some("bad_frame"), Some(sc.chat)));
    sc.ann
        .send(transfer(
            sc.chat,
            json!({"kind": "agent", "agent": bob_id, "mode": "anyway", "fallback_mins": 30}),
            "for Bob",
        ))
        .await;
    sc.ann.until_type("unassigned").await;
    sc.v.until(|f: &Value| f["kind"] == "system" && f["text"].as_str().is_some_and(|t| t.contains("queue"))).await;
    let (mut bob, welcome) = agent(&bob_client, json!([])).await;
    let delivered = match welcome["chats"].as_array().filter(|c| !c.is_empty()) {
        Some(chats) => chats[0]["id"].clone(),
        None => bob.until_type("assigned").await["chat"]["id"].clone(),
    };
    assert_eq!(delivered, sc.chat, "delivered when Bob comes online");
    // Bob sends it to the department queue: the rule gives it to the available agent (Ann).
    bob.send(transfer(sc.chat, json!({"kind": "department", "department": sc.o.department}), "")).await;
    bob.until_type("unassigned").await;
    assert_eq!(sc.ann.until_type("assigned").await["chat"]["id"], sc.chat);
}

#[tokio::test]
async fn cross_site_transfer_moves_the_visitor_and_locks_the_source_out() {
    let (mut sc, _) = scene(&[]).await;
    let other = org(&sc.s.base, &sc.owner, "Globex").await;
    // Globex's campaign speaks French and has no post-chat survey.
    sc.owner
        .post(
            &format!("/admin/sites/{}/campaigns/{}", other.site, other.campaign),
            &[
                ("name", "Main"),
                ("language", "fr"),
                ("department", &other.department.to_string()),
                ("color", "#654321"),
                ("notify_transfer", "on"),
                ("proactive_mode", "disabled"),
                ("proactive_after_secs", "0"),
                ("reinvite_after_mins", "0"),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{}/campaigns", other.site));
    let (mut dee, _) = agent(&other.agent, json!([])).await;
    let target = json!({"kind": "site", "site": other.site});
    sc.ann.send(transfer(sc.chat, target.clone(), "speaks German")).await;
    assert_eq!(sc.ann.until_type("error").await["code"], "not_in_group");
    let (a, b) = (sc.o.site.to_string(), other.site.to_string());
    sc.owner
        .post("/admin/groups", &[("name", "EU"), ("sites", &a), ("sites", &b)])
        .await
        .assert_redirect("/admin/groups");
    // The picker shows the site as able to receive.
    sc.ann.send(json!({"type": "targets", "q": ""})).await;
    let t = sc.ann.until_type("targets").await;
    assert!(
        t["sites"].as_array().expect("sites").iter().any(|s| s["id"] == other.site && s["can_receive"] == true),
        "{t}"
    );
    assert!(
        t["agents"].as_array().expect("agents").iter().any(|a| a["site"] == other.site && a["presence"] == "online")
    );
    // A note of the source site stays there: the receiving agent never reads it.
    sc.ann.send(json!({"type": "note", "chat": sc.chat, "id": "n1", "text": "refund approved by Sam"})).await;
    sc.ann.until(|f: &Value| f["type"] == "ack" && f["id"] == "n1").await;
    sc.ann.send(transfer(sc.chat, target, "speaks German")).await;
    sc.ann.until_type("unassigned").await;
    let got = dee.until_type("assigned").await;
    let new_chat = got["chat"]["id"].as_u64().expect("id");
    assert_ne!(new_chat, sc.chat);
    assert_eq!(got["chat"]["origin"]["comment"], "speaks German");
    assert_eq!(got["chat"]["origin"]["site_name"], "Acme");
    assert_eq!(got["chat"]["info"]["name"], "Vera", "no second pre-chat form");
    dee.send(json!({"type": "history", "chat": new_chat})).await;
    let h = dee.until_type("history").await;
    assert!(
        h["events"].as_array().expect("events").iter().any(|e| e["text"] == "My order is late"),
        "the transcript came along"
    );
    // The visitor's window follows, in the same conversation view.
    let moved = sc.v.until(|f: &Value| f["type"] == "chat" && f["chat"]["id"] == new_chat).await;
    assert_eq!(moved["chat"]["status"], "queued");
    assert!(moved["chat"].get("origin").is_none(), "the transfer log is for agents: {moved}");
    // The receiving campaign's own words, in its language, though Dee took the chat at once.
    let notice = "Vous êtes transféré vers un autre conseiller. Merci de patienter un instant.";
    assert!(
        sc.v.seen.iter().any(|f| f["type"] == "event" && f["chat"] == new_chat && f["text"] == notice),
        "{:?}",
        sc.v.seen
    );
    sc.v.send(json!({"type": "message", "chat": new_chat, "id": "v2", "text": "Hallo"})).await;
    assert_eq!(
        dee.until(|f: &Value| f["type"] == "event" && f["kind"] == "message" && f["text"] == "Hallo").await["chat"],
        new_chat
    );
    // Coming back on another page, the visitor finds the new chat, with nothing of its origin
    // (every frame a test visitor receives is checked against agent-only content).
    let (mut again, welcome) = visitor(&sc.s.base, sc.o.campaign, sc.token.as_deref(), Some((new_chat, 0))).await;
    assert_eq!(welcome["chat"]["id"], new_chat);
    // The page's own campaign (English) in `campaign`; the chat's, which the widget follows,
    // in `chat.campaign`: French, no survey.
    assert_eq!(welcome["campaign"]["language"], "en");
    let followed = &welcome["chat"]["campaign"];
    assert_eq!((followed["language"].as_str(), followed["postchat"]["enabled"].as_bool()), (Some("fr"), Some(false)));
    again.until(|f: &Value| f["type"] == "event" && f["text"] == "Hallo").await;
    assert!(
        !again.seen.iter().any(|f| f["kind"] == "ended" || f["kind"] == "note"),
        "the replay of an open chat has no end (and no note): {:?}",
        again.seen
    );
    assert!(again.seen.iter().any(|f| f["text"] == "My order is late"), "the copied conversation is replayed");
    // The source agent can no longer view what follows.
    sc.ann.send(json!({"type": "history", "chat": new_chat})).await;
    assert_eq!(sc.ann.until_type("error").await["code"], "chat_not_found");
    sc.ann.send(json!({"type": "message", "chat": new_chat, "id": "x", "text": "hi"})).await;
    assert_eq!(sc.ann.until_type("error").await["code"], "chat_not_found");
    // The post-chat form is the receiving campaign's: none here.
    dee.send(json!({"type": "end", "chat": new_chat})).await;
    again.until(|f: &Value| f["type"] == "event" && f["kind"] == "ended").await;
    again.send(json!({"type": "survey", "chat": new_chat, "rating": 5})).await;
    let refused = again.until_type("error").await;
    assert_eq!((refused["code"].as_str(), refused["chat"].as_u64()), (Some("not_allowed"), Some(new_chat)));
    // Globex's transcript page: the copied conversation marked as Acme's, Acme's note absent.
    let page = sc.owner.get(&format!("/admin/sites/{}/chats/{new_chat}", other.site)).await;
    page.assert_ok().assert_contains("My order is late").assert_contains("(from Acme)");
    assert!(!page.body.contains("refund approved by Sam"), "the source site's note stays there");
}

/// What an admin changes reaches live chat at once: the store announces the change after its
/// commit and the switchboard reads the site's directory again (no restart, no reload call).
#[tokio::test]
async fn admin_changes_reach_the_switchboard_at_once() {
    let (mut sc, mut others) = scene(&["Bob"]).await;
    let bob_id = others[0].0;
    let site = sc.o.site;
    // Bob gains skills: the picker finds him by one of them.
    let dept = sc.o.department.to_string();
    sc.owner
        .post(
            &format!("/admin/sites/{site}/agents/{bob_id}"),
            &[
                ("name", "Bob"),
                ("email", "bob@colleague.example"),
                ("role", "agent"),
                ("skills", "German, refunds"),
                ("max_chats", "3"),
                ("active", "on"),
                ("departments", &dept),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{site}/agents"));
    sc.ann.send(json!({"type": "targets", "q": "german"})).await;
    let found = sc.ann.until_type("targets").await;
    let ids: Vec<u64> = found["agents"].as_array().expect("agents").iter().filter_map(|a| a["id"].as_u64()).collect();
    assert_eq!(ids, [bob_id], "{found}");
    // The site's warm-transfer timeout changes: the next offer runs that long.
    let settings = format!("/admin/sites/{site}/settings");
    sc.owner.post(&settings, &[("warm_timeout_secs", "45")]).await.assert_redirect(&settings);
    let sent_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64;
    sc.ann.send(transfer(sc.chat, json!({"kind": "agent", "agent": bob_id, "mode": "warm"}), "")).await;
    let offer = others[0].1.until_type("offer").await;
    let runs = offer["expires_at"].as_u64().expect("expires_at").saturating_sub(sent_at);
    assert!((40_000..=46_000).contains(&runs), "the offer runs {runs} ms");
    sc.ann.send(json!({"type": "cancel_transfer", "chat": sc.chat})).await;
    others[0].1.until_type("offer_withdrawn").await;
    // The campaign's transfer notice changes: the visitor reads the new words.
    let notice = "One moment, a colleague takes over.";
    sc.owner
        .post(
            &format!("/admin/sites/{site}/campaigns/{}", sc.o.campaign),
            &[
                ("name", "Main"),
                ("language", "en"),
                ("department", &dept),
                ("color", "#123456"),
                ("transfer", notice),
                ("field_key", "name"),
                ("field_label", "Your name"),
                ("field_kind", "text"),
                ("field_required", "yes"),
                ("postchat_enabled", "on"),
                ("notify_transfer", "on"),
                ("proactive_mode", "disabled"),
                ("proactive_after_secs", "0"),
                ("reinvite_after_mins", "0"),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{site}/campaigns"));
    sc.ann.send(transfer(sc.chat, json!({"kind": "agent", "agent": bob_id, "mode": "cold"}), "")).await;
    sc.v.until(|f: &Value| f["type"] == "event" && f["text"] == notice).await;
}

#[tokio::test]
async fn a_restart_withdraws_a_pending_offer_and_records_its_outcome() {
    let (sc, mut others) = scene(&["Bob"]).await;
    let Scene { s, mut ann, chat, o, .. } = sc;
    let bob_id = others[0].0;
    ann.send(transfer(chat, json!({"kind": "agent", "agent": bob_id, "mode": "warm"}), "Knows billing?")).await;
    others[0].1.until_type("offer").await;
    ann.until(|f: &Value| f["type"] == "transfer" && f["outcome"] == "offered").await;
    // Consoles opened meanwhile are told of the transfer under way: Bob's second tab has the
    // offer, Ann's the transfer she is waiting on.
    let bob_client = Client::new(&s.base);
    bob_client.login_ok("bob@colleague.example", "colleague-password-1").await;
    let (_bob2, welcome) = agent(&bob_client, json!([])).await;
    let offers = welcome["offers"].as_array().expect("offers");
    assert_eq!(
        (offers.len(), &offers[0]["chat"]["id"], &offers[0]["note"]),
        (1, &json!(chat), &json!("Knows billing?"))
    );
    assert!(offers[0]["expires_at"].as_u64().is_some());
    let (_ann2, welcome) = agent(&o.agent, json!([])).await;
    assert_eq!(
        welcome["transfers"],
        json!([{"chat": chat, "outcome": "offered", "note": "Knows billing?", "expires_at": offers[0]["expires_at"]}])
    );
    drop(others);
    let s = TestServer::start_in(s.stop().await, "").await;
    // Ann's console comes back and resumes the chat: the offer's step has its outcome.
    let ann_client = Client::new(&s.base);
    ann_client.login_ok("agent@acme.example", "agent-password-1").await;
    let (mut ann, welcome) = agent(&ann_client, json!([{"chat": chat, "after": 0}])).await;
    assert_eq!(welcome["chats"][0]["id"], chat, "the chat stayed Ann's");
    assert_eq!(welcome["transfers"], json!([]));
    let step =
        ann.until(|f: &Value| f["type"] == "event" && f["kind"] == "transfer" && f["outcome"] == "cancelled").await;
    assert_eq!((step["reason"].as_str(), step["to_agent"].as_u64()), (Some("restart"), Some(bob_id)));
    // Bob's late answer finds no offer.
    let bob = Client::new(&s.base);
    bob.login_ok("bob@colleague.example", "colleague-password-1").await;
    let (mut bob, welcome) = agent(&bob, json!([])).await;
    assert_eq!(welcome["offers"], json!([]), "no offer survives the restart");
    bob.send(json!({"type": "answer_offer", "chat": chat, "accept": true})).await;
    assert_eq!(bob.until_type("error").await["code"], "offer_gone");
    // The transcript says what became of the offer.
    let owner = s.owner().await;
    owner
        .get(&format!("/admin/sites/{}/chats/{chat}", o.site))
        .await
        .assert_ok()
        .assert_contains("the server restarted");
    // A new transfer works as before.
    ann.send(transfer(chat, json!({"kind": "agent", "agent": bob_id, "mode": "warm"}), "Again")).await;
    assert_eq!(bob.until_type("offer").await["note"], "Again");
}
