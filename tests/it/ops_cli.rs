//! Operations as an administrator runs them: backups through the running server, restore with
//! it stopped, TLS certificates reloaded on SIGHUP, readiness.

use crate::cli::{Running, run, write_config};
use crate::harness::*;
use std::process::Command;

#[tokio::test]
async fn backup_while_running_then_restore_while_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let cfg = config.to_str().expect("utf-8");
    let (ok, _, err) =
        run(&["owner", "create", "--email", OWNER_EMAIL, "--config", cfg], Some(&format!("{OWNER_PASSWORD}\n")));
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["backup", "--config", cfg], None);
    assert!(!ok && err.contains("with the server running"), "{err}");
    let mut server = Running::start(&config);
    let base = server.base();
    // `parley backup` needs the config's port: point it at the running server.
    let port = base.rsplit(':').next().expect("port").to_string();
    let text = std::fs::read_to_string(&config).expect("read").replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&config, text).expect("write");
    let owner = Client::new(&base);
    owner.login_ok(OWNER_EMAIL, OWNER_PASSWORD).await;
    create_site(&owner, "Before").await;
    let copy = dir.path().join("copy.redb");
    let (ok, out, err) = run(&["backup", "--config", cfg, "--output", copy.to_str().expect("utf-8")], None);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Backup written") && copy.exists(), "{out}");
    create_site(&owner, "After").await;
    // The admin page lists it; a site admin may not see backups.
    owner.get("/admin/backups").await.assert_ok().assert_contains("parley-");
    // Restore refuses while the server runs.
    let (ok, _, err) = run(&["restore", copy.to_str().expect("utf-8"), "--config", cfg], None);
    assert!(!ok && err.contains("in use"), "{err}");
    assert!(server.terminate().success());
    let (ok, out, err) = run(&["restore", copy.to_str().expect("utf-8"), "--config", cfg], None);
    assert!(ok, "{err}");
    assert!(out.contains("kept as"), "{out}");
    let mut server = Running::start(&config);
    let base = server.base();
    let owner = Client::new(&base);
    owner.login_ok(OWNER_EMAIL, OWNER_PASSWORD).await;
    let sites = owner.get("/admin/sites").await;
    sites.assert_contains("Before");
    assert!(!sites.body.contains("After"), "the store is as it was at the backup");
    assert!(server.terminate().success());
    let (ok, _, err) = run(&["restore", "/nonexistent.redb", "--config", cfg], None);
    assert!(!ok && err.contains("not a Parley store"), "{err}");
}

#[tokio::test]
async fn the_backups_page_makes_and_serves_backups_for_the_owner_only() {
    let s = TestServer::start().await;
    let o = s.owner().await;
    let site = create_site(&o, "Acme").await;
    o.post("/admin/backups", &[]).await.assert_redirect("/admin/backups?ok=backup");
    let page = o.get("/admin/backups").await;
    let i = page.body.find("/admin/backups/parley-").expect("a backup listed");
    let href = page.body[i..].split('"').next().expect("href").to_string();
    let file = o.http.get(format!("{}{href}", s.base)).send().await.expect("download");
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.expect("bytes").len() > 1000);
    o.get("/admin/backups/..%2Fsecret.key").await.assert_status(404);
    create_person(&o, site, "Adam", "adam@example.com", "admin", "adam-password-1").await;
    let admin = s.client();
    admin.login_ok("adam@example.com", "adam-password-1").await;
    admin.get("/admin/backups").await.assert_status(403);
    admin.get(&href).await.assert_status(403);
}

#[tokio::test]
async fn the_local_backup_api_needs_the_servers_proof() {
    let s = TestServer::start().await;
    let c = s.client();
    c.post_raw("/api/local/backup", &[]).await.assert_status(403);
    let r = c
        .http
        .post(format!("{}/api/local/backup", s.base))
        .header("x-parley-local", "00".repeat(32))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    // Even the owner's session is not enough: it is for `parley backup` on the server's machine.
    let o = s.owner().await;
    o.post("/api/local/backup", &[]).await.assert_status(403);
    assert!(!s.dir.path().join("data/backups").exists(), "nothing was written");
}

#[tokio::test]
async fn readyz_reports_a_writable_store() {
    let s = TestServer::start().await;
    let r = s.client().get("/readyz").await;
    r.assert_ok().assert_contains("\"ready\"");
}

fn cert_for(name: &str) -> rcgen::CertifiedKey<rcgen::KeyPair> {
    rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("cert")
}

async fn fetch(port: u16, host: &str, roots: &[&str]) -> Result<u16, String> {
    let mut b = reqwest::Client::builder().resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    for pem in roots {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("root"));
    }
    let c = b.build().expect("client");
    c.get(format!("https://{host}:{port}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn sighup_reloads_the_tls_certificate_and_healthcheck_speaks_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (cert_for("first.parley.test"), cert_for("second.parley.test"));
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, a.cert.pem()).expect("cert");
    std::fs::write(&key, a.signing_key.serialize_pem()).expect("key");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let config = write_config(
        dir.path(),
        &format!("[tls]\ncert = {:?}\nkey = {:?}\n", cert.display().to_string(), key.display().to_string()),
    );
    let text = std::fs::read_to_string(&config).expect("read").replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&config, text).expect("write");
    let mut server = Running::start(&config);
    server.base();
    let (ra, rb) = (a.cert.pem(), b.cert.pem());
    assert_eq!(fetch(port, "first.parley.test", &[&ra, &rb]).await, Ok(200));
    assert!(fetch(port, "second.parley.test", &[&ra, &rb]).await.is_err());
    let (ok, _, err) = run(&["healthcheck", "--config", config.to_str().expect("utf-8")], None);
    assert!(ok, "healthcheck over TLS: {err}");
    // A broken file on SIGHUP keeps the current certificate.
    std::fs::write(&cert, "garbage").expect("cert");
    Command::new("kill").args(["-HUP", &server.child.id().to_string()]).status().expect("kill");
    server.wait_for("keeping the current certificate");
    assert_eq!(fetch(port, "first.parley.test", &[&ra, &rb]).await, Ok(200));
    std::fs::write(&cert, b.cert.pem()).expect("cert");
    std::fs::write(&key, b.signing_key.serialize_pem()).expect("key");
    Command::new("kill").args(["-HUP", &server.child.id().to_string()]).status().expect("kill");
    server.wait_for("TLS certificate reloaded");
    assert_eq!(fetch(port, "second.parley.test", &[&ra, &rb]).await, Ok(200));
    assert!(fetch(port, "first.parley.test", &[&ra, &rb]).await.is_err(), "the old certificate is gone");
    assert!(server.terminate().success());
}
