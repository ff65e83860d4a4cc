//! The floor under Parley's numbers, measured in the same run: a bare WebSocket echo on the same
//! stack (tokio + tokio-tungstenite, server and client in this process, on loopback), and the
//! raw latency of write + fdatasync of a 4 KiB block in the server's data directory.

use crate::stats::{H, hist, record_ns};
use futures_util::{SinkExt, StreamExt};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn cfg() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0)
}

/// Round trips of one text frame of `bytes` bytes, one at a time, after 200 unrecorded ones.
pub async fn echo(samples: usize, bytes: usize) -> Result<H, String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let Ok((s, _)) = listener.accept().await else { return };
        let _ = s.set_nodelay(true);
        let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(s, Some(cfg())).await else { return };
        while let Some(Ok(m)) = ws.next().await {
            let echo = matches!(m, Message::Text(_));
            if matches!(m, Message::Close(_)) || (echo && ws.send(m).await.is_err()) {
                return;
            }
        }
    });
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(format!("ws://{addr}/"), stream, Some(cfg()))
        .await
        .map_err(|e| e.to_string())?;
    let text = format!("{{\"type\":\"message\",\"chat\":1,\"id\":\"1.1.1\",\"text\":\"{}\"}}", "x".repeat(bytes));
    let mut h = hist();
    for i in 0..samples + 200 {
        let t = Instant::now();
        ws.send(Message::text(text.clone())).await.map_err(|e| e.to_string())?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(_))) => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("echo server went away".into()),
            }
        }
        if i >= 200 {
            record_ns(&mut h, t.elapsed().as_nanos() as i128);
        }
    }
    let _ = ws.close(None).await;
    server.abort();
    Ok(h)
}

/// `samples` times: write 4 KiB at offset 0 of a scratch file in `dir`, then fdatasync (what
/// redb does once per commit). The file is removed afterwards.
pub fn fsync(dir: &Path, samples: usize) -> Result<H, String> {
    let path = dir.join(format!(".parley-load-fsync-{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let block = vec![0x5au8; 4096];
    f.write_all(&block).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    let mut h = hist();
    let mut result = Ok(());
    for i in 0..samples {
        let t = Instant::now();
        let mut b = block.clone();
        b[0] = i as u8;
        if let Err(e) = f.write_all_at(&b, 0).and_then(|_| f.sync_data()) {
            result = Err(e.to_string());
            break;
        }
        record_ns(&mut h, t.elapsed().as_nanos() as i128);
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    result.map(|_| h)
}
