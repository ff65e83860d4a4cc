//! The `parley` binary as an administrator uses it: first start and the setup URL, config
//! checks, owner creation, clean shutdown on SIGTERM, a static binary, upgrading an old store.

use crate::harness::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    pub fn start(config: &std::path::Path) -> Running {
        let mut child = Command::new(bin())
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn parley");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines: rx, seen: vec![] }
    }

    /// Wait for a log line containing `needle` (at most 20 s).
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!("no log line with {needle:?}; saw:\n{}", self.seen.join("\n"));
    }

    pub fn base(&mut self) -> String {
        let line = self.wait_for("Parley listening on ");
        let i = line.find("http").expect("url");
        line[i..].split_whitespace().next().expect("url").to_string()
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "parley did not stop within 15 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A test that fails half-way leaves no server behind.
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn write_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("parley.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n{}",
            config_text(dir, extra).replace("level = \"warn\"", "level = \"info\"")
        ),
    )
    .expect("write config");
    path
}

pub fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test]
async fn first_start_prints_a_one_time_setup_url_that_creates_the_owner() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let mut server = Running::start(&config);
    let line = server.wait_for("/setup/");
    let base = server.base();
    let i = line.find("/setup/").expect("setup path");
    let path = line[i..].split_whitespace().next().expect("path").to_string();
    assert!(line.contains(&base), "the setup URL names the real address: {line}");
    let c = Client::new(&base);
    c.get(&path).await.assert_ok().assert_contains("Create the owner account");
    let p = c
        .post(
            &path,
            &[("name", "Olive"), ("email", "olive@example.com"), ("password", "short"), ("password_confirm", "short")],
        )
        .await;
    p.assert_status(422).assert_contains("At least 10 characters.").assert_contains("olive@example.com");
    let p = c
        .post(
            &path,
            &[
                ("name", "Olive"),
                ("email", "olive@example.com"),
                ("password", "olive-password-1"),
                ("password_confirm", "olive-password-1"),
            ],
        )
        .await;
    p.assert_redirect("/admin/sites");
    c.get("/admin/sites").await.assert_ok();
    Client::new(&base).get(&path).await.assert_status(404);
    Client::new(&base).get("/setup/0000").await.assert_status(404);
    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    // A restart with an owner prints no setup URL.
    let mut again = Running::start(&config);
    again.base();
    assert!(!again.seen.iter().any(|l| l.contains("/setup/")), "{:?}", again.seen);
    assert!(again.terminate().success());
}

#[tokio::test]
async fn owner_create_reads_the_password_from_stdin_and_refuses_while_the_server_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let cfg = config.to_str().expect("utf-8 path");
    let (ok, out, err) =
        run(&["owner", "create", "--email", "boss@example.com", "--config", cfg], Some("boss-password-1\n"));
    assert!(ok, "{out}{err}");
    assert!(out.contains("boss@example.com"));
    let (ok, _, err) = run(&["owner", "create", "--email", "bad", "--config", cfg], Some("boss-password-1\n"));
    assert!(!ok && err.contains("email"), "{err}");
    let (ok, _, err) = run(&["owner", "create", "--email", "b2@example.com", "--config", cfg], Some("short\n"));
    assert!(!ok && err.contains("10 characters"), "{err}");
    let mut server = Running::start(&config);
    let base = server.base();
    let (ok, _, err) =
        run(&["owner", "create", "--email", "other@example.com", "--config", cfg], Some("other-password-1\n"));
    assert!(!ok, "refused while running");
    assert!(err.contains("in use") && err.contains("server running"), "{err}");
    Client::new(&base).login_ok("boss@example.com", "boss-password-1").await;
    assert!(server.terminate().success());
}

#[tokio::test]
async fn owner_reset_password_sets_a_new_one_for_an_owner_only_and_ends_their_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let cfg = config.to_str().expect("utf-8 path");
    let (ok, _, err) =
        run(&["owner", "create", "--email", "boss@example.com", "--config", cfg], Some("boss-password-1\n"));
    assert!(ok, "{err}");
    let mut server = Running::start(&config);
    let base = server.base();
    let site = {
        let owner = Client::new(&base);
        owner.login_ok("boss@example.com", "boss-password-1").await;
        let site = create_site(&owner, "Shop").await;
        create_person(&owner, site, "Sam", "sam@example.com", "agent", "sam-password-1").await;
        site
    };
    let kept = Client::new(&base);
    kept.login_ok("boss@example.com", "boss-password-1").await;
    let (ok, _, err) =
        run(&["owner", "reset-password", "--email", "boss@example.com", "--config", cfg], Some("boss-password-2\n"));
    assert!(!ok && err.contains("in use"), "refused while the server runs: {err}");
    assert!(server.terminate().success());

    let (ok, _, err) =
        run(&["owner", "reset-password", "--email", "Boss@Example.com", "--config", cfg], Some("short\n"));
    assert!(!ok && err.contains("10 characters"), "{err}");
    let (ok, _, err) =
        run(&["owner", "reset-password", "--email", "sam@example.com", "--config", cfg], Some("sam-password-2\n"));
    assert!(!ok && err.contains("not an owner"), "only owners: {err}");
    let (ok, out, err) =
        run(&["owner", "reset-password", "--email", "Boss@Example.com", "--config", cfg], Some("boss-password-2\n"));
    assert!(ok, "{out}{err}");
    assert!(out.contains("New password set for boss@example.com"), "{out}");

    let mut server = Running::start(&config);
    let base = server.base();
    // The session signed in before the reset is over.
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let old = plain
        .get(format!("{base}/admin/sites/{site}"))
        .header("cookie", kept.cookie_header())
        .send()
        .await
        .expect("GET with the old session");
    assert_eq!(old.status(), 303);
    assert!(old.headers()["location"].to_str().expect("location").starts_with("/login"));
    Client::new(&base).login("boss@example.com", "boss-password-1").await.assert_status(401);
    Client::new(&base).login_ok("boss@example.com", "boss-password-2").await;
    Client::new(&base).login_ok("sam@example.com", "sam-password-1").await;
    assert!(server.terminate().success());
}

#[test]
fn config_default_is_valid_and_config_check_names_bad_keys_and_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, default, _) = run(&["config", "default"], None);
    assert!(ok);
    assert!(default.contains("[server]") && default.contains("listen = \"127.0.0.1:8080\"") && default.contains("# "));
    let file = dir.path().join("default.toml");
    let data = dir.path().join("data").display().to_string();
    std::fs::write(&file, default.replace("./parley-data", &data)).expect("write");
    let (ok, out, err) = run(&["config", "check", "--config", file.to_str().expect("utf-8")], None);
    assert!(ok, "{err}");
    assert!(out.contains("valid"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten = \"127.0.0.1:8080\"\n\n[storage]\ndatadir = \"/tmp/x\"\n").expect("write");
    let (ok, _, err) = run(&["config", "check", "--config", bad.to_str().expect("utf-8")], None);
    assert!(!ok);
    assert!(err.contains("datadir") && err.contains("line 5"), "{err}");
    let (ok, _, err) = run(&["config", "check", "--config", "/nonexistent/parley.toml"], None);
    assert!(!ok && err.contains("cannot read the configuration file"), "{err}");
}

#[test]
fn serve_refuses_to_start_on_an_unwritable_data_dir_or_missing_tls_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").expect("write");
    let cfg = dir.path().join("p.toml");
    std::fs::write(&cfg, format!("[storage]\ndata_dir = {:?}\n", blocker.join("data").display().to_string()))
        .expect("write");
    let (ok, _, err) = run(&["serve", "--config", cfg.to_str().expect("utf-8")], None);
    assert!(!ok);
    assert!(err.contains("[storage] data_dir") && err.contains("line 2"), "{err}");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\ndata_dir = {:?}\n[tls]\ncert = \"/nope/c.pem\"\nkey = \"/nope/k.pem\"\n",
            dir.path().join("d").display().to_string()
        ),
    )
    .expect("write");
    let (ok, _, err) = run(&["serve", "--config", cfg.to_str().expect("utf-8")], None);
    assert!(!ok && err.contains("[tls] cert") && err.contains("cannot read"), "{err}");
}

#[test]
fn the_binary_is_statically_linked() {
    let out = Command::new("ldd").arg(bin()).output().expect("ldd");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("not a dynamic executable") || text.contains("statically linked"), "ldd says: {text}");
}

#[tokio::test]
async fn a_store_from_the_first_version_opens_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/v1.redb");
    std::fs::copy(&fixture, data.join("parley.redb")).expect("copy fixture");
    let s = TestServer::start_in(dir, "").await;
    let o = s.client();
    o.login_ok("owner@fixture.example", "fixture-password-1").await;
    let sites = o.get("/admin/sites").await;
    sites.assert_ok().assert_contains("Fixture Site");
    let site = id_after(&sites.body, "/admin/sites/");
    o.get(&format!("/admin/sites/{site}/agents")).await.assert_contains("Fixture Agent");
    o.get(&format!("/admin/sites/{site}/campaigns")).await.assert_contains("Fixture Campaign");
    s.client().login_ok("agent@fixture.example", "fixture-password-1").await;
}

#[tokio::test]
async fn the_secret_is_private_logs_can_be_json_and_healthcheck_tells_if_the_server_answers() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    // Pin a port so healthcheck (which reads the same file) knows where to look.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let text = std::fs::read_to_string(&config).expect("read").replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&config, format!("{text}format = \"json\"\n")).expect("write");
    let cfg = config.to_str().expect("utf-8");
    let (ok, _, err) = run(&["healthcheck", "--config", cfg], None);
    assert!(!ok && err.contains("nothing answers"), "{err}");
    let mut server = Running::start(&config);
    let line = server.wait_for("listening");
    let json: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    assert!(json["fields"]["message"].as_str().is_some_and(|m| m.contains("Parley listening")), "{json}");
    let (ok, _, err) = run(&["healthcheck", "--config", cfg], None);
    assert!(ok, "healthcheck failed against a running server: {err}");
    let mode = std::fs::metadata(dir.path().join("data/secret.key")).expect("secret.key").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "secret.key mode {mode:o}");
    assert!(server.terminate().success());
}

#[tokio::test]
async fn after_kill_9_in_a_burst_every_acknowledged_message_is_in_the_transcript_in_order() {
    use serde_json::{Value, json};
    let dir = tempfile::tempdir().expect("tempdir");
    let config =
        write_config(dir.path(), "[realtime]\nframes_per_second = 100000\nframes_burst = 100000\nsend_queue = 65536\n");
    let cfg = config.to_str().expect("utf-8");
    let (ok, _, err) =
        run(&["owner", "create", "--email", OWNER_EMAIL, "--config", cfg], Some(&format!("{OWNER_PASSWORD}\n")));
    assert!(ok, "{err}");
    let mut server = Running::start(&config);
    let base = server.base();
    let owner = Client::new(&base);
    owner.login_ok(OWNER_EMAIL, OWNER_PASSWORD).await;
    let o = org(&base, &owner, "Acme").await;
    let (_agent, _) = agent(&o.agent, json!([])).await;
    let (mut v, _) = visitor(&base, o.campaign, None, None).await;
    v.send(json!({"type": "start", "fields": {"name": "Burst"}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat id");
    // A burst of 2000 messages, not waiting for acks; kill -9 after the first 200 acks.
    for i in 0..2000 {
        v.send_raw(tokio_tungstenite::tungstenite::Message::text(
            json!({"type": "message", "chat": chat, "id": format!("m{i}"), "text": format!("m{i}")}).to_string(),
        ))
        .await;
    }
    let mut acked: Vec<(u64, String)> = vec![];
    while acked.len() < 200 {
        let f = v.until_type("ack").await;
        acked.push((f["seq"].as_u64().expect("seq"), f["id"].as_str().expect("id").to_string()));
    }
    Command::new("kill").args(["-KILL", &server.child.id().to_string()]).status().expect("kill");
    let _ = server.child.wait();
    // Whatever else was acknowledged before the socket died counts too.
    while let Ok(Some(Ok(msg))) =
        tokio::time::timeout(Duration::from_secs(2), futures_util::StreamExt::next(&mut v.ws)).await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let f: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
            if f["type"] == "ack" {
                acked.push((f["seq"].as_u64().expect("seq"), f["id"].as_str().expect("id").to_string()));
            }
        }
    }
    let mut restarted = Running::start(&config);
    let base = restarted.base();
    let agent_client = Client::new(&base);
    agent_client.login_ok("agent@acme.example", "agent-password-1").await;
    let (mut a, welcome) = agent(&agent_client, json!([])).await;
    assert_eq!(welcome["chats"][0]["id"], chat, "the chat survived, still the agent's");
    let last_seq = welcome["chats"][0]["last_seq"].as_u64().expect("last_seq");
    let mut stored: Vec<(u64, String)> = vec![];
    while stored.last().map(|s| s.0) != Some(last_seq) {
        let e = a.until_type("event").await;
        if e["kind"] == "message" {
            stored.push((e["seq"].as_u64().expect("seq"), e["text"].as_str().expect("text").to_string()));
        }
        if e["seq"].as_u64() == Some(last_seq) {
            break;
        }
    }
    for (seq, id) in &acked {
        assert!(stored.contains(&(*seq, id.clone())), "acknowledged {id} (seq {seq}) is missing after the crash");
    }
    let order: Vec<u64> = stored.iter().map(|s| s.1[1..].parse().expect("number")).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "stored in the order sent");
    assert!(restarted.terminate().success());
}
