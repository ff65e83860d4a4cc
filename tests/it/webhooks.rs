//! Webhooks from the receiver's side: a real HTTP receiver in the test checks every request's
//! signature and counts deliveries by event id, through every event, a receiver outage
//! (retries), a server restart with deliveries pending, pausing and resuming, and the
//! delivery log page. Addresses Parley may not reach are refused.

use crate::harness::*;
use hmac::{Hmac, KeyInit, Mac};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{EndpointExt, Request, Route, handler, post};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One request the receiver took.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    body: Value,
    /// The signature checked out for the endpoint's secret and the request's timestamp.
    signed: bool,
}

struct Shared {
    secret: Mutex<String>,
    /// What the receiver answers.
    status: AtomicU16,
    got: Mutex<Vec<Received>>,
}

#[handler]
async fn hook(req: &Request, body: String, Data(s): Data<&Arc<Shared>>) -> StatusCode {
    let header = |name: &str| req.header(name).unwrap_or_default().to_string();
    let (id, ts, sig) =
        (header("parley-webhook-id"), header("parley-webhook-timestamp"), header("parley-webhook-signature"));
    let secret = s.secret.lock().expect("lock").clone();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{ts}.{body}").as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let fresh = ts.parse::<u64>().is_ok_and(|t| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
        now.abs_diff(t) < 300
    });
    let signed = sig == format!("v1={expected}") && fresh;
    let status = s.status.load(Ordering::SeqCst);
    s.got.lock().expect("lock").push(Received { id, body: serde_json::from_str(&body).unwrap_or(Value::Null), signed });
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

/// A receiver on a loopback port of its own.
struct Receiver {
    url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            secret: Mutex::new(String::new()),
            status: AtomicU16::new(200),
            got: Mutex::new(vec![]),
        });
        let stop = CancellationToken::new();
        let app = Route::new().at("/hook", post(hook)).data(shared.clone());
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
        let signal = stop.clone();
        tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, signal.cancelled_owned(), Some(Duration::from_secs(1)))
                .await;
        });
        Receiver { url, shared, stop }
    }

    fn got(&self) -> Vec<Received> {
        self.shared.got.lock().expect("lock").clone()
    }

    /// Wait until a delivery of `ty` satisfying `pred` has come (10 s at most).
    async fn until(&self, ty: &str, pred: impl Fn(&Value) -> bool) -> Received {
        for _ in 0..200 {
            if let Some(r) = self.got().into_iter().find(|r| r.body["type"] == ty && pred(&r.body)) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {ty} delivery; got {:?}", self.got().iter().map(|r| r.body["type"].clone()).collect::<Vec<_>>());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

const ALL: [&str; 8] = [
    "chat.started",
    "chat.assigned",
    "chat.transferred",
    "chat.ended",
    "message.created",
    "survey.answered",
    "message_left.created",
    "invitation.answered",
];

/// Add an endpoint for `events` on the site's Webhooks page; its id and secret.
async fn add_endpoint(owner: &Client, site: u64, url: &str, events: &[&str]) -> (u64, String) {
    let mut fields = vec![("url", url), ("description", "CRM")];
    fields.extend(events.iter().map(|e| ("events", *e)));
    let page = owner.post(&format!("/admin/sites/{site}/webhooks"), &fields).await;
    page.assert_ok().assert_contains("not shown again");
    let start =
        page.body.find("<code id=\"webhook-secret\">").expect("the secret") + "<code id=\"webhook-secret\">".len();
    let secret = page.body[start..].split('<').next().expect("secret").to_string();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    let id = id_after(&page.body, &format!("/admin/sites/{site}/webhooks/"));
    (id, secret)
}

const HOOKS: &str = "[webhooks]\nallow_private_targets = true\nretry_secs = 1\n";

#[tokio::test]
async fn every_event_is_signed_and_delivered_through_an_outage_and_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    let s = TestServer::start_in(dir, HOOKS).await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let r = Receiver::start().await;
    let (endpoint, secret) = add_endpoint(&owner, o.site, &r.url, &ALL).await;
    *r.shared.secret.lock().expect("lock") = secret;

    // Nobody online: a message is left.
    let (mut lea, _) = visitor(&s.base, o.campaign, None, None).await;
    lea.send(json!({"type": "leave_message", "name": "Léa", "email": "lea@customer.example", "text": "Call me"})).await;
    lea.until_type("left").await;
    let left = r.until("message_left.created", |_| true).await;
    assert_eq!(left.body["data"]["message"]["email"], "lea@customer.example");

    // A chat: started, assigned, messages, a cold transfer, the end, the survey.
    let (bob_id, bob_client) = colleague(&s.base, &owner, &o, "Bob").await;
    let (mut ann, _) = agent(&o.agent, json!([])).await;
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    v.send(json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
    ann.until(|f| f["type"] == "assigned").await;
    v.send(json!({"type": "message", "chat": chat, "id": "v1", "text": "My parcel is damaged"})).await;
    v.until_type("ack").await;
    ann.send(json!({"type": "note", "chat": chat, "id": "n1", "text": "VIP"})).await;
    ann.until(|f| f["type"] == "ack" && f["id"] == "n1").await;
    let (mut bob, _) = agent(&bob_client, json!([])).await;
    ann.send(json!({"type": "transfer", "chat": chat, "target": {"kind": "agent", "agent": bob_id, "mode": "cold"}, "comment": "Parcels"}))
        .await;
    bob.until(|f| f["type"] == "assigned").await;
    bob.send(json!({"type": "message", "chat": chat, "id": "b1", "text": "I will send a new one"})).await;
    bob.until(|f| f["type"] == "ack" && f["id"] == "b1").await;
    bob.send(json!({"type": "end", "chat": chat})).await;
    v.until(|f| f["type"] == "event" && f["kind"] == "ended").await;
    v.send(json!({"type": "survey", "chat": chat, "rating": 5, "comment": "Great"})).await;
    v.until(|f| f["type"] == "event" && f["kind"] == "survey").await;

    // An invitation answered.
    let (mut w, ww) = visitor(&s.base, o.campaign, None, None).await;
    ann.send(json!({"type": "invite", "visitor": ww["visitor"], "text": "Need help?"})).await;
    let inv = w.until_type("invitation").await;
    w.send(json!({"type": "invitation_answer", "invitation": inv["invitation"], "accept": false})).await;
    w.until_type("invitation_closed").await;

    let started = r.until("chat.started", |b| b["data"]["chat"]["id"] == chat).await;
    assert_eq!(started.body["data"]["chat"]["name"], "Vera");
    assert_eq!(r.until("chat.assigned", |b| b["data"]["agent"]["id"] == bob_id).await.body["data"]["chat"]["id"], chat);
    let msg = r.until("message.created", |b| b["data"]["message"]["author"] == "visitor").await;
    assert_eq!(msg.body["data"]["message"]["text"], "My parcel is damaged");
    r.until("message.created", |b| b["data"]["message"]["name"] == "Bob").await;
    let step = r.until("chat.transferred", |b| b["data"]["step"]["outcome"] == "completed").await;
    assert_eq!(
        (step.body["data"]["step"]["transfer"].as_str(), step.body["data"]["step"]["comment"].as_str()),
        (Some("cold"), Some("Parcels"))
    );
    let ended = r.until("chat.ended", |_| true).await;
    assert_eq!(
        (ended.body["data"]["ended_by"].as_str(), ended.body["data"]["chat"]["status"].as_str()),
        (Some("agent"), Some("ended"))
    );
    assert_eq!(r.until("survey.answered", |_| true).await.body["data"]["rating"], 5);
    assert_eq!(r.until("invitation.answered", |_| true).await.body["data"]["invitation"]["outcome"], "refused");
    for got in r.got() {
        assert!(got.signed, "every request is signed: {got:?}");
        assert_eq!(got.body["version"], 1);
        assert_eq!(got.body["site"], o.site);
        assert_eq!(got.body["id"], got.id.as_str(), "the header carries the event id");
        assert!(!got.body.to_string().contains("VIP"), "notes never leave: {:?}", got.body);
    }

    // The receiver fails: the message is retried until it answers 2xx; the log shows it.
    r.shared.status.store(503, Ordering::SeqCst);
    v.send(json!({"type": "message", "chat": chat, "id": "v2", "text": "Thanks again"})).await;
    let _ = v.until(|f| f["type"] == "ack" || f["type"] == "error").await;
    let reopened = {
        // The chat ended: a new chat carries the next message.
        let (mut v3, _) = visitor(&s.base, o.campaign, None, None).await;
        v3.send(json!({"type": "start", "fields": {"name": "Max"}})).await;
        let c = v3.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
        (v3, c)
    };
    let (mut max, max_chat) = reopened;
    let failing = r.until("chat.started", |b| b["data"]["chat"]["id"] == max_chat).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let tries = r.got().iter().filter(|g| g.id == failing.id).count();
    assert!(tries >= 2, "retried while the receiver fails: {tries}");
    let log = owner.get(&format!("/admin/sites/{}/webhooks/{endpoint}", o.site)).await;
    log.assert_ok()
        .assert_contains("data-status=\"pending\"")
        .assert_contains("<td>503</td>")
        .assert_contains("HTTP 503");
    log.assert_contains("data-status=\"failing\"");
    r.shared.status.store(200, Ordering::SeqCst);
    for _ in 0..100 {
        if !owner
            .get(&format!("/admin/sites/{}/webhooks/{endpoint}", o.site))
            .await
            .body
            .contains("data-status=\"pending\"")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    owner.get(&format!("/admin/sites/{}/webhooks/{endpoint}", o.site)).await.assert_contains("data-status=\"active\"");

    // Paused by hand: events wait; the server restarts; resumed, every one of them arrives.
    owner
        .post(&format!("/admin/sites/{}/webhooks/{endpoint}/pause", o.site), &[("paused", "1")])
        .await
        .assert_redirect(&format!("/admin/sites/{}/webhooks/{endpoint}?ok=paused", o.site));
    for i in 0..3 {
        let id = format!("m{i}");
        max.send(json!({"type": "message", "chat": max_chat, "id": id, "text": format!("Waiting {i}")})).await;
        max.until(|f| f["type"] == "ack" && f["id"] == id.as_str()).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !r.got().iter().any(|g| g.body["data"]["message"]["text"] == "Waiting 0"),
        "nothing is posted while paused"
    );
    drop((ann, bob, v, max, lea, w));
    let dir = s.stop().await;
    let s = TestServer::start_in(dir, HOOKS).await;
    let owner = s.owner().await;
    owner
        .post(&format!("/admin/sites/{}/webhooks/{endpoint}/pause", o.site), &[("paused", "0")])
        .await
        .assert_redirect(&format!("/admin/sites/{}/webhooks/{endpoint}?ok=resumed", o.site));
    for i in 0..3 {
        r.until("message.created", |b| b["data"]["message"]["text"] == format!("Waiting {i}").as_str()).await;
    }
    // At least once, with one id per event: each event id came, none is unknown.
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for g in r.got() {
        *by_id.entry(g.id).or_default() += 1;
    }
    assert!(by_id.keys().all(|id| id.starts_with(&format!("{}.", o.site))), "{by_id:?}");
    // A test event from the page.
    owner.post(&format!("/admin/sites/{}/webhooks/{endpoint}/test", o.site), &[]).await;
    assert!(r.until("webhook.test", |_| true).await.signed);
}

#[tokio::test]
async fn addresses_parley_may_not_reach_are_refused_and_forms_explain() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let path = format!("/admin/sites/{}/webhooks", o.site);
    for (url, why) in [
        ("https://127.0.0.1/hook", "private, loopback or link-local"),
        ("https://169.254.169.254/latest/meta-data", "private, loopback or link-local"),
        ("https://localhost/hook", "on this machine"),
        ("http://crm.example.com/hook", "Use https://"),
        ("not an address", "Enter the receiver"),
    ] {
        let page = owner.post(&path, &[("url", url), ("events", "chat.started")]).await;
        page.assert_status(422).assert_contains("id=\"url-error\"").assert_contains(why);
    }
    let page = owner.post(&path, &[("url", "https://crm.example.com/hook"), ("events", "chat.deleted")]).await;
    page.assert_status(422).assert_contains("id=\"events-error\"");
    let page = owner.post(&path, &[("url", "https://crm.example.com/hook")]).await;
    page.assert_status(422).assert_contains("Choose at least one event.");
    let (endpoint, _) = add_endpoint(&owner, o.site, "https://crm.example.com/hook", &["chat.started"]).await;
    // Another site's admin reaches none of it.
    let other = org(&s.base, &owner, "Other").await;
    create_person(&owner, other.site, "Olga", "olga@other.example", "admin", "admin-password-1").await;
    let olga = s.client();
    olga.login_ok("olga@other.example", "admin-password-1").await;
    olga.get(&format!("{path}/{endpoint}")).await.assert_status(404);
    olga.post(&format!("{path}/{endpoint}/delete"), &[]).await.assert_status(404);
    o.agent.get(&path).await.assert_status(403);
}
