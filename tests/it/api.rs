//! The JSON API from a program's side: chats with filters, cursor paging, transcript search,
//! events and the transfer log; messages left marked handled (and the admin page showing it);
//! visitors read, exported and erased; reports; people, departments, campaigns and canned
//! replies created, changed and deleted with the admin forms' validation as RFC 9457 problems;
//! read-only tokens and agents refused writes; another site's token reaching nothing.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Make a token on `path` (a site's or the owner's tokens page) with `scope`; its secret.
async fn token(admin: &Client, path: &str, name: &str, scope: &str) -> String {
    let page = admin.post(path, &[("name", name), ("scope", scope), ("expires_days", "")]).await;
    page.assert_ok();
    let start = page.body.find("<code id=\"token-secret\">").expect("the secret") + "<code id=\"token-secret\">".len();
    page.body[start..].split('<').next().expect("secret").to_string()
}

/// A caller of the API with a bearer token.
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn new(base: &str, token: &str) -> Api {
        Api { base: base.to_string(), token: token.to_string(), http: reqwest::Client::new() }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}/api{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let problem = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/problem+json"));
        let text = resp.text().await.expect("body");
        if status.is_client_error() || status.is_server_error() {
            assert!(problem, "{status} on {path} is a problem document: {text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

fn ids(v: &Value, list: &str) -> Vec<u64> {
    v[list].as_array().expect("a list").iter().map(|c| c["id"].as_u64().expect("id")).collect()
}

/// Start a chat as `name` on `o`'s campaign; its id and the visitor's socket.
async fn start_chat(s: &TestServer, o: &Org, name: &str) -> (u64, Ws) {
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    v.send(json!({"type": "start", "fields": {"name": name}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat id");
    (chat, v)
}

#[tokio::test]
async fn chats_messages_visitors_and_reports_read_through_the_api() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let other = org(&s.base, &owner, "Other").await;
    let site_path = format!("/admin/sites/{}/tokens", o.site);
    let rw = Api::new(&s.base, &token(&owner, "/admin/tokens", "CRM", "read_write").await);
    let ro = Api::new(&s.base, &token(&owner, &site_path, "Reader", "read").await);
    let site = format!("/v1/sites/{}", o.site);

    // Nobody online: a visitor leaves a message.
    let (mut lea, _) = visitor(&s.base, o.campaign, None, None).await;
    lea.send(json!({"type": "leave_message", "name": "Léa", "email": "lea@customer.example", "text": "Call me back"}))
        .await;
    lea.until_type("left").await;

    // Vera's chat: messages, a note, the end. Then Max's chat, which Ann hands to Bob.
    let (bob_id, bob_client) = colleague(&s.base, &owner, &o, "Bob").await;
    let (mut ann, _) = agent(&o.agent, json!([])).await;
    let (vera_chat, mut vera) = start_chat(&s, &o, "Vera").await;
    ann.until(|f| f["type"] == "assigned" && f["chat"]["id"] == vera_chat).await;
    vera.send(json!({"type": "message", "chat": vera_chat, "id": "v1", "text": "My parcel arrived damaged"})).await;
    vera.until_type("ack").await;
    ann.send(json!({"type": "note", "chat": vera_chat, "id": "n1", "text": "Check the courier"})).await;
    ann.until(|f| f["type"] == "ack" && f["id"] == "n1").await;
    ann.send(json!({"type": "message", "chat": vera_chat, "id": "a1", "text": "Sorry to hear that"})).await;
    ann.until(|f| f["type"] == "ack" && f["id"] == "a1").await;
    ann.send(json!({"type": "end", "chat": vera_chat})).await;
    vera.until(|f| f["type"] == "event" && f["kind"] == "ended").await;
    let (max_chat, _max) = start_chat(&s, &o, "Max").await;
    ann.until(|f| f["type"] == "assigned" && f["chat"]["id"] == max_chat).await;
    let (mut bob, _) = agent(&bob_client, json!([])).await;
    ann.send(json!({"type": "transfer", "chat": max_chat, "target": {"kind": "agent", "agent": bob_id, "mode": "cold"}, "comment": "Over to you"}))
        .await;
    bob.until(|f| f["type"] == "assigned" && f["chat"]["id"] == max_chat).await;

    // Every chat, newest first; by status; by words (ended chats); by agent; paged by cursor.
    let (st, all) = rw.get(&format!("{site}/chats")).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_eq!(ids(&all, "chats"), [max_chat, vera_chat]);
    assert!(all.get("next").is_none(), "one page: {all}");
    assert_eq!(all["chats"][1]["status"], "ended");
    assert_eq!(all["chats"][1]["name"], "Vera");
    assert_eq!(all["chats"][1]["ended_by"], "agent");
    assert_eq!(all["chats"][0]["status"], "active");
    assert_eq!(all["chats"][0]["agent"], bob_id);
    assert_eq!(ids(&rw.get(&format!("{site}/chats?status=ended")).await.1, "chats"), [vera_chat]);
    assert_eq!(ids(&rw.get(&format!("{site}/chats?status=open")).await.1, "chats"), [max_chat]);
    assert_eq!(ids(&rw.get(&format!("{site}/chats?q=parcel%20damaged")).await.1, "chats"), [vera_chat]);
    assert_eq!(ids(&rw.get(&format!("{site}/chats?q=courier")).await.1, "chats"), [vera_chat], "notes are searched");
    assert!(ids(&rw.get(&format!("{site}/chats?q=refund")).await.1, "chats").is_empty());
    assert_eq!(ids(&rw.get(&format!("{site}/chats?status=open&agent={bob_id}")).await.1, "chats"), [max_chat]);
    assert_eq!(ids(&rw.get(&format!("{site}/chats?campaign={}", o.campaign)).await.1, "chats").len(), 2);
    assert!(ids(&rw.get(&format!("{site}/chats?campaign={}", other.campaign)).await.1, "chats").is_empty());
    let (_, first) = rw.get(&format!("{site}/chats?limit=1")).await;
    assert_eq!(ids(&first, "chats"), [max_chat]);
    let next = first["next"].as_u64().expect("a next cursor");
    let (_, second) = rw.get(&format!("{site}/chats?limit=1&before={next}")).await;
    assert_eq!(ids(&second, "chats"), [vera_chat]);
    let (st, bad) = rw.get(&format!("{site}/chats?status=lost")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["status"], 400);

    // One chat, its events paged by seq (notes included), and the transfer log.
    let (_, chat) = rw.get(&format!("{site}/chats/{vera_chat}")).await;
    assert_eq!(chat["email"], "");
    let last = chat["last_seq"].as_u64().expect("last_seq");
    let (_, page) = rw.get(&format!("{site}/chats/{vera_chat}/events?limit=2")).await;
    assert_eq!(page["events"].as_array().expect("events").len(), 2);
    assert_eq!(page["more"], true);
    let (_, rest) = rw.get(&format!("{site}/chats/{vera_chat}/events?after=2&limit=500")).await;
    assert_eq!(rest["more"], false);
    let kinds: Vec<&str> =
        rest["events"].as_array().expect("events").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"note") && kinds.contains(&"ended"), "{kinds:?}");
    assert_eq!(rest["events"].as_array().expect("events").last().expect("last")["seq"], last);
    let texts = rest.to_string();
    assert!(texts.contains("My parcel arrived damaged") && texts.contains("\"author\":\"visitor\""), "{texts}");
    let (_, log) = rw.get(&format!("{site}/chats/{max_chat}/transfers")).await;
    let step = &log["steps"][0]["step"];
    assert_eq!((step["transfer"].as_str(), step["outcome"].as_str()), (Some("cold"), Some("completed")), "{log}");
    assert_eq!(step["to_agent"], bob_id);
    assert_eq!(step["comment"], "Over to you");
    assert_eq!(rw.get(&format!("{site}/chats/999999")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(rw.get(&format!("/v1/sites/{}/chats/{vera_chat}", other.site)).await.0, StatusCode::NOT_FOUND);

    // Messages left: listed, marked handled by a token that may write (not by a read-only
    // one); the admin page shows who handled it, and can mark it back.
    let (_, left) = rw.get(&format!("{site}/messages?handled=false")).await;
    let msg = left["messages"][0]["id"].as_u64().expect("a message");
    assert_eq!(left["messages"][0]["email"], "lea@customer.example");
    assert_eq!(left["messages"][0]["handled"], false);
    let (st, refused) = ro.put(&format!("{site}/messages/{msg}/handled"), json!({"handled": true})).await;
    assert_eq!((st, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (st, done) = rw.put(&format!("{site}/messages/{msg}/handled"), json!({"handled": true})).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    assert_eq!((done["handled"].as_bool(), done["handled_by"].as_str()), (Some(true), Some("API token CRM")));
    assert!(ids(&rw.get(&format!("{site}/messages?handled=false")).await.1, "messages").is_empty());
    let page = owner.get(&format!("/admin/sites/{}/messages?show=handled", o.site)).await;
    page.assert_ok().assert_contains("Call me back").assert_contains("by API token CRM");
    assert!(!owner.get(&format!("/admin/sites/{}/messages", o.site)).await.body.contains("Call me back"));
    owner
        .post(&format!("/admin/sites/{}/messages/{msg}/handled", o.site), &[("handled", "0"), ("show", "all")])
        .await
        .assert_redirect(&format!("/admin/sites/{}/messages?show=all&ok=unhandled", o.site));
    assert_eq!(ids(&rw.get(&format!("{site}/messages?handled=false")).await.1, "messages"), [msg]);

    // Visitors: one, their chats, their export; erased only once no chat of theirs is open.
    let vera_id = all["chats"][1]["visitor"].as_u64().expect("visitor");
    let max_id = all["chats"][0]["visitor"].as_u64().expect("visitor");
    let (_, v) = rw.get(&format!("{site}/visitors/{vera_id}")).await;
    assert_eq!((v["name"].as_str(), v["chats"].as_u64()), (Some("Vera"), Some(1)), "{v}");
    assert_eq!(
        ids(
            &Value::Object(
                [("c".into(), rw.get(&format!("{site}/visitors/{vera_id}/chats")).await.1)].into_iter().collect()
            ),
            "c"
        ),
        [vera_chat]
    );
    let (st, export) = rw.get(&format!("{site}/visitors/{vera_id}/export")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(export.to_string().contains("My parcel arrived damaged"), "{export}");
    assert_eq!(ro.get(&format!("{site}/visitors/{vera_id}/export")).await.0, StatusCode::FORBIDDEN);
    let (st, open) = rw.delete(&format!("{site}/visitors/{max_id}")).await;
    assert_eq!((st, open["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{open}");
    let (st, erased) = rw.delete(&format!("{site}/visitors/{vera_id}")).await;
    assert_eq!((st, erased["chats"].as_u64()), (StatusCode::OK, Some(1)), "{erased}");
    assert_eq!(rw.get(&format!("{site}/chats/{vera_chat}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(rw.get(&format!("{site}/visitors/{vera_id}")).await.0, StatusCode::NOT_FOUND);

    // Reports: the page's tables; a bad filter is explained.
    let (st, report) = rw.get(&format!("{site}/reports?by=day")).await;
    assert_eq!(st, StatusCode::OK, "{report}");
    let keys: Vec<&str> =
        report["tables"].as_array().expect("tables").iter().filter_map(|t| t["key"].as_str()).collect();
    assert_eq!(keys, ["over-time", "agents", "departments", "campaigns", "transfers", "invitations"]);
    let (st, bad) = rw.get(&format!("{site}/reports?by=week")).await;
    assert_eq!((st, bad["detail"].as_str()), (StatusCode::BAD_REQUEST, Some("Show the figures by day or by hour.")));

    // The site's token reaches nothing of another site; no token is 401, as a problem.
    for route in ["chats", "messages", "reports", &format!("visitors/{max_id}"), &format!("chats/{max_chat}/events")] {
        assert_eq!(ro.get(&format!("/v1/sites/{}/{route}", other.site)).await.0, StatusCode::NOT_FOUND, "{route}");
    }
    let (st, p) = Api::new(&s.base, "parley_nope").get(&format!("{site}/chats")).await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
}

#[tokio::test]
async fn people_departments_campaigns_and_canned_replies_are_provisioned_with_the_forms_rules() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Acme").await;
    let site_tokens = format!("/admin/sites/{}/tokens", o.site);
    let rw = Api::new(&s.base, &token(&owner, &site_tokens, "Provisioning", "read_write").await);
    let ro = Api::new(&s.base, &token(&owner, &site_tokens, "Reader", "read").await);
    let site = format!("/v1/sites/{}", o.site);

    // A department: made, refused with the form's messages, changed, deleted.
    let (st, sales) = rw.post(&format!("{site}/departments"), json!({"name": "Sales"})).await;
    assert_eq!((st, sales["rule"].as_str()), (StatusCode::CREATED, Some("round_robin")), "{sales}");
    let sales_id = sales["id"].as_u64().expect("id");
    let (st, bad) = rw.post(&format!("{site}/departments"), json!({"name": "", "rule": "random"})).await;
    assert_eq!((st, bad["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid")), "{bad}");
    let fields: Vec<&str> =
        bad["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["name", "rule"]);
    assert_eq!(bad["errors"][1]["message"], "Choose an allocation rule.");
    let (st, taken) = rw.post(&format!("{site}/departments"), json!({"name": "Sales"})).await;
    assert_eq!((st, taken["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")), "{taken}");
    let (st, read_only) = ro.post(&format!("{site}/departments"), json!({"name": "Support"})).await;
    assert_eq!((st, read_only["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));

    // A person: created with a password (they can sign in), put in Sales, changed, disabled.
    let (st, bad) = rw.post(&format!("{site}/agents"), json!({"name": "Zoe", "email": "not-an-email"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        bad["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["email", "password"], "no mail configured: a password is required");
    let (st, zoe) = rw
        .post(
            &format!("{site}/agents"),
            json!({"name": "Zoe", "email": "zoe@acme.example", "password": "zoe-password-1", "skills": ["German"], "departments": [sales_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{zoe}");
    assert_eq!((zoe["role"].as_str(), zoe["max_chats"].as_u64()), (Some("agent"), Some(5)));
    assert_eq!(zoe["departments"], json!([sales_id]));
    let zoe_id = zoe["id"].as_u64().expect("id");
    let zoe_client = s.client();
    zoe_client.login_ok("zoe@acme.example", "zoe-password-1").await;
    let (st, changed) =
        rw.patch(&format!("{site}/agents/{zoe_id}"), json!({"skills": ["German", "refunds"], "max_chats": 2})).await;
    assert_eq!(st, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["name"].as_str(), changed["max_chats"].as_u64()),
        (Some("Zoe"), Some(2)),
        "untouched fields stay"
    );
    // The live switchboard knows her new skills at once: the transfer picker finds her.
    let (mut zoe_ws, _) = agent(&zoe_client, json!([])).await;
    let (mut ann, _) = agent(&o.agent, json!([])).await;
    ann.send(json!({"type": "targets", "q": "refunds"})).await;
    let found = ann.until_type("targets").await;
    assert_eq!(found["agents"][0]["id"], zoe_id, "{found}");
    let (st, _) = rw.delete(&format!("{site}/agents/{zoe_id}")).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, gone) = rw.get(&format!("{site}/agents/{zoe_id}")).await;
    assert_eq!(gone["active"], false);
    assert!(matches!(zoe_ws.closed().await, Closed::Code(_) | Closed::Dropped), "her console is signed out");
    assert_ne!(zoe_client.login("zoe@acme.example", "zoe-password-1").await.status, 303, "and she cannot sign in");

    // A department in use by a campaign cannot go: 409 with the reason.
    let (st, camp) = rw
        .post(
            &format!("{site}/campaigns"),
            json!({"name": "Spring", "department": sales_id, "title": "Talk to Sales", "prechat": [{"key": "name", "label": "Name", "kind": "text", "required": true}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{camp}");
    assert_eq!(
        (camp["language"].as_str(), camp["color"].as_str()),
        (Some("en"), Some("#2f6fde")),
        "the form's defaults"
    );
    let camp_id = camp["id"].as_u64().expect("id");
    let (st, in_use) = rw.delete(&format!("{site}/departments/{sales_id}")).await;
    assert_eq!((st, in_use["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{in_use}");
    let (st, bad) = rw
        .patch(&format!("{site}/campaigns/{camp_id}"), json!({"color": "red", "proactive_mode": "with_invite"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields: Vec<&str> =
        bad["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["color", "invitation_text"]);
    // A change reaches the widget at once.
    let (st, _) = rw.patch(&format!("{site}/campaigns/{camp_id}"), json!({"title": "Ask Sales"})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, welcome) = visitor(&s.base, camp_id, None, None).await;
    assert_eq!(welcome["campaign"]["style"]["title"], "Ask Sales");
    assert_eq!(rw.patch(&format!("{site}/campaigns/{camp_id}"), json!({"department": 0})).await.0, StatusCode::OK);
    assert_eq!(rw.delete(&format!("{site}/departments/{sales_id}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(rw.get(&format!("{site}/departments/{sales_id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(rw.delete(&format!("{site}/campaigns/{camp_id}")).await.0, StatusCode::NO_CONTENT);

    // Canned replies: the shortcut rules and uniqueness are the page's.
    let (st, c) =
        rw.post(&format!("{site}/canned"), json!({"shortcut": "/Hello", "text": "Hello! How can I help?"})).await;
    assert_eq!((st, c["shortcut"].as_str()), (StatusCode::CREATED, Some("hello")), "{c}");
    let (st, dup) = rw.post(&format!("{site}/canned"), json!({"shortcut": "hello", "text": "Hi"})).await;
    assert_eq!((st, dup["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("shortcut")), "{dup}");
    let id = c["id"].as_u64().expect("id");
    let (st, c) = rw.patch(&format!("{site}/canned/{id}"), json!({"text": "Hello there!"})).await;
    assert_eq!((st, c["shortcut"].as_str(), c["text"].as_str()), (StatusCode::OK, Some("hello"), Some("Hello there!")));
    assert_eq!(ro.delete(&format!("{site}/canned/{id}")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(rw.delete(&format!("{site}/canned/{id}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(rw.get(&format!("{site}/canned/{id}")).await.0, StatusCode::NOT_FOUND);

    // An agent's session reads but may not write (403); a malformed body is 400.
    let http = reqwest::Client::new();
    let csrf = o.agent.csrf().await;
    let r = http
        .post(format!("{}/api{site}/canned", s.base))
        .header("cookie", o.agent.cookie_header())
        .header("x-csrf-token", csrf)
        .json(&json!({"shortcut": "x", "text": "y"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(format!("{}/api{site}/canned", s.base))
        .bearer_auth(&rw.token)
        .header("content-type", "application/json")
        .body("{\"shortcut\": ")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
