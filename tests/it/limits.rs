//! The connection layer against stalled and greedy clients, over raw TCP: a connection that
//! says nothing, headers that never finish, a body that never arrives, a TLS handshake that
//! never starts, and more connections than `[limits] max_connections`.

use crate::harness::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

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

const FAST: &str = "[realtime]\nframes_per_second = 1000\nframes_burst = 1000\n";

/// A server with an organization, its agent online, and a visitor's chat assigned to them.
async fn chat_with_agent(extra: &str) -> (TestServer, Org, Ws, Ws, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_owner(dir.path()).await;
    let s = TestServer::start_in(dir, extra).await;
    let o = org(&s.base, &s.owner().await, "Acme").await;
    let (a, _) = agent(&o.agent, serde_json::json!([])).await;
    let (mut v, _) = visitor(&s.base, o.campaign, None, None).await;
    v.send(serde_json::json!({"type": "start", "fields": {"name": "Vera"}})).await;
    let chat = v.until_type("chat").await["chat"]["id"].as_u64().expect("chat id");
    (s, o, a, v, chat)
}

#[tokio::test]
async fn a_frame_far_over_the_limit_still_gets_its_close_code() {
    let (s, o, _a, _v, _) = chat_with_agent(FAST).await;
    // Most of this frame is still unread when the server closes: it must not reset the
    // connection before the client has read the close frame.
    let (mut big, _) = visitor(&s.base, o.campaign, None, None).await;
    big.send_raw(Message::text(format!("{{\"type\":\"ping\",\"pad\":\"{}\"}}", "y".repeat(900_000)))).await;
    // Like a browser busy elsewhere, the client reads a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(big.closed().await, Closed::Code(1009));
}

#[tokio::test]
async fn history_pages_are_bounded_by_bytes_and_page_back_to_the_first_event() {
    let (_s, _o, mut a, mut v, chat) = chat_with_agent(FAST).await;
    a.until_type("assigned").await;
    let text = "x".repeat(4000);
    for i in 0..100 {
        v.send(
            serde_json::json!({"type": "message", "chat": chat, "id": format!("m{i}"), "text": format!("{i} {text}")}),
        )
        .await;
    }
    v.until(|f| f["type"] == "ack" && f["id"] == "m99").await;
    a.wait = Duration::from_secs(10);
    let mut before: Option<u64> = None;
    let mut texts = Vec::new();
    let mut pages = 0;
    loop {
        a.send(serde_json::json!({"type": "history", "chat": chat, "before": before, "limit": 200})).await;
        let page = a.until_type("history").await;
        pages += 1;
        assert!(page.to_string().len() < 80_000, "a page of {} bytes", page.to_string().len());
        let events = page["events"].as_array().expect("events").clone();
        assert!(!events.is_empty());
        for e in events.iter().rev() {
            if e["kind"] == "message" {
                texts.push(e["text"].as_str().unwrap_or_default().to_string());
            }
        }
        before = events[0]["seq"].as_u64();
        if page["more"] == false {
            assert_eq!(before, Some(1), "the last page starts at the first event");
            break;
        }
        assert!(pages < 20, "no end of pages");
    }
    assert!(pages >= 5, "400 KB of messages in pages of at most 64 KB: {pages} pages");
    assert_eq!(texts.len(), 100, "every message once");
    assert!(texts[0].starts_with("99 ") && texts[99].starts_with("0 "), "newest first, none skipped");
}

#[tokio::test]
async fn a_console_that_stops_reading_is_closed_with_4008() {
    // The close frame waits behind what the console has not read yet: long enough for the
    // test to read it all on a loaded machine.
    let (s, o, mut a, mut v, chat) =
        chat_with_agent(&format!("[limits]\nsend_timeout_secs = 300\n{FAST}send_queue = 16\n")).await;
    a.until_type("assigned").await;
    drop(a);
    // A second console of the agent on a socket with a tiny receive buffer, which then stops
    // reading.
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.set_recv_buffer_size(4096).expect("rcvbuf");
    let tcp = sock.connect(s.addr).await.expect("connect");
    let mut req = ws_url(&s.base, "/ws/agent").into_client_request().expect("request");
    req.headers_mut().insert("cookie", o.agent.cookie_header().parse().expect("cookie"));
    req.headers_mut().insert("origin", s.base.parse().expect("origin"));
    let (ws, _) =
        tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(tcp)).await.expect("upgrade");
    let mut slow =
        Ws { ws, server: s.addr.to_string(), role: Role::Agent(None), seen: vec![], wait: Duration::from_secs(5) };
    slow.send(serde_json::json!({"type": "hello", "v": 1, "chats": [{"chat": chat, "after": 0}]})).await;
    slow.until_type("agent_welcome").await;
    // The chat fills with long messages (read by the console as they come), then the console
    // asks for its history again and again without reading the answers, while the visitor goes
    // on writing. How much the kernel buffers for a socket differs between machines: rounds
    // of 3 MB go on until the server has written all it could and sees the console's queue
    // overflow (at once, not after a write timeout).
    let text = "y".repeat(4000);
    let mut n = 0;
    let mut say = async |v: &mut Ws, count: usize| {
        for _ in 0..count {
            n += 1;
            let id = format!("s{n}");
            v.send(serde_json::json!({"type": "message", "chat": chat, "id": id, "text": text})).await;
            v.until(|f| f["type"] == "ack" && f["id"] == id.as_str()).await;
            v.seen.clear();
        }
    };
    say(&mut v, 20).await;
    let too_slow = async || metric(&s.client().get("/metrics").await.body, "parley_sockets_too_slow_total");
    let mut rounds = 0;
    while too_slow().await == 0 {
        rounds += 1;
        assert!(rounds <= 60, "180 MB unread and the console is still open");
        for _ in 0..50 {
            slow.send(serde_json::json!({"type": "history", "chat": chat, "limit": 200})).await;
        }
        say(&mut v, 20).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Reading again, the console finds what fitted in the buffers, then the close: 4008.
    let closed = slow.closed().await;
    let got = slow.seen.iter().filter(|f| f["type"] == "history").count();
    assert_eq!(closed, Closed::Code(4008), "after {got} history pages");
    assert!(got < rounds * 50, "the console could not have taken everything: {got} of {}", rounds * 50);
}
