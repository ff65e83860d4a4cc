//! Live chat over real WebSockets against the real server: a visitor and agents as their
//! widget and console would talk.

use crate::harness::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn chat_id(v: &Value) -> u64 {
    v["chat"]["id"].as_u64().or_else(|| v["chat"].as_u64()).unwrap_or_else(|| panic!("no chat id in {v}"))
}

/// The texts of the message events among `frames`.
fn texts(frames: &[Value]) -> Vec<String> {
    frames.iter().filter(|v| v["kind"] == "message").map(|v| v["text"].as_str().unwrap_or("").to_string()).collect()
}

#[tokio::test]
async fn a_visitor_is_queued_taken_by_an_agent_chats_ends_and_rates() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    // Nobody online yet: the visitor is offered to leave a message.
    let (mut v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    let token = welcome["token"].as_str().expect("token").to_string();
    assert_eq!(welcome["campaign"]["prechat"][0]["key"], "name");
    assert!(welcome["chat"].is_null());
    v.send(json!({"type": "start", "fields": {}})).await;
    let err = v.until_type("error").await;
    assert_eq!(err["code"], "invalid_field");
    assert_eq!(err["field"], "name");
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    assert!(v.until_type("offline").await["chat"].is_null());
    v.send(json!({"type": "leave_message", "name": "Vera", "email": "not-an-email", "text": "Call me"})).await;
    assert_eq!(v.until_type("error").await["field"], "email");
    v.send(
        json!({"type": "leave_message", "name": "<b>Vera</b>", "email": "vera@example.com", "text": "Call me\nplease"}),
    )
    .await;
    v.until_type("left").await;
    let left = owner.get(&format!("/admin/sites/{}/messages", o.site)).await;
    left.assert_ok()
        .assert_contains("vera@example.com")
        .assert_contains("Call me\nplease")
        .assert_contains("&#60;b&#62;Vera");
    assert!(!left.body.contains("<b>Vera"), "names are shown as text");

    // The agent comes online, goes away; a chat then waits in the queue.
    let (mut a, aw) = agent(&o.agent, json!([])).await;
    assert_eq!(aw["presence"], "online");
    a.send(json!({"type": "presence", "presence": "away"})).await;
    a.until(|v: &Value| v["type"] == "presence" && v["presence"] == "away").await;
    v.send(json!({"type": "start", "fields": {"name": "Vera", "order": "ignored"}})).await;
    let started = v.until_type("chat").await;
    let chat = chat_id(&started);
    assert_eq!(started["chat"]["status"], "queued");
    let queue = v.until_type("queue").await;
    assert_eq!(queue["position"], 1);
    // Online again: the chat is allocated.
    a.send(json!({"type": "presence", "presence": "online"})).await;
    let assigned = a.until_type("assigned").await;
    assert_eq!(chat_id(&assigned), chat);
    assert_eq!(assigned["chat"]["info"]["page_url"], "https://shop.example/cart");
    assert_eq!(assigned["chat"]["info"]["name"], "Vera", "the pre-chat answers reach the agent");
    v.until(|v: &Value| v["type"] == "event" && v["kind"] == "assigned").await;

    // Messages both ways, acknowledged with their seq; a note stays among agents.
    v.send(json!({"type": "message", "chat": chat, "id": "v1", "text": "Hello?"})).await;
    let ack = v.until_type("ack").await;
    assert_eq!(ack["id"], "v1");
    let got = a.until(|f: &Value| f["type"] == "event" && f["kind"] == "message").await;
    assert_eq!(got["text"], "Hello?");
    assert_eq!(got["seq"], ack["seq"]);
    a.send(json!({"type": "note", "chat": chat, "id": "n1", "text": "VIP customer"})).await;
    a.until(|f: &Value| f["type"] == "ack" && f["id"] == "n1").await;
    a.send(json!({"type": "message", "chat": chat, "id": "a1", "text": "Hi Vera"})).await;
    let reply =
        v.until(|f: &Value| f["type"] == "event" && f["kind"] == "message" && f["author"]["by"] == "agent").await;
    assert_eq!(reply["text"], "Hi Vera");
    assert!(
        !v.seen.iter().any(|f| f["kind"] == "note" || f.to_string().contains("VIP")),
        "the note never reaches the visitor"
    );
    a.send(json!({"type": "typing", "chat": chat, "on": true})).await;
    assert_eq!(v.until_type("typing").await["by"], "agent");

    // The visitor ends the chat and rates it; the agent sees both.
    v.send(json!({"type": "end", "chat": chat})).await;
    v.until(|f: &Value| f["type"] == "event" && f["kind"] == "ended").await;
    v.send(json!({"type": "survey", "chat": chat, "rating": 5, "comment": "Great help"})).await;
    v.until(|f: &Value| f["type"] == "event" && f["kind"] == "survey").await;
    a.send(json!({"type": "history", "chat": chat})).await;
    let h = a.until_type("history").await;
    let kinds: Vec<&str> = h["events"].as_array().expect("events").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, vec!["system", "queued", "system", "assigned", "message", "note", "message", "ended", "survey"]);
    let seqs: Vec<u64> = h["events"].as_array().expect("events").iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<_>>());
    // The same visitor token on a new page finds no open chat now, but keeps its identity.
    let (_v2, again) = visitor(&s.base, o.campaign, Some(&token), None).await;
    assert_eq!(again["token"], token);
    assert!(again["chat"].is_null());

    // On request, the site admin exports then erases everything about the visitor.
    let found = owner.get(&format!("/admin/sites/{}/visitors?q=vera", o.site)).await;
    let vid = id_after(&found.body, &format!("/admin/sites/{}/visitors/", o.site));
    owner.get(&format!("/admin/sites/{}/visitors/{vid}", o.site)).await.assert_ok().assert_contains("vera@example.com");
    let export = owner.get(&format!("/admin/sites/{}/visitors/{vid}/export", o.site)).await;
    export.assert_ok().assert_contains("Hello?").assert_contains("Great help").assert_contains("Call me");
    owner
        .post(&format!("/admin/sites/{}/visitors/{vid}/erase", o.site), &[])
        .await
        .assert_redirect(&format!("/admin/sites/{}/visitors", o.site));
    owner.get(&format!("/admin/sites/{}/visitors/{vid}", o.site)).await.assert_status(404);
    assert!(!owner.get(&format!("/admin/sites/{}/messages", o.site)).await.body.contains("Call me"));
    a.send(json!({"type": "history", "chat": chat})).await;
    assert_eq!(a.until_type("error").await["code"], "chat_not_found", "the transcript is gone");
}

#[tokio::test]
async fn reconnecting_on_both_sides_loses_nothing_and_repeats_nothing() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut a, _) = agent(&o.agent, json!([])).await;
    let (mut v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    let token = welcome["token"].as_str().expect("token").to_string();
    v.send(json!({"type": "start", "fields": {"name": "Vic"}})).await;
    let chat = chat_id(&v.until_type("chat").await);
    a.until_type("assigned").await;
    for i in 1..=3 {
        v.send(json!({"type": "message", "chat": chat, "id": format!("v{i}"), "text": format!("visitor {i}")})).await;
        v.until(|f: &Value| f["type"] == "ack" && f["id"] == format!("v{i}")).await;
    }
    let last_seen =
        v.seen.iter().filter(|f| f["type"] == "event").filter_map(|f| f["seq"].as_u64()).max().expect("events");
    drop(v);
    // While the visitor is away the agent writes twice.
    for i in 1..=2 {
        a.send(json!({"type": "message", "chat": chat, "id": format!("a{i}"), "text": format!("agent {i}")})).await;
        a.until(|f: &Value| f["type"] == "ack" && f["id"] == format!("a{i}")).await;
    }
    let (mut v, again) = visitor(&s.base, o.campaign, Some(&token), Some((chat, last_seen))).await;
    assert_eq!(chat_id(&again), chat, "the same conversation");
    let e1 = v.until_type("event").await;
    let e2 = v.until_type("event").await;
    assert_eq!((e1["text"].as_str(), e2["text"].as_str()), (Some("agent 1"), Some("agent 2")));
    assert_eq!(e1["seq"].as_u64(), Some(last_seen + 1));
    // A resend of an already stored message (as after a lost ack) is acknowledged, not stored.
    v.send(json!({"type": "message", "chat": chat, "id": "v3", "text": "visitor 3"})).await;
    let ack = v.until_type("ack").await;
    assert_eq!(ack["id"], "v3");
    v.send(json!({"type": "message", "chat": chat, "id": "v4", "text": "visitor 4"})).await;
    v.until(|f: &Value| f["type"] == "ack" && f["id"] == "v4").await;
    // The agent drops and resumes from the last seq it had: exactly the missed events.
    let agent_last =
        a.seen.iter().filter(|f| f["type"] == "event").filter_map(|f| f["seq"].as_u64()).max().expect("events");
    drop(a);
    v.send(json!({"type": "message", "chat": chat, "id": "v5", "text": "visitor 5"})).await;
    v.until(|f: &Value| f["type"] == "ack" && f["id"] == "v5").await;
    let (mut a, aw) = agent(&o.agent, json!([{"chat": chat, "after": agent_last}])).await;
    assert_eq!(aw["chats"][0]["id"], chat);
    let missed: Vec<Value> = vec![a.until_type("event").await, a.until_type("event").await];
    assert_eq!(texts(&missed), vec!["visitor 4", "visitor 5"]);
    a.send(json!({"type": "history", "chat": chat})).await;
    let h = a.until_type("history").await;
    let all = texts(h["events"].as_array().expect("events"));
    assert_eq!(
        all,
        vec!["visitor 1", "visitor 2", "visitor 3", "agent 1", "agent 2", "visitor 4", "visitor 5"],
        "each once, in order"
    );
}

#[tokio::test]
async fn fifty_simultaneous_starts_of_one_visitor_make_one_chat() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (_a, _) = agent(&o.agent, json!([])).await;
    let (_first, welcome) = visitor(&s.base, o.campaign, None, None).await;
    let token = welcome["token"].as_str().expect("token").to_string();
    let mut tabs = vec![];
    for _ in 0..50 {
        tabs.push(visitor(&s.base, o.campaign, Some(&token), None).await.0);
    }
    let starts = tabs.iter_mut().map(|t| t.send(json!({"type": "start", "fields": {"name": "Same"}})));
    futures_util::future::join_all(starts).await;
    let mut ids = std::collections::BTreeSet::new();
    for t in &mut tabs {
        ids.insert(chat_id(&t.until_type("chat").await));
    }
    assert_eq!(ids.len(), 1, "one chat for one visitor: {ids:?}");
}

#[tokio::test]
async fn bad_frames_get_documented_errors_and_close_codes() {
    let s = TestServer::start_in(
        {
            let dir = tempfile::tempdir().expect("tempdir");
            seed_owner(dir.path()).await;
            dir
        },
        "[chat]\nmax_message_bytes = 100\n[realtime]\nframes_per_second = 5\nframes_burst = 10\n",
    )
    .await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let other = org(&s.base, &owner, "Globex").await;
    let url = ws_url(&s.base, "/ws/visitor");

    // Hello first, in a supported version, for a campaign that exists.
    let mut w = Ws::connect(&url, &[]).await;
    w.send(json!({"type": "ping"})).await;
    assert_eq!(w.closed().await, Closed::Code(4000));
    let mut w = Ws::connect(&url, &[]).await;
    w.send(json!({"type": "hello", "v": 9, "campaign": o.campaign})).await;
    assert_eq!(w.closed().await, Closed::Code(4000));
    assert_eq!(w.seen_of("error")[0]["code"], "unsupported_version");
    let mut w = Ws::connect(&url, &[]).await;
    w.send(json!({"type": "hello", "v": 1, "campaign": 999_999})).await;
    assert_eq!(w.closed().await, Closed::Code(4004));

    let (_a, _) = agent(&o.agent, json!([])).await;
    let (mut v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    // A token of another site's visitor is refused and replaced.
    let foreign = visitor(&s.base, other.campaign, None, None).await.1["token"].as_str().expect("token").to_string();
    let (w, again) = visitor(&s.base, o.campaign, Some(&foreign), None).await;
    assert_eq!(w.seen_of("error")[0]["code"], "invalid_token");
    assert_ne!(again["token"], foreign);
    assert_ne!(again["visitor"], welcome["visitor"]);
    drop(w);

    v.send(json!({"type": "start", "fields": {"name": "Bo"}})).await;
    let chat = chat_id(&v.until_type("chat").await);
    // Malformed JSON and unknown frames: an error frame, the connection stays.
    v.send_raw(Message::text("{not json")).await;
    assert_eq!(v.until_type("error").await["code"], "bad_frame");
    v.send(json!({"type": "shout", "text": "hi"})).await;
    assert_eq!(v.until_type("error").await["code"], "bad_frame");
    // Someone else's chat looks like no chat at all.
    let (mut intruder, _) = visitor(&s.base, o.campaign, None, None).await;
    intruder.send(json!({"type": "message", "chat": chat, "id": "x", "text": "let me in"})).await;
    let e = intruder.until_type("error").await;
    assert_eq!((e["code"].as_str(), e["id"].as_str()), (Some("chat_not_found"), Some("x")));
    // Too long for the configured 100 bytes; empty.
    v.send(json!({"type": "message", "chat": chat, "id": "long", "text": "x".repeat(101)})).await;
    assert_eq!(v.until_type("error").await["code"], "message_too_long");
    v.send(json!({"type": "message", "chat": chat, "id": "empty", "text": "   "})).await;
    assert_eq!(v.until_type("error").await["code"], "empty_message");
    v.send(json!({"type": "ping"})).await;
    v.until_type("pong").await;
    // A binary frame is not part of the protocol.
    let (mut b, _) = visitor(&s.base, o.campaign, None, None).await;
    b.send_raw(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(b.closed().await, Closed::Code(1003));
    // A frame over the size limit closes with 1009.
    let (mut big, _) = visitor(&s.base, o.campaign, None, None).await;
    big.send_raw(Message::text(format!("{{\"type\":\"ping\",\"pad\":\"{}\"}}", "y".repeat(20_000)))).await;
    assert_eq!(big.closed().await, Closed::Code(1009));
    // A flood: refused frames first, then the connection is closed; others are not disturbed.
    let (mut flood, _) = visitor(&s.base, o.campaign, None, None).await;
    for _ in 0..60 {
        flood.send_raw(Message::text(json!({"type": "ping"}).to_string())).await;
    }
    assert_eq!(flood.closed().await, Closed::Code(4029));
    assert!(flood.seen_of("error").iter().any(|e| e["code"] == "rate_limited"));
    v.send(json!({"type": "message", "chat": chat, "id": "ok", "text": "still here"})).await;
    assert_eq!(v.until_type("ack").await["id"], "ok");
}

#[tokio::test]
async fn the_agent_socket_needs_a_session_and_this_servers_origin() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let url = ws_url(&s.base, "/ws/agent");
    let err = tokio_tungstenite::connect_async(url.as_str()).await.expect_err("no session");
    assert!(err.to_string().contains("401"), "{err}");
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).expect("req");
    req.headers_mut().insert("cookie", o.agent.cookie_header().parse().expect("cookie"));
    req.headers_mut().insert("origin", "https://evil.example".parse().expect("origin"));
    let err = tokio_tungstenite::connect_async(req).await.expect_err("foreign origin");
    assert!(err.to_string().contains("403"), "{err}");
    // The owner has no site to answer chats for.
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).expect("req");
    req.headers_mut().insert("cookie", owner.cookie_header().parse().expect("cookie"));
    let err = tokio_tungstenite::connect_async(req).await.expect_err("owner");
    assert!(err.to_string().contains("403"), "{err}");
}

#[tokio::test]
async fn an_agent_who_leaves_hands_waiting_visitors_the_leave_a_message_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    let s = TestServer::start_in(dir, "[chat]\nagent_grace_secs = 1\n").await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut a, _) = agent(&o.agent, json!([])).await;
    a.send(json!({"type": "presence", "presence": "away"})).await;
    a.until(|v: &Value| v["type"] == "presence" && v["presence"] == "away").await;
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    v.send(json!({"type": "start", "fields": {"name": "Wanda"}})).await;
    v.until_type("queue").await;
    drop(a);
    // After the 1 s grace the agent is Offline; nobody is left for the queue.
    let off = v.until_type("offline").await;
    assert!(off["chat"].as_u64().is_some());
    assert!(
        v.seen.iter().any(|f| f["type"] == "event" && f["kind"] == "ended" && f["by"] == "no_agent"),
        "{:?}",
        v.seen
    );
}

#[tokio::test]
async fn text_that_is_not_utf8_closes_with_1007() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    let bad = Frame::message(vec![0x7b, 0xff, 0xfe, 0x7d], OpCode::Data(Data::Text), true);
    v.send_raw(Message::Frame(bad)).await;
    assert_eq!(v.closed().await, Closed::Code(1007));
}

#[tokio::test]
async fn a_server_shutdown_closes_sockets_with_1001_after_finishing_commits() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut a, _) = agent(&o.agent, json!([])).await;
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    v.send(json!({"type": "start", "fields": {"name": "Late"}})).await;
    let chat = chat_id(&v.until_type("chat").await);
    a.until_type("assigned").await;
    v.send(json!({"type": "message", "chat": chat, "id": "last", "text": "last words"})).await;
    v.until_type("ack").await;
    let dir = s.stop().await;
    assert_eq!(v.closed().await, Closed::Code(1001));
    assert_eq!(a.closed().await, Closed::Code(1001));
    // Everything acknowledged is there after the restart.
    let s = TestServer::start_in(dir, "").await;
    let agent_client = Client::new(&s.base);
    agent_client.login_ok("agent@acme.example", "agent-password-1").await;
    let (mut a, welcome) = agent(&agent_client, json!([])).await;
    assert_eq!(welcome["chats"][0]["id"], chat);
    let last =
        a.until(|f: &Value| f["type"] == "event" && f["text"] == "last words").await["seq"].as_u64().expect("seq");
    assert_eq!(welcome["chats"][0]["last_seq"].as_u64(), Some(last), "the restart took the last seq from the events");
    // Numbering goes on where it stopped.
    a.send(json!({"type": "message", "chat": chat, "id": "after", "text": "back again"})).await;
    assert_eq!(a.until(|f: &Value| f["type"] == "ack" && f["id"] == "after").await["seq"].as_u64(), Some(last + 1));
}

/// With the default limit (4,096 bytes), a message within it is taken however its characters
/// escape in JSON (3,000 control characters are an 18 KB frame), and a pasted text far over it
/// is answered `message_too_long` on a connection that stays open.
#[tokio::test]
async fn a_message_is_judged_by_its_size_not_by_its_frame() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (_a, aw) = agent(&o.agent, json!([])).await;
    let (mut v, vw) = visitor(&s.base, o.campaign, None, None).await;
    // Both welcomes say the limit, for the composers to check before sending.
    assert_eq!((vw["max_message_bytes"].as_u64(), aw["max_message_bytes"].as_u64()), (Some(4096), Some(4096)));
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let chat = chat_id(&v.until_type("chat").await);
    let controls = "\u{1}".repeat(3000);
    v.send(json!({"type": "message", "chat": chat, "id": "ctl", "text": controls})).await;
    assert_eq!(v.until_type("ack").await["id"], "ctl");
    v.send(json!({"type": "message", "chat": chat, "id": "paste", "text": "x".repeat(20_000)})).await;
    let e = v.until_type("error").await;
    assert_eq!((e["code"].as_str(), e["id"].as_str()), (Some("message_too_long"), Some("paste")));
    v.send(json!({"type": "ping"})).await;
    v.until_type("pong").await;
}

/// The visitor's chats in the console carry each chat's true `last_seq`, though the stored
/// summary is not rewritten for every message.
#[tokio::test]
async fn visitor_chats_carry_the_true_last_seq() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut a, _) = agent(&o.agent, json!([])).await;
    let (mut v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let chat = chat_id(&v.until_type("chat").await);
    a.until_type("assigned").await;
    let mut last = 0;
    for n in 0..5 {
        let id = format!("m{n}");
        v.send(json!({"type": "message", "chat": chat, "id": id, "text": "more"})).await;
        last = v.until(|f: &Value| f["type"] == "ack" && f["id"] == id.as_str()).await["seq"].as_u64().expect("seq");
    }
    a.send(json!({"type": "visitor_chats", "visitor": welcome["visitor"]})).await;
    let got = a.until_type("visitor_chats").await;
    assert_eq!(got["chats"][0]["id"], chat);
    assert_eq!(got["chats"][0]["last_seq"], last, "{got}");
}

/// A campaign of a deleted site is unknown to widgets at once: the switchboard's directory
/// follows the deletion.
#[tokio::test]
async fn widgets_of_a_deleted_site_are_refused() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (_v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    assert_eq!(welcome["campaign"]["id"], o.campaign);
    owner
        .post(&format!("/admin/sites/{}/delete", o.site), &[("confirm_name", "Acme")])
        .await
        .assert_redirect("/admin/sites");
    let mut w = Ws::connect(&ws_url(&s.base, "/ws/visitor"), &[]).await;
    w.send(json!({"type": "hello", "v": 1, "campaign": o.campaign})).await;
    assert_eq!(w.until_type("error").await["code"], "unknown_campaign");
    assert_eq!(w.closed().await, Closed::Code(4004));
}

/// An agent who chose Away is Away again when their console comes back, after a restart too,
/// and is given no queued chat.
#[tokio::test]
async fn an_agents_chosen_away_status_survives_a_restart() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let (mut a, welcome) = agent(&o.agent, json!([])).await;
    assert_eq!(welcome["presence"], "online");
    a.send(json!({"type": "presence", "presence": "away"})).await;
    a.until(|f: &Value| f["type"] == "presence" && f["presence"] == "away").await;
    drop(a);
    let s = TestServer::start_in(s.stop().await, "").await;
    let again = Client::new(&s.base);
    again.login_ok("agent@acme.example", "agent-password-1").await;
    let (mut a, welcome) = agent(&again, json!([])).await;
    assert_eq!(welcome["presence"], "away", "the status the agent chose");
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    v.until_type("queue").await;
    // Back Online by choice: the waiting chat comes.
    a.send(json!({"type": "presence", "presence": "online"})).await;
    a.until_type("assigned").await;
}
