//! A minimal HTTP/1.1 client (plain HTTP to a loopback server, one connection per request) and
//! the organisation the load runs against, set up through the admin pages as a browser would.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub type Error = String;

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value a `Set-Cookie` header gives to cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).find_map(|(_, v)| {
            let first = v.split(';').next()?;
            let (k, val) = first.split_once('=')?;
            (k.trim() == name).then(|| val.trim().to_string())
        })
    }

    fn snippet(&self) -> String {
        self.body.chars().take(400).collect()
    }
}

/// `http://host:port` -> `host:port`; only plain HTTP on loopback addresses.
pub fn host_port(base: &str) -> Result<String, Error> {
    let rest = base.strip_prefix("http://").ok_or("the base URL must be http://127.x.x.x:port (no TLS)")?;
    let hp = rest.trim_end_matches('/').to_string();
    let host = hp.rsplit_once(':').map(|(h, _)| h).unwrap_or(&hp);
    let loopback = host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!("{base}: parley-load only sends traffic to loopback addresses (127.0.0.0/8)"));
    }
    Ok(hp)
}

pub async fn request(hp: &str, method: &str, path: &str, cookie: &str, form: Option<&str>) -> Result<Resp, Error> {
    let io = async {
        let mut s = TcpStream::connect(hp).await.map_err(|e| format!("connect {hp}: {e}"))?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {hp}\r\nConnection: close\r\nAccept: */*\r\n");
        if !cookie.is_empty() {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        let body = form.unwrap_or("");
        if form.is_some() {
            head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        if method != "GET" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        head.push_str(body);
        s.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
        parse(&raw)
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), io)
        .await
        .map_err(|_| format!("{method} {path}: no answer within 60 s"))?
}

fn parse(raw: &[u8]) -> Result<Resp, Error> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("a response without a header end")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("a response without a status")?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Resp { status, headers, body: String::from_utf8_lossy(&body).to_string() })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&b[..size]);
        b = b.get(size + 2..).unwrap_or(&[]);
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    serde_html_form::to_string(fields).unwrap_or_default()
}

/// A browser: the CSRF cookie and its token, and (once signed in) the session cookie.
pub struct Browser {
    pub hp: String,
    csrf_cookie: String,
    token: String,
    session: Option<String>,
}

impl Browser {
    pub async fn new(hp: &str) -> Result<Browser, Error> {
        let page = request(hp, "GET", "/login", "", None).await?;
        let csrf_cookie = page.cookie("parley_csrf").ok_or("GET /login set no parley_csrf cookie")?;
        let marker = "name=\"csrf_token\" value=\"";
        let i = page.body.find(marker).ok_or("no csrf_token field in /login")? + marker.len();
        let token = page.body[i..].split('"').next().unwrap_or("").to_string();
        Ok(Browser { hp: hp.to_string(), csrf_cookie, token, session: None })
    }

    fn cookies(&self) -> String {
        match &self.session {
            Some(s) => format!("parley_csrf={}; parley_session={s}", self.csrf_cookie),
            None => format!("parley_csrf={}", self.csrf_cookie),
        }
    }

    pub async fn get(&self, path: &str) -> Result<Resp, Error> {
        request(&self.hp, "GET", path, &self.cookies(), None).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Result<Resp, Error> {
        let mut all = vec![("csrf_token", self.token.as_str())];
        all.extend_from_slice(fields);
        request(&self.hp, "POST", path, &self.cookies(), Some(&form(&all))).await
    }

    /// Sign in as `email`; the session cookie's value.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<String, Error> {
        let mut all = vec![("csrf_token", self.token.as_str())];
        all.extend_from_slice(&[("email", email), ("password", password)]);
        let cookie = format!("parley_csrf={}", self.csrf_cookie);
        let r = request(&self.hp, "POST", "/login", &cookie, Some(&form(&all))).await?;
        if r.status != 303 {
            return Err(format!("sign-in as {email} failed ({}): {}", r.status, r.snippet()));
        }
        r.cookie("parley_session").ok_or_else(|| format!("sign-in as {email} set no session cookie"))
    }

    pub fn with_session(mut self, session: String) -> Browser {
        self.session = Some(session);
        self
    }

    /// POST a form that answers with a redirect (303); the Location.
    async fn post_redirect(&self, path: &str, fields: &[(&str, &str)]) -> Result<String, Error> {
        let r = self.post(path, fields).await?;
        if r.status != 303 {
            return Err(format!("POST {path}: expected a redirect, got {}: {}", r.status, r.snippet()));
        }
        Ok(r.header("location").unwrap_or("").to_string())
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, Error> {
        let r = self.get(path).await?;
        if r.status != 200 {
            return Err(format!("GET {path}: {}: {}", r.status, r.snippet()));
        }
        serde_json::from_str(&r.body).map_err(|e| format!("GET {path}: {e}"))
    }
}

// ---- the organisation ----

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Org {
    pub base: String,
    pub tag: String,
    pub max_chats: u32,
    pub rule: String,
    pub sites: Vec<OrgSite>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgSite {
    pub site: u64,
    pub department: u64,
    pub campaign: u64,
    pub agents: Vec<OrgAgent>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgAgent {
    pub id: u64,
    pub email: String,
    /// `parley_session=…`
    pub cookie: String,
}

impl Org {
    pub fn agent_count(&self) -> usize {
        self.sites.iter().map(|s| s.agents.len()).sum()
    }

    /// The first `n` agents, taken from the sites in turn, with their site's index.
    pub fn pick_agents(&self, n: usize) -> Vec<(usize, OrgAgent)> {
        let mut out = vec![];
        let most = self.sites.iter().map(|s| s.agents.len()).max().unwrap_or(0);
        'outer: for i in 0..most {
            for (si, s) in self.sites.iter().enumerate() {
                if out.len() >= n {
                    break 'outer;
                }
                if let Some(a) = s.agents.get(i) {
                    out.push((si, a.clone()));
                }
            }
        }
        out
    }
}

#[derive(Deserialize)]
struct IdRow {
    id: u64,
    #[serde(default)]
    email: String,
}

pub const AGENT_PASSWORD: &str = "load-agent-password-1";

/// Build the organisation through the admin pages: per site a department, `agents_per_site`
/// agents in it (max `max_chats` chats each) and a campaign routed to it; then sign every agent
/// in once (their session cookies are kept in the org file and reused by every run).
#[allow(clippy::too_many_arguments)]
pub async fn setup(
    hp: &str,
    base: &str,
    owner_email: &str,
    owner_password: &str,
    sites: usize,
    agents_per_site: usize,
    max_chats: u32,
    rule: &str,
) -> Result<Org, Error> {
    let tag = format!("{:x}", crate::stats::wall_ns() / 1_000_000 % 0xff_ffff);
    let b = Browser::new(hp).await?;
    let session = b.sign_in(owner_email, owner_password).await?;
    let owner = b.with_session(session);
    let mc = max_chats.to_string();
    let mut out = Org { base: base.to_string(), tag: tag.clone(), max_chats, rule: rule.to_string(), sites: vec![] };
    for s in 0..sites {
        let name = format!("Load {tag} {s}");
        let loc = owner.post_redirect("/admin/sites", &[("name", &name)]).await?;
        let site: u64 = loc
            .split('?')
            .next()
            .unwrap_or("")
            .rsplit('/')
            .find_map(|x| x.parse().ok())
            .ok_or_else(|| format!("no site id in {loc:?}"))?;
        owner.post_redirect(&format!("/admin/sites/{site}/departments"), &[("name", "Desk"), ("rule", rule)]).await?;
        let depts: Vec<IdRow> = owner.get_json(&format!("/api/v1/sites/{site}/departments")).await?;
        let dept = depts.first().ok_or("the department was not created")?.id.to_string();
        eprintln!("setup: site {site} ({name}), department {dept}: creating {agents_per_site} agents");
        let owner_ref = &owner;
        let (dept_ref, mc_ref, tag_ref) = (&dept, &mc, &tag);
        let created: Vec<Result<String, Error>> = futures_util::stream::iter(0..agents_per_site)
            .map(|i| async move {
                let email = format!("load-{tag_ref}-{s}-{i}@load.example");
                let agent_name = format!("Load Agent {s}-{i}");
                owner_ref
                    .post_redirect(
                        &format!("/admin/sites/{site}/agents"),
                        &[
                            ("name", agent_name.as_str()),
                            ("email", email.as_str()),
                            ("role", "agent"),
                            ("max_chats", mc_ref.as_str()),
                            ("active", "on"),
                            ("departments", dept_ref.as_str()),
                            ("password", AGENT_PASSWORD),
                            ("password_confirm", AGENT_PASSWORD),
                        ],
                    )
                    .await
                    .map(|_| email)
            })
            .buffer_unordered(4)
            .collect()
            .await;
        let emails: Vec<String> = created.into_iter().collect::<Result<_, _>>()?;
        let rows: Vec<IdRow> = owner.get_json(&format!("/api/v1/sites/{site}/agents")).await?;
        owner
            .post_redirect(
                &format!("/admin/sites/{site}/campaigns"),
                &[
                    ("name", "Load"),
                    ("language", "en"),
                    ("department", &dept),
                    ("color", "#123456"),
                    ("position", "right"),
                    ("proactive_mode", "disabled"),
                    ("proactive_after_secs", "0"),
                    ("reinvite_after_mins", "0"),
                ],
            )
            .await?;
        let camps: Vec<IdRow> = owner.get_json(&format!("/api/v1/sites/{site}/campaigns")).await?;
        let campaign = camps.first().ok_or("the campaign was not created")?.id;
        let dept_id: u64 = dept.parse().map_err(|_| "department id")?;
        let mut agents = vec![];
        for email in emails {
            let id = rows.iter().find(|r| r.email == email).ok_or_else(|| format!("{email} not listed"))?.id;
            agents.push(OrgAgent { id, email, cookie: String::new() });
        }
        out.sites.push(OrgSite { site, department: dept_id, campaign, agents });
    }
    sign_in_agents(hp, &mut out).await?;
    Ok(out)
}

/// Sign every agent in (again), a few at a time (each sign-in is an argon2 hash on the server).
pub async fn sign_in_agents(hp: &str, org: &mut Org) -> Result<(), Error> {
    let b = Browser::new(hp).await?;
    let b = &b;
    let total = org.agent_count();
    eprintln!("setup: signing in {total} agents");
    for s in &mut org.sites {
        let cookies: Vec<Result<String, Error>> = futures_util::stream::iter(s.agents.iter().map(|a| a.email.clone()))
            .map(|email| async move { b.sign_in(&email, AGENT_PASSWORD).await })
            .buffered(4)
            .collect()
            .await;
        for (a, c) in s.agents.iter_mut().zip(cookies) {
            a.cookie = format!("parley_session={}", c?);
        }
    }
    Ok(())
}

/// Is the agent's session still good? (`GET /api/v1/me`.)
pub async fn session_ok(hp: &str, cookie: &str) -> bool {
    request(hp, "GET", "/api/v1/me", cookie, None).await.is_ok_and(|r| r.status == 200)
}
