//! The connection layer against stalled and greedy clients, over raw TCP: a connection that
//! says nothing, headers that never finish, a body that never arrives, a TLS handshake that
//! never starts, and more connections than `[limits] max_connections`.

use crate::harness::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const QUICK: &str = "[limits]\nheader_timeout_secs = 1\nbody_timeout_secs = 1\nsend_timeout_secs = 1\n";

async fn quick_server(extra: &str) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    TestServer::start_in(dir, &format!("{QUICK}{extra}")).await
}

/// Read until the server closes the connection (within `within`); what it sent.
async fn read_until_closed(c: &mut TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the connection was still open after {within:?}; received {:?}",
        String::from_utf8_lossy(&got)
    );
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn stalled_clients_are_cut_off_after_their_timeouts() {
    let s = quick_server("").await;
    // A connection that never sends a byte.
    let start = Instant::now();
    let mut silent = TcpStream::connect(s.addr).await.expect("connect");
    assert_eq!(read_until_closed(&mut silent, Duration::from_secs(10)).await, "");
    assert!(start.elapsed() >= Duration::from_millis(900), "closed before the timeout: {:?}", start.elapsed());

    // Headers that never finish (a request line and one header, then nothing).
    let mut slow = TcpStream::connect(s.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.expect("write");
    read_until_closed(&mut slow, Duration::from_secs(10)).await;

    // The same for a WebSocket upgrade whose headers never finish.
    let mut upgrade = TcpStream::connect(s.addr).await.expect("connect");
    upgrade
        .write_all(b"GET /ws/visitor HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        .await
        .expect("write");
    read_until_closed(&mut upgrade, Duration::from_secs(10)).await;

    // A body announced and never sent: 408, and the connection closes.
    let mut body = TcpStream::connect(s.addr).await.expect("connect");
    body.write_all(
        b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a",
    )
    .await
    .expect("write");
    let answer = read_until_closed(&mut body, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");

    // A kept-alive connection is answered, then closed when no next request comes.
    let mut kept = TcpStream::connect(s.addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.expect("write");
    let answer = read_until_closed(&mut kept, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("\"status\":\"ok\""), "{answer}");

    // A WebSocket is not an HTTP request: idle past the header timeout, it stays open.
    let org = org(&s.base, &s.owner().await, "Acme").await;
    let (mut ws, _) = visitor(&s.base, org.campaign, None, None).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ws.send(serde_json::json!({"type": "ping"})).await;
    ws.until_type("pong").await;

    let metrics = s.client().get("/metrics").await.body;
    let timed_out = metric(&metrics, "parley_connections_timed_out_total");
    assert!(timed_out >= 3, "three connections timed out at the headers:\n{metrics}");
}

#[tokio::test]
async fn a_tls_port_drops_a_client_that_never_starts_the_handshake() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let tls =
        format!("[tls]\ncert = {:?}\nkey = {:?}\n", cert_path.display().to_string(), key_path.display().to_string());
    let s = TestServer::start_in(dir, &format!("{QUICK}{tls}")).await;
    let mut silent = TcpStream::connect(s.addr).await.expect("connect");
    read_until_closed(&mut silent, Duration::from_secs(10)).await;
    // A client that starts the handshake and stops half-way.
    let mut half = TcpStream::connect(s.addr).await.expect("connect");
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await.expect("write");
    read_until_closed(&mut half, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    let s = TestServer::start_in(dir, "[limits]\nmax_connections = 16\n").await;
    let mut held = Vec::new();
    for _ in 0..16 {
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        // Each is served (so it holds its slot for sure) and kept alive.
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.expect("write");
        let mut buf = [0u8; 1024];
        let n = c.read(&mut buf).await.expect("read");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(c);
    }
    let mut over = TcpStream::connect(s.addr).await.expect("the kernel accepts");
    let _ = over.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let answer = read_until_closed(&mut over, Duration::from_secs(3)).await;
    assert_eq!(answer, "", "a connection over the cap is closed without an answer");
    // Slots come back as connections close.
    held.truncate(10);
    let mut metrics = String::new();
    for _ in 0..50 {
        let r = reqwest::Client::new().get(format!("{}/metrics", s.base)).send().await;
        if let Ok(r) = r {
            metrics = r.text().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metric(&metrics, "parley_connections_refused_total") >= 1, "{metrics}");
    assert!(metric(&metrics, "parley_open_connections") >= 11, "{metrics}");
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}
