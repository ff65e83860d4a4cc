//! Operations endpoints: health, metrics; and the response headers every page gets.

use crate::web::state::AppState;
use poem::http::header;
use poem::web::{Data, Json};
use poem::{Endpoint, IntoResponse, Request, Response, handler};
use serde_json::json;
use std::sync::Arc;

#[handler]
pub fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

#[handler]
pub fn metrics(state: Data<&AppState>) -> impl IntoResponse {
    state.metrics.render(&state.store).with_content_type("text/plain; version=0.0.4; charset=utf-8")
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Middleware: security headers on every response, and response counting.
pub async fn headers<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let state = req.data::<AppState>().cloned();
    let mut resp = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(CSP));
    }
    if let Some(state) = state {
        if state.config.serves_tls() {
            h.insert(header::STRICT_TRANSPORT_SECURITY, header::HeaderValue::from_static("max-age=31536000"));
        }
        state.metrics.count_response(resp.status().as_u16());
    }
    Ok(resp)
}

/// Ready when the store takes a durable write (within 2 s).
#[handler]
pub async fn readyz(state: Data<&AppState>) -> Response {
    if let Some(e) = state.store.failure() {
        return Json(json!({ "status": "failed", "cause": e.to_string() }))
            .with_status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
            .into_response();
    }
    let probe = state.store.probe_write(crate::web::state::now_ms());
    match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
        Ok(Ok(())) => Json(json!({ "status": "ready" })).into_response(),
        _ => Json(json!({ "status": "not_ready" }))
            .with_status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
            .into_response(),
    }
}

/// The proof `parley backup` sends: it can read the server's secret, so it runs as the
/// server's user on this machine.
pub fn local_proof(secret: &[u8; 32]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(b"parley local backup");
    crate::web::state::hex(&m.finalize().into_bytes())
}

/// `POST /api/local/backup`, for `parley backup`: only from loopback, only with the proof.
#[handler]
pub async fn local_backup(req: &Request, state: Data<&AppState>) -> Result<Response, crate::web::error::WebError> {
    use crate::web::error::WebError;
    let loopback = matches!(req.remote_addr().0, poem::Addr::SocketAddr(a) if a.ip().is_loopback());
    let proof = req.headers().get("x-parley-local").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !loopback || proof != local_proof(&state.secret) {
        return Err(WebError::Forbidden("Local backups are for `parley backup` on this machine."));
    }
    let path = crate::backups::make(
        &state.store,
        &state.config.backup_dir(),
        crate::web::state::now_ms(),
        state.config.backup.bytes_per_sec,
    )
    .await?;
    tracing::info!(file = %path.display(), "backup made for `parley backup`");
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(Json(json!({ "file": path.display().to_string(), "bytes": bytes })).into_response())
}
