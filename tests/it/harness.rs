//! Start the real server on 127.0.0.1:0 with a temporary data dir, and talk to it over real
//! HTTP like a browser would (cookies kept, redirects not followed so tests can see them).

use crate::audience;
use parley::app;
use parley::config::Config;
use parley::store::Store;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "owner-password-1";

pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub dir: TempDir,
    shutdown: CancellationToken,
    handle: Option<JoinHandle<Result<(), app::AppError>>>,
}

pub fn config_text(dir: &Path, extra: &str) -> String {
    format!("[storage]\ndata_dir = {:?}\n[log]\nlevel = \"warn\"\n{extra}", dir.join("data").display().to_string())
}

/// Create the owner account directly in the store (as `parley owner create` does).
pub async fn seed_owner(dir: &Path) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let store = Store::open(&data).expect("open store");
    let hash = parley::web::auth::hash_password(OWNER_PASSWORD.into()).await.expect("hash");
    store.create_owner("Olive Owner".into(), OWNER_EMAIL.into(), hash, false, 1).await.expect("owner");
    store.close().await;
}

impl TestServer {
    /// A fresh server whose store already has the owner.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        seed_owner(dir.path()).await;
        TestServer::start_in(dir, "").await
    }

    pub async fn start_in(dir: TempDir, extra: &str) -> TestServer {
        let text = config_text(dir.path(), extra);
        let config = Config::parse(&text, None).expect("valid test config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app::serve(config, listener, shutdown.clone()));
        let scheme = if extra.contains("[tls]") { "https" } else { "http" };
        TestServer { addr, base: format!("{scheme}://{addr}"), dir, shutdown, handle: Some(handle) }
    }

    /// Stop cleanly (waiting for in-flight commits) and hand back the data dir.
    pub async fn stop(mut self) -> TempDir {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server ran cleanly");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client signed in as the owner.
    pub async fn owner(&self) -> Client {
        let c = self.client();
        c.login_ok(OWNER_EMAIL, OWNER_PASSWORD).await;
        c
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    pub fn assert_redirect(&self, to_prefix: &str) -> &Page {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "expected a redirect to {to_prefix}; body: {}", self.body);
        let loc = self.location.as_deref().unwrap_or("");
        assert!(loc.starts_with(to_prefix), "redirected to {loc}, expected {to_prefix}");
        self
    }
    pub fn assert_ok(&self) -> &Page {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        self
    }
    pub fn assert_status(&self, s: u16) -> &Page {
        assert_eq!(self.status.as_u16(), s, "body: {}", self.body);
        self
    }
    pub fn assert_contains(&self, text: &str) -> &Page {
        assert!(self.body.contains(text), "page lacks {text:?}:\n{}", self.body);
        self
    }
    /// The id at the end of the redirect location path (`/admin/sites/7?ok=created` -> 7).
    pub fn created_id(&self) -> u64 {
        let loc = self.location.as_deref().expect("a redirect");
        let path = loc.split('?').next().unwrap_or(loc);
        path.rsplit('/').find_map(|s| s.parse().ok()).expect("an id in the location")
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    jar: Arc<reqwest::cookie::Jar>,
    token: std::sync::Mutex<Option<String>>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .danger_accept_invalid_certs(true)
            .build()
            .expect("client");
        Client { http, base: base.to_string(), jar, token: std::sync::Mutex::new(None) }
    }

    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("url");
        self.jar.cookies(&url).map(|v| v.to_str().unwrap_or("").to_string()).unwrap_or_default()
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let set_cookies =
            resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
        Page { status, location, set_cookies, body: resp.text().await.unwrap_or_default() }
    }

    pub async fn get(&self, path: &str) -> Page {
        Client::page(self.http.get(format!("{}{path}", self.base)).send().await.expect("GET")).await
    }

    /// The CSRF token this client's forms carry. It is bound to the browser's CSRF cookie, so
    /// it is read once (from the sign-in page, before signing in) and reused.
    pub async fn csrf(&self) -> String {
        if let Some(t) = self.token.lock().expect("lock").clone() {
            return t;
        }
        let page = self.get("/login").await;
        let t = csrf_in(&page.body).unwrap_or_else(|| panic!("no csrf token in /login: {}", page.body));
        *self.token.lock().expect("lock") = Some(t.clone());
        t
    }

    /// POST a form with this client's valid CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POST exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_html_form::to_string(fields).expect("encode");
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        Client::page(resp).await
    }

    /// POST a URL-encoded body exactly as given, after this client's CSRF token.
    pub async fn post_body(&self, path: &str, body: &str) -> Page {
        let token = self.csrf().await;
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf_token={token}&{body}"))
            .send()
            .await
            .expect("POST");
        Client::page(resp).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Page {
        self.post("/login", &[("email", email), ("password", password)]).await
    }

    pub async fn login_ok(&self, email: &str, password: &str) {
        let p = self.login(email, password).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "sign-in as {email} failed: {}", p.body);
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    Some(html[i..].split('"').next()?.to_string())
}

/// The `parley` binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_parley"))
}

// ---- building an organization through the admin pages ----

pub async fn create_site(owner: &Client, name: &str) -> u64 {
    let p = owner.post("/admin/sites", &[("name", name)]).await;
    p.assert_redirect("/admin/sites/");
    p.created_id()
}

/// Create a person in a site (as the owner or a site admin); returns their id.
pub async fn create_person(admin: &Client, site: u64, name: &str, email: &str, role: &str, password: &str) -> u64 {
    let p = admin
        .post(
            &format!("/admin/sites/{site}/agents"),
            &[
                ("name", name),
                ("email", email),
                ("role", role),
                ("max_chats", "3"),
                ("active", "on"),
                ("password", password),
                ("password_confirm", password),
            ],
        )
        .await;
    p.assert_redirect(&format!("/admin/sites/{site}/agents"));
    audience::record(&audience::server_of(&admin.base), site, audience::Secret::Email, email);
    let list = admin.get(&format!("/admin/sites/{site}/agents?q={email}")).await;
    id_after(&list.body, &format!("/admin/sites/{site}/agents/"))
}

/// The first number that directly follows `marker` in the page (skipping "…/new" links).
pub fn id_after(html: &str, marker: &str) -> u64 {
    html.match_indices(marker)
        .find_map(|(i, _)| {
            html[i + marker.len()..].split(|c: char| !c.is_ascii_digit()).next().and_then(|s| s.parse().ok())
        })
        .unwrap_or_else(|| panic!("no id after {marker} in page:\n{html}"))
}

// ---- WebSockets ----

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Who a test socket is, for the audience contract (`audience.rs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Role {
    Visitor,
    /// An agent's console; its site once the welcome told it.
    Agent(Option<u64>),
}

pub struct Ws {
    pub ws: WsStream,
    /// The server's `host:port`, and who this socket is: every frame received is checked
    /// against what that audience may read.
    pub server: String,
    pub role: Role,
    /// Frames read while waiting for another one, in order.
    pub seen: Vec<Value>,
    /// How long `next` waits for a frame.
    pub wait: std::time::Duration,
}

/// How a connection ended, as the server closed it.
#[derive(Debug, PartialEq)]
pub enum Closed {
    Code(u16),
    Dropped,
}

impl Ws {
    pub async fn connect(url: &str, headers: &[(&'static str, String)]) -> Ws {
        let mut req = url.into_client_request().expect("request");
        for (k, v) in headers {
            req.headers_mut().insert(*k, v.parse().expect("header"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connects");
        let role = if url.ends_with("/ws/agent") { Role::Agent(None) } else { Role::Visitor };
        Ws { ws, server: audience::server_of(url), role, seen: vec![], wait: std::time::Duration::from_secs(5) }
    }

    pub async fn send(&mut self, v: Value) {
        if let Role::Agent(Some(site)) = self.role {
            audience::record_sent(&self.server, site, &v);
        }
        let send = tokio::time::timeout(std::time::Duration::from_secs(30), self.ws.send(Message::text(v.to_string())));
        send.await.expect("the server takes a frame within 30 s").expect("send");
    }

    /// Check a received frame against what this socket's audience may read.
    fn check(&self, v: &Value) {
        match self.role {
            Role::Visitor => audience::check_visitor_frame(&self.server, v),
            Role::Agent(Some(site)) => audience::check_agent_frame(&self.server, site, v),
            Role::Agent(None) => {}
        }
    }

    pub async fn send_raw(&mut self, m: Message) {
        let _ = self.ws.send(m).await;
    }

    /// The next JSON frame (5 s at most).
    pub async fn next(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(self.wait, self.ws.next()).await;
            let Ok(Some(Ok(msg))) = next else {
                panic!("no frame within {:?} ({next:?}); seen: {:?}", self.wait, self.seen)
            };
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).expect("json frame");
                    self.check(&v);
                    self.seen.push(v.clone());
                    return v;
                }
                Message::Close(c) => panic!("closed: {c:?}; seen: {:?}", self.seen),
                _ => continue,
            }
        }
    }

    /// Read until a frame satisfies `pred`; returns it (others stay in `seen`).
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..500 {
            let v = self.next().await;
            if pred(&v) {
                return v;
            }
        }
        panic!("no such frame among 500; seen: {:?}", self.seen);
    }

    pub async fn until_type(&mut self, ty: &str) -> Value {
        self.until(|v| v["type"] == ty).await
    }

    /// Wait for the server to close; the close code. A close may wait behind a backlog the
    /// server still drains on a loaded machine: up to 40 s of silence is allowed.
    /// A connection the server keeps open (and pings) fails the test within 2 minutes.
    pub async fn closed(&mut self) -> Closed {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let silence = (tokio::time::Instant::now() + std::time::Duration::from_secs(40)).min(deadline);
            match tokio::time::timeout_at(silence, self.ws.next()).await {
                Err(_) => panic!("not closed (40 s of silence or 2 minutes in all); {} frames seen", self.seen.len()),
                Ok(None) | Ok(Some(Err(_))) => return Closed::Dropped,
                Ok(Some(Ok(Message::Close(c)))) => {
                    return c.map(|c| Closed::Code(c.code.into())).unwrap_or(Closed::Dropped);
                }
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v = serde_json::from_str(&t).unwrap_or(Value::Null);
                    self.check(&v);
                    self.seen.push(v);
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Frames received so far of a type.
    pub fn seen_of(&self, ty: &str) -> Vec<&Value> {
        self.seen.iter().filter(|v| v["type"] == ty).collect()
    }
}

pub fn ws_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.replacen("http", "ws", 1))
}

/// A visitor's widget: hello on `campaign` (with a token to come back).
/// `resume`: the chat the widget showed and the last seq it saw of it.
pub async fn visitor(base: &str, campaign: u64, token: Option<&str>, resume: Option<(u64, u64)>) -> (Ws, Value) {
    let mut ws = Ws::connect(&ws_url(base, "/ws/visitor"), &[]).await;
    let (chat, after) = (resume.map(|r| r.0), resume.map(|r| r.1));
    let page = json!({"url": "https://shop.example/cart", "title": "Cart"});
    ws.send(json!({"type": "hello", "v": 1, "campaign": campaign, "token": token, "chat": chat, "after": after, "page": page})).await;
    let welcome = ws.until_type("visitor_welcome").await;
    (ws, welcome)
}

/// An agent's console, signed in through `client`'s cookies.
pub async fn agent(client: &Client, resume: Value) -> (Ws, Value) {
    let origin = client.base.clone();
    let mut ws =
        Ws::connect(&ws_url(&client.base, "/ws/agent"), &[("cookie", client.cookie_header()), ("origin", origin)])
            .await;
    ws.send(json!({"type": "hello", "v": 1, "chats": resume})).await;
    let welcome = ws.until_type("agent_welcome").await;
    ws.role = Role::Agent(welcome["site"].as_u64());
    (ws, welcome)
}

/// Another agent of `org`'s site, in its department, signed in.
pub async fn colleague(base: &str, owner: &Client, o: &Org, name: &str) -> (u64, Client) {
    let email = format!("{}@colleague.example", name.to_lowercase());
    let id = create_person(owner, o.site, name, &email, "agent", "colleague-password-1").await;
    let d = o.department.to_string();
    let (ids, _) = department_members(owner, o.site, o.department).await;
    let mut fields: Vec<(&str, String)> = vec![("name", "Desk".into()), ("rule", "round_robin".into())];
    for m in ids.iter().chain(std::iter::once(&id)) {
        fields.push(("members", m.to_string()));
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    owner.post(&format!("/admin/sites/{}/departments/{d}", o.site), &fields).await.assert_redirect("/admin/sites/");
    let c = Client::new(base);
    c.login_ok(&email, "colleague-password-1").await;
    (id, c)
}

/// The member ids of a department, from its edit page.
pub async fn department_members(owner: &Client, site: u64, dept: u64) -> (Vec<u64>, String) {
    let page = owner.get(&format!("/admin/sites/{site}/departments/{dept}")).await;
    let ids = page
        .body
        .split("<input type=\"checkbox\" name=\"members\" value=\"")
        .skip(1)
        .filter(|part| part.split('>').next().is_some_and(|tag| tag.contains("checked")))
        .filter_map(|part| part.split('"').next().and_then(|v| v.parse().ok()))
        .collect();
    (ids, page.body)
}

/// A site with a department "Desk", an agent in it and a campaign whose pre-chat form
/// requires "name", built through the admin pages.
pub struct Org {
    pub site: u64,
    pub campaign: u64,
    pub department: u64,
    pub agent: Client,
}

pub async fn org(base: &str, owner: &Client, name: &str) -> Org {
    let site = create_site(owner, name).await;
    owner.post(&format!("/admin/sites/{site}/departments"), &[("name", "Desk"), ("rule", "round_robin")]).await;
    let dept = id_after(
        &owner.get(&format!("/admin/sites/{site}/departments")).await.body,
        &format!("/admin/sites/{site}/departments/"),
    );
    let email = format!("agent@{}.example", name.to_lowercase());
    let d = dept.to_string();
    let agent_id = create_person(owner, site, &format!("{name} Agent"), &email, "agent", "agent-password-1").await;
    owner
        .post(
            &format!("/admin/sites/{site}/departments/{dept}"),
            &[("name", "Desk"), ("rule", "round_robin"), ("members", &agent_id.to_string())],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{site}/departments"));
    owner
        .post(
            &format!("/admin/sites/{site}/campaigns"),
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
                ("notify_transfer", "on"),
                ("proactive_mode", "disabled"),
                ("proactive_after_secs", "0"),
                ("reinvite_after_mins", "0"),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{site}/campaigns"));
    let campaign = id_after(
        &owner.get(&format!("/admin/sites/{site}/campaigns")).await.body,
        &format!("/admin/sites/{site}/campaigns/"),
    );
    let agent = Client::new(base);
    agent.login_ok(&email, "agent-password-1").await;
    Org { site, campaign, department: dept, agent }
}
