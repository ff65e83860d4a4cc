//! TLS with rustls when `[tls] cert` and `key` are set: a real handshake with a certificate
//! generated in the test, and Secure cookies.

use crate::harness::*;

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("cert");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let extra =
        format!("[tls]\ncert = {:?}\nkey = {:?}\n", cert_path.display().to_string(), key_path.display().to_string());
    let s = TestServer::start_in(dir, &extra).await;
    assert!(s.base.starts_with("https://"));
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("root");
    let strict = reqwest::Client::builder().add_root_certificate(root).build().expect("client");
    let r = strict
        .get(format!("https://localhost:{}/healthz", s.addr.port()))
        .send()
        .await
        .expect("TLS handshake with the configured certificate");
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("strict-transport-security").is_some());
    // Plain HTTP to the TLS port fails.
    let plain = reqwest::Client::new().get(format!("http://{}/healthz", s.addr)).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));
    let c = s.client();
    let p = c.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let cookie = p.set_cookies.iter().find(|c| c.starts_with("parley_session=")).expect("session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
}
