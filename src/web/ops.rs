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
        if state.config.tls.is_some() {
            h.insert(header::STRICT_TRANSPORT_SECURITY, header::HeaderValue::from_static("max-age=31536000"));
        }
        state.metrics.count_response(resp.status().as_u16());
    }
    Ok(resp)
}
