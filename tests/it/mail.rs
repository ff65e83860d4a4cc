//! Mail against a real SMTP server (aiosmtpd, `tests/mail/smtpd.py`) with STARTTLS and AUTH:
//! what each mail carries (MIME as received), delivery after an outage and across a restart,
//! permanent refusals, header injection, the transcript only ever to the chat's own address,
//! invitations and password resets through their links.

use crate::harness::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const SMTP_USER: &str = "parley";
const SMTP_PASSWORD: &str = "smtp-secret-1";

/// A running test SMTP server.
pub struct Smtp {
    pub dir: PathBuf,
    child: Child,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certificate for "localhost", written to `dir` (cert.pem, key.pem).
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, c.cert.pem()).expect("write cert");
    std::fs::write(&key, c.signing_key.serialize_pem()).expect("write key");
    (cert, key)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Smtp {
    /// Start the server on `port` with STARTTLS (the certificate in `certs`) and AUTH; mails
    /// land in `dir`. Addresses in `refuse` get 550.
    pub fn start(port: u16, certs: &Path, dir: &Path, refuse: &[&str]) -> Smtp {
        let (cert, key) = (certs.join("cert.pem"), certs.join("key.pem"));
        std::fs::create_dir_all(dir).expect("mail dir");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mail/smtpd.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(["--user", SMTP_USER, "--password", SMTP_PASSWORD]);
        for r in refuse {
            cmd.args(["--refuse", r]);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect(
            "start tests/mail/smtpd.py with /usr/bin/python3 (Debian's python3-aiosmtpd; tests/run-all.sh installs it)",
        );
        let mut out = child.stdout.take().expect("stdout");
        let mut line = [0u8; 6];
        std::io::Read::read_exact(&mut out, &mut line).expect("the SMTP server says ready");
        assert_eq!(&line, b"ready\n");
        Smtp { dir: dir.to_path_buf(), child }
    }

    /// Wait until `n` mails arrived; returns each one's record (envelope, headers, parts).
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = mails_in(&self.dir);
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{n} mails expected, {} arrived: {got:#?}", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The mails received in `dir`, in order.
pub fn mails_in(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for n in 1.. {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{n}.json"))) else { break };
        out.push(serde_json::from_str(&text).expect("mail record"));
    }
    out
}

pub fn header<'a>(mail: &'a Value, name: &str) -> Vec<&'a str> {
    mail["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter(|h| h[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
        .filter_map(|h| h[1].as_str())
        .collect()
}

/// The owner's mail page once it says `text` (the outcome of a delivery is stored just after
/// the SMTP server's answer).
async fn outbox_says(owner: &Client, text: &str) -> Page {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = owner.get("/admin/mail").await;
        if page.body.contains(text) || Instant::now() > deadline {
            page.assert_contains(text);
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `[mail]` section for the test server on `port`, trusting the test certificate.
pub fn mail_config(dir: &Path, port: u16) -> String {
    let pw = dir.join("smtp.pw");
    std::fs::write(&pw, format!("{SMTP_PASSWORD}\n")).expect("password file");
    format!(
        "[mail]\nurl = \"smtp://localhost:{port}\"\nfrom = \"chat@parley.example\"\nfrom_name = \"Acme Support\"\nusername = \"{SMTP_USER}\"\npassword_file = {:?}\nca_file = {:?}\nretry_secs = 1\ntimeout_secs = 5\n",
        pw.display().to_string(),
        dir.join("cert.pem").display().to_string()
    )
}

/// A server whose store has the owner, with `[mail]` for an SMTP server on `port`.
async fn server_with_mail(port: u16) -> (TestServer, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    certificate(dir.path());
    let extra = mail_config(dir.path(), port);
    let certs = dir.path().to_path_buf();
    (TestServer::start_in(dir, &extra).await, certs)
}

fn text_of(mail: &Value) -> &str {
    mail["plain"].as_str().expect("a text/plain part")
}

fn html_of(mail: &Value) -> &str {
    mail["html"].as_str().expect("a text/html part")
}

/// The one-time link in a mail's text part.
fn link_in(mail: &Value, base: &str, path: &str) -> String {
    let text = text_of(mail);
    let start = text.find(&format!("{base}{path}")).expect("the link");
    text[start..].split_whitespace().next().expect("link").trim_start_matches(base).to_string()
}

/// A server with `[mail]`, its SMTP server up (refusing `refuse`), the owner signed in.
struct Mailing {
    s: TestServer,
    smtp: Smtp,
    owner: Client,
    _mail_dir: TempDir,
}

async fn mailing(refuse: &[&str]) -> Mailing {
    let mail_dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (s, certs) = server_with_mail(port).await;
    let smtp = Smtp::start(port, &certs, mail_dir.path(), refuse);
    let owner = s.owner().await;
    Mailing { s, smtp, owner, _mail_dir: mail_dir }
}

/// Save a site's mail settings (the rest of its settings at their defaults).
async fn mail_settings(owner: &Client, site: u64, fields: &[(&str, &str)]) {
    let settings = format!("/admin/sites/{site}/settings");
    let mut all = vec![("warm_timeout_secs", "30"), ("files_enabled", "on"), ("file_types", "image")];
    all.extend_from_slice(fields);
    owner.post(&settings, &all).await.assert_redirect(&settings);
}

#[tokio::test]
async fn a_message_left_is_mailed_to_the_site_admins_over_starttls_and_names_cannot_inject_headers() {
    let Mailing { s, smtp, owner, _mail_dir } = mailing(&[]).await;
    let o = org(&s.base, &owner, "Shop").await;
    create_person(&owner, o.site, "Ada Admin", "ada@shop.example", "admin", "admin-password-1").await;

    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    let name = "Eve\r\nBcc: thief@evil.example";
    let text = "My parcel <script>alert(1)</script> arrived broken.\r\nBcc: thief@evil.example";
    v.send(json!({"type": "leave_message", "name": name, "email": "eve@customer.example", "text": text})).await;
    v.until_type("left").await;

    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["tls"], true, "STARTTLS is used");
    assert_eq!(m["authenticated"], true, "the credentials from password_file are used");
    assert_eq!(m["rcpt_tos"], json!(["ada@shop.example"]), "the site's admins by default");
    assert_eq!(m["mail_from"], "chat@parley.example");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(header(m, "From"), vec!["Acme Support <chat@parley.example>"]);
    let reply_to = header(m, "Reply-To");
    assert_eq!(reply_to.len(), 1);
    assert!(reply_to[0].ends_with("<eve@customer.example>"), "{reply_to:?}");
    assert!(header(m, "Bcc").is_empty(), "a name cannot add a header: {:?}", m["headers"]);
    assert!(!m["rcpt_tos"].to_string().contains("evil"), "nor a recipient");
    let subject = header(m, "Subject")[0];
    assert!(subject.starts_with("[Shop] Message from Eve"), "{subject}");
    assert!(!subject.contains('\n'), "{subject:?}");
    assert_eq!(header(m, "Message-ID").len(), 1);
    let plain = text_of(m);
    assert!(plain.contains("arrived broken."), "{plain}");
    assert!(plain.contains("https://shop.example/cart"), "the page the visitor was on: {plain}");
    assert!(plain.contains(&format!("/admin/sites/{}/messages", o.site)), "{plain}");
    let html = html_of(m);
    assert!(html.contains("&#60;script&#62;") && !html.contains("<script>"), "visitor text is escaped: {html}");
    assert!(!html.contains("<img"), "no images, no tracking pixels");

    // The owner's outbox shows it sent; each site may choose its own recipients.
    // The mail arrived; its outcome is stored right after the server's answer.
    outbox_says(&owner, "0 pending, 1 sent").await.assert_contains("ada@shop.example");
    let settings = format!("/admin/sites/{}/settings", o.site);
    owner
        .post(
            &settings,
            &[
                ("warm_timeout_secs", "30"),
                ("mail_notify", "desk@shop.example, not-an-address"),
                ("mail_language", "fr"),
            ],
        )
        .await
        .assert_status(422)
        .assert_contains("not-an-address");
    mail_settings(&owner, o.site, &[("mail_notify", "desk@shop.example"), ("mail_language", "fr")]).await;
    v.send(json!({"type": "leave_message", "name": "Léa", "email": "lea@customer.example", "text": "Bonjour"})).await;
    v.until_type("left").await;
    let m = &smtp.wait_for(2).await[1];
    assert_eq!(m["rcpt_tos"], json!(["desk@shop.example"]));
    assert!(header(m, "Subject")[0].starts_with("[Shop] Message de Léa"), "in the site's language: {m}");
}

#[tokio::test]
async fn mail_queued_while_the_smtp_server_is_down_is_delivered_when_it_is_up_and_once_across_a_restart() {
    let mail_dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (s, certs) = server_with_mail(port).await;
    let owner = s.owner().await;
    let o = org(&s.base, &owner, "Shop").await;
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    v.send(json!({"type": "leave_message", "name": "Vera", "email": "vera@customer.example", "text": "First"})).await;
    v.until_type("left").await;
    // Nobody listens: the attempt fails, is recorded, and is retried.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = owner.get("/admin/mail?status=pending").await;
        if page.body.contains("Connection refused") {
            break;
        }
        assert!(Instant::now() < deadline, "the failed attempt is shown: {}", page.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server comes up: delivered on the next retry.
    let smtp = Smtp::start(port, &certs, mail_dir.path(), &[]);
    assert_eq!(smtp.wait_for(1).await.len(), 1);
    drop(smtp);

    // Down again: two more wait; Parley restarts with them pending, the SMTP server comes back.
    v.send(json!({"type": "leave_message", "name": "Vera", "email": "vera@customer.example", "text": "Second"})).await;
    v.until_type("left").await;
    v.send(json!({"type": "leave_message", "name": "Vera", "email": "vera@customer.example", "text": "Third"})).await;
    v.until_type("left").await;
    drop(v);
    let dir = s.stop().await;
    let extra = mail_config(dir.path(), port);
    let s = TestServer::start_in(dir, &extra).await;
    let smtp = Smtp::start(port, &certs, mail_dir.path(), &[]);
    let mails = smtp.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails_now = mails_in(mail_dir.path());
    assert_eq!(mails_now.len(), 3, "each mail once: {mails_now:#?}");
    let texts: Vec<bool> = ["First", "Second", "Third"]
        .iter()
        .map(|t| mails.iter().filter(|m| text_of(m).replace("\r\n", "\n").contains(&format!("\n{t}\n"))).count() == 1)
        .collect();
    let plains: Vec<&str> = mails.iter().map(text_of).collect();
    assert_eq!(texts, vec![true, true, true], "{plains:#?}");
    let ids: std::collections::BTreeSet<&str> = mails.iter().map(|m| header(m, "Message-ID")[0]).collect();
    assert_eq!(ids.len(), 3);
    outbox_says(&s.owner().await, "0 pending, 3 sent, 0 failed").await;
}

#[tokio::test]
async fn a_permanent_refusal_fails_at_once_with_the_servers_answer_and_can_be_retried() {
    let Mailing { s, smtp, owner, _mail_dir } = mailing(&["gone@shop.example"]).await;
    let o = org(&s.base, &owner, "Shop").await;
    mail_settings(&owner, o.site, &[("mail_notify", "gone@shop.example"), ("mail_language", "en")]).await;
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    v.send(json!({"type": "leave_message", "name": "Vera", "email": "vera@customer.example", "text": "Hi"})).await;
    v.until_type("left").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = owner.get("/admin/mail?status=failed").await;
        if page.body.contains("data-status=\"failed\"") {
            break page;
        }
        assert!(Instant::now() < deadline, "the mail fails: {}", owner.get("/admin/mail").await.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(page.body.contains("550") && page.body.contains("No such user"), "{}", page.body);
    let id = id_after(&page.body, "/admin/mail/");
    owner.post(&format!("/admin/mail/{id}/retry"), &[]).await.assert_redirect("/admin/mail?ok=retry");
    // Tried again (and refused again, for good).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = owner.get("/admin/mail?status=failed").await;
        if page.body.contains("<td>2</td>") {
            break;
        }
        assert!(Instant::now() < deadline, "retried: {}", page.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mails_in(&smtp.dir).is_empty());
    // A mail that is not failed cannot be retried; an agent cannot reach the page.
    owner.post("/admin/mail/999/retry", &[]).await.assert_status(404);
    o.agent.get("/admin/mail").await.assert_status(403);
}

#[tokio::test]
async fn a_missed_chat_is_mailed_when_the_site_asks_and_the_transcript_goes_only_to_the_chats_address() {
    let Mailing { s, smtp, owner, _mail_dir } = mailing(&[]).await;
    let o = org(&s.base, &owner, "Shop").await;
    let fields = [("mail_notify", "desk@shop.example"), ("mail_missed_chats", "on"), ("mail_language", "en")];
    mail_settings(&owner, o.site, &fields).await;

    // The only agent is Away: the chat waits, and the visitor gives up.
    let (mut a, _) = agent(&o.agent, json!([])).await;
    a.send(json!({"type": "presence", "presence": "away"})).await;
    a.until(|v: &Value| v["type"] == "presence" && v["presence"] == "away").await;
    let (mut v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    assert_eq!(welcome["mail"], true);
    v.send(json!({"type": "start", "fields": {"name": "Vera", "email": "vera@customer.example"}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat");
    v.send(json!({"type": "message", "chat": chat, "id": "v1", "text": "Is anyone there?"})).await;
    v.until_type("ack").await;
    v.send(json!({"type": "end", "chat": chat})).await;
    v.until(|f: &Value| f["type"] == "event" && f["kind"] == "ended").await;
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["rcpt_tos"], json!(["desk@shop.example"]));
    assert!(header(m, "Subject")[0].starts_with("[Shop] Missed chat from Vera"), "{m}");
    assert!(text_of(m).contains("Is anyone there?"), "{m}");
    assert!(header(m, "Reply-To")[0].contains("vera@customer.example"));

    // A chat that was answered: notes and transfer steps stay out of the visitor's copy.
    a.send(json!({"type": "presence", "presence": "online"})).await;
    v.send(json!({"type": "start", "fields": {"name": "Vera", "email": "vera@customer.example"}})).await;
    let chat = v.until(|f: &Value| f["type"] == "chat" && f["chat"]["id"] != json!(chat)).await;
    assert_eq!(chat["chat"]["has_email"], true, "the chat has an address to mail");
    let chat = chat["chat"]["id"].as_u64().expect("chat");
    a.until_type("assigned").await;
    v.send(json!({"type": "email_transcript", "chat": chat})).await;
    let refused = v.until_type("error").await;
    assert_eq!(refused["code"], "not_allowed", "not before the chat has ended: {refused}");
    v.send(json!({"type": "message", "chat": chat, "id": "v2", "text": "My order is late"})).await;
    a.until(|f: &Value| f["type"] == "event" && f["kind"] == "message").await;
    a.send(json!({"type": "note", "chat": chat, "id": "n1", "text": "grumpy customer"})).await;
    a.until(|f: &Value| f["type"] == "ack" && f["id"] == "n1").await;
    a.send(json!({"type": "message", "chat": chat, "id": "a1", "text": "It ships <today>"})).await;
    a.until(|f: &Value| f["type"] == "ack" && f["id"] == "a1").await;
    a.send(json!({"type": "end", "chat": chat})).await;
    v.until(|f: &Value| f["type"] == "event" && f["kind"] == "ended").await;
    // The frame names no address: it can only go to the chat's own.
    v.send(json!({"type": "email_transcript", "chat": chat, "to": "thief@evil.example"})).await;
    assert_eq!(v.until_type("error").await["code"], "bad_frame");
    v.send(json!({"type": "email_transcript", "chat": chat})).await;
    assert_eq!(v.until_type("transcript_emailed").await["chat"], chat);
    let m = &smtp.wait_for(2).await[1];
    assert_eq!(m["rcpt_tos"], json!(["vera@customer.example"]));
    assert_eq!(header(m, "Subject")[0], "Your conversation with Acme Support");
    let plain = text_of(m);
    assert!(plain.contains("My order is late") && plain.contains("It ships <today>"), "{plain}");
    assert!(!plain.contains("grumpy") && !html_of(m).contains("grumpy"), "notes never reach the visitor: {plain}");
    assert!(html_of(m).contains("It ships &#60;today&#62;"));
    // Limited: a second copy, then no more for this chat.
    v.send(json!({"type": "email_transcript", "chat": chat})).await;
    v.until_type("transcript_emailed").await;
    v.send(json!({"type": "email_transcript", "chat": chat})).await;
    assert_eq!(v.until_type("error").await["code"], "rate_limited");
    // Another visitor cannot ask for this chat.
    let (mut other, _) = visitor(&s.base, o.campaign, None, None).await;
    other.send(json!({"type": "email_transcript", "chat": chat})).await;
    assert_eq!(other.until_type("error").await["code"], "chat_not_found");
    assert_eq!(smtp.wait_for(3).await.len(), 3);
    assert!(mails_in(&smtp.dir).iter().all(|m| !m["rcpt_tos"].to_string().contains("evil")));

    // Erasing the visitor removes their mails from the outbox too.
    let vid = welcome["visitor"].as_u64().expect("visitor id");
    drop((v, a));
    owner.post(&format!("/admin/sites/{}/visitors/{vid}/erase", o.site), &[]).await.assert_redirect("/admin/sites/");
    let outbox = owner.get("/admin/mail").await;
    assert!(!outbox.body.contains("vera@customer.example") && !outbox.body.contains("Missed chat"), "{}", outbox.body);
}

#[tokio::test]
async fn an_invited_person_chooses_a_password_from_the_link_and_lands_on_the_console() {
    let Mailing { s, smtp, owner, _mail_dir } = mailing(&[]).await;
    let site = create_site(&owner, "Shop").await;
    owner
        .post(
            &format!("/admin/sites/{site}/agents"),
            &[
                ("name", "Nina New"),
                ("email", "nina@shop.example"),
                ("role", "agent"),
                ("max_chats", "3"),
                ("active", "on"),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/sites/{site}/agents?ok=invited"));
    owner.get(&format!("/admin/sites/{site}/agents")).await.assert_contains("Invited");
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["rcpt_tos"], json!(["nina@shop.example"]));
    assert_eq!(header(m, "Subject")[0], "You are invited to answer chats for Shop");
    let link = link_in(m, &s.base, "/invite/");
    // Before choosing a password, the person cannot sign in.
    let nina = s.client();
    nina.login("nina@shop.example", "").await.assert_status(401);
    nina.get(&link).await.assert_ok().assert_contains("nina@shop.example");
    nina.post(&link, &[("password", "short"), ("password_confirm", "short")]).await.assert_status(422);
    nina.post(&link, &[("password", "nina-password-1"), ("password_confirm", "nina-password-1")])
        .await
        .assert_redirect("/console");
    nina.get("/console").await.assert_ok();
    // The link worked once.
    s.client().get(&link).await.assert_status(410).assert_contains("expired or has been used");
    let other = s.client();
    other
        .post(&link, &[("password", "other-password-1"), ("password_confirm", "other-password-1")])
        .await
        .assert_status(410);
    s.client().login_ok("nina@shop.example", "nina-password-1").await;
    owner.get(&format!("/admin/sites/{site}/agents")).await.assert_contains("Active");
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_any_address_and_its_link_works_once_and_ends_other_sessions() {
    let Mailing { s, smtp, owner, _mail_dir } = mailing(&[]).await;
    let site = create_site(&owner, "Shop").await;
    create_person(&owner, site, "Sam", "sam@shop.example", "agent", "sam-password-1").await;
    let old_session = s.client();
    old_session.login_ok("sam@shop.example", "sam-password-1").await;

    let anon = s.client();
    let unknown = anon.post("/forgot", &[("email", "nobody@shop.example")]).await;
    let known = s.client().post("/forgot", &[("email", "Sam@Shop.example")]).await;
    unknown.assert_ok();
    known.assert_ok();
    assert_eq!(
        unknown.body.replace("nobody@shop.example", "X").replace(&csrf_in(&unknown.body).unwrap_or_default(), ""),
        known.body.replace("sam@shop.example", "X").replace(&csrf_in(&known.body).unwrap_or_default(), ""),
        "the same answer whether the address exists or not"
    );
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["rcpt_tos"], json!(["sam@shop.example"]));
    let link = link_in(m, &s.base, "/reset/");
    let sam = s.client();
    sam.post(&link, &[("password", "sam-password-2"), ("password_confirm", "sam-password-2")])
        .await
        .assert_redirect("/login?ok=password_set");
    old_session.get("/console").await.assert_redirect("/login");
    s.client().login("sam@shop.example", "sam-password-1").await.assert_status(401);
    s.client().login_ok("sam@shop.example", "sam-password-2").await;
    s.client()
        .post(&link, &[("password", "sam-password-3"), ("password_confirm", "sam-password-3")])
        .await
        .assert_status(410);
    // Asking again and again mails a few links, then quietly no more (same answer).
    for _ in 0..8 {
        s.client().post("/forgot", &[("email", "sam@shop.example")]).await.assert_ok();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sent = mails_in(&smtp.dir).len();
    assert!(sent < 8, "requests are throttled: {sent} mails");
    assert!(mails_in(&smtp.dir).iter().all(|m| m["rcpt_tos"] == json!(["sam@shop.example"])));
}

#[tokio::test]
async fn without_mail_the_pages_say_what_to_configure_and_passwords_are_set_by_hand() {
    let s = TestServer::start().await;
    let owner = s.owner().await;
    let site = create_site(&owner, "Shop").await;
    owner.get("/admin/mail").await.assert_ok().assert_contains("not configured").assert_contains("[mail]");
    owner.get(&format!("/admin/sites/{site}/settings")).await.assert_contains("Mail is not configured");
    owner.get(&format!("/admin/sites/{site}/agents/new")).await.assert_contains("pass it on yourself");
    // A person without a password is refused: there is no way to invite them.
    owner
        .post(
            &format!("/admin/sites/{site}/agents"),
            &[
                ("name", "Nina"),
                ("email", "nina@shop.example"),
                ("role", "agent"),
                ("max_chats", "3"),
                ("active", "on"),
            ],
        )
        .await
        .assert_status(422);
    s.client().get("/forgot").await.assert_ok().assert_contains("cannot send mail");
    let o = org(&s.base, &owner, "Desk").await;
    let (mut v, welcome) = visitor(&s.base, o.campaign, None, None).await;
    assert_eq!(welcome["mail"], false);
    v.send(json!({"type": "email_transcript", "chat": 1})).await;
    assert_eq!(v.until_type("error").await["code"], "not_allowed");
}

#[tokio::test]
async fn parley_mail_test_prints_the_servers_answer_or_why_not() {
    let mail_dir = tempfile::tempdir().expect("tempdir");
    let dir: TempDir = tempfile::tempdir().expect("tempdir");
    certificate(dir.path());
    let port = free_port();
    let config = dir.path().join("parley.toml");
    std::fs::write(&config, format!("{}{}", config_text(dir.path(), ""), mail_config(dir.path(), port)))
        .expect("config");
    let run = || {
        Command::new(bin())
            .args(["mail", "test", "--to", "ops@shop.example", "--config"])
            .arg(&config)
            .output()
            .expect("run parley mail test")
    };
    let down = run();
    assert!(!down.status.success());
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(err.contains("not sent") && err.contains("Connection refused"), "{err}");
    let smtp = Smtp::start(port, dir.path(), mail_dir.path(), &[]);
    let up = run();
    let out = String::from_utf8_lossy(&up.stdout);
    assert!(up.status.success(), "{out} {}", String::from_utf8_lossy(&up.stderr));
    assert!(out.contains("Accepted: 250"), "{out}");
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["rcpt_tos"], json!(["ops@shop.example"]));
    assert_eq!(header(m, "Subject")[0], "Parley test mail");
}
