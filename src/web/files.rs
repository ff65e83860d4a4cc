//! Files in chat over HTTP: uploading (a visitor with their token, an agent with their session
//! and the CSRF header), and serving a sent file to those who may read its chat.
//!
//! An upload is `POST` with the raw bytes as the body and `chat` and `name` in the query; the
//! answer names the upload, which a `message` frame then sends (`docs/protocol.md`, *Files*).
//! The type is read from the content; the name is cleaned; the size, the site's allowed types
//! and its quota are checked; every refusal is JSON `{"error", "message"}` with its status.

use crate::domain::files::{self, Refusal, Upload, Uploader};
use crate::domain::ids::{ChatId, SiteId};
use crate::store::{SiteStore, StoreError};
use crate::web::auth::{Principal, token_hash};
use crate::web::error::WebError;
use crate::web::state::{AppState, now_ms, random_hex};
use futures_util::StreamExt;
use poem::http::{HeaderMap, StatusCode, header};
use poem::web::{Data, Json, Path, Query};
use poem::{Body, IntoResponse, Request, Response, handler};
use serde::Deserialize;
use serde_json::json;

/// Uploads a visitor or an agent may start per minute.
pub const UPLOADS_PER_MINUTE: u32 = 20;

fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    Json(json!({"error": code, "message": message.into()})).with_status(status).into_response()
}

/// Paces the store writes of all uploads together to `UPLOAD_BYTES_PER_SEC`: each chunk takes
/// the next free slot of time (the body waits in the socket meanwhile).
#[derive(Default)]
pub struct UploadPace(std::sync::Mutex<Option<std::time::Instant>>);

impl UploadPace {
    async fn wait(&self, bytes: usize) {
        let slot = {
            let mut next = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = std::time::Instant::now();
            let start = next.filter(|t| *t > now).unwrap_or(now);
            let cost =
                std::time::Duration::from_secs_f64(bytes as f64 / crate::store::files::UPLOAD_BYTES_PER_SEC as f64);
            *next = Some(start + cost);
            start
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// A store error as the JSON answer of an upload (logged when it is not a plain "not found").
fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NotFound => refuse(StatusCode::NOT_FOUND, "not_found", "No such upload or chat."),
        e => {
            tracing::error!(error = %e, "an upload could not be stored");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The file could not be stored; try again.")
        }
    }
}

/// CORS for the widget, which runs on the customer's pages: any origin, no cookies (a visitor is
/// known by the token in `Authorization`).
fn cors(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header::HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, header::HeaderValue::from_static("GET, POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, header::HeaderValue::from_static("authorization, content-type"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, header::HeaderValue::from_static("600"));
    // The widget reads when to try again after a 429, and a file's name.
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::HeaderValue::from_static("retry-after, content-disposition"),
    );
    resp
}

/// The preflight of the widget's uploads and file fetches.
#[handler]
pub fn preflight() -> Response {
    cors(StatusCode::NO_CONTENT.into_response())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    chat: u64,
    #[serde(default)]
    name: String,
}

/// `POST /api/visitor/uploads?chat=N&name=…` with `Authorization: Bearer <visitor token>`.
#[handler]
pub async fn visitor_upload(
    req: &Request,
    state: Data<&AppState>,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> Response {
    let Some(token) = bearer(req.headers()) else {
        return cors(refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send the visitor token as Authorization: Bearer.",
        ));
    };
    let (site, visitor) = match state.store.visitor_by_token(&token_hash(token)) {
        Ok(Some(found)) => found,
        Ok(None) => return cors(refuse(StatusCode::UNAUTHORIZED, "invalid_token", "Unknown visitor token.")),
        Err(e) => return cors(store_error(e)),
    };
    let scope = state.store.site(site);
    let chat = ChatId(q.chat);
    match scope.chat(chat) {
        Ok(c) if c.visitor == visitor && c.status() != crate::domain::chat::ChatStatus::Ended => {}
        Ok(c) if c.visitor == visitor => {
            return cors(refuse(StatusCode::CONFLICT, "chat_ended", "This chat has ended."));
        }
        _ => return cors(refuse(StatusCode::NOT_FOUND, "chat_not_found", "No such chat.")),
    }
    let who = format!("v:{}:{}", site.0, visitor.0);
    cors(upload(&state, req, scope, chat, Uploader::Visitor(visitor), &who, &q.name, body).await)
}

/// `POST /console/uploads?chat=N&name=…` with the agent's session and `X-CSRF-Token`.
#[handler]
pub async fn agent_upload(req: &Request, state: Data<&AppState>, Query(q): Query<UploadQuery>, body: Body) -> Response {
    let Some(p) = req.extensions().get::<Principal>().cloned() else {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "Sign in first.");
    };
    let scope = state.store.site(p.user.site);
    let chat = ChatId(q.chat);
    match scope.chat(chat) {
        Ok(c) if c.agent() == Some(p.user.id) && c.status() != crate::domain::chat::ChatStatus::Ended => {}
        Ok(c) if c.agent() == Some(p.user.id) => {
            return refuse(StatusCode::CONFLICT, "chat_ended", "This chat has ended.");
        }
        _ => return refuse(StatusCode::NOT_FOUND, "chat_not_found", "No such chat."),
    }
    let who = format!("a:{}:{}", p.user.site.0, p.user.id.0);
    upload(&state, req, scope, chat, Uploader::Agent(p.user.id), &who, &q.name, body).await
}

/// Checks UTF-8 across the chunks of a stream.
#[derive(Default)]
struct Utf8 {
    ok: bool,
    carry: Vec<u8>,
}

impl Utf8 {
    fn new() -> Utf8 {
        Utf8 { ok: true, carry: Vec::new() }
    }

    fn feed(&mut self, data: &[u8]) {
        if !self.ok {
            return;
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(data);
        match std::str::from_utf8(&buf) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => self.carry = buf[e.valid_up_to()..].to_vec(),
            Err(_) => self.ok = false,
        }
    }

    fn finish(&self) -> bool {
        self.ok && self.carry.is_empty()
    }
}

/// How much of the start of a file its type is read from.
const HEAD_BYTES: usize = 8192;

#[allow(clippy::too_many_arguments)]
async fn upload(
    state: &AppState,
    req: &Request,
    scope: SiteStore,
    chat: ChatId,
    by: Uploader,
    who: &str,
    raw_name: &str,
    body: Body,
) -> Response {
    let site = match scope.site() {
        Ok(s) => s,
        Err(e) => return store_error(e),
    };
    if !site.files.enabled {
        return refuse(StatusCode::FORBIDDEN, "files_disabled", "Files cannot be sent on this site.");
    }
    let max = state.config.chat.max_file_bytes;
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("The file is larger than the limit of {}.", human_size(max)),
        )
    };
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return too_large();
    }
    if let Err(wait) = state.upload_rate.take(who, UPLOADS_PER_MINUTE, now_ms()) {
        let mut r = refuse(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many files at once: wait a moment.");
        if let Ok(v) = wait.to_string().parse() {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let name = files::clean_name(raw_name);
    let record = Upload {
        id: 0,
        site: scope.id(),
        by,
        chat,
        key: random_hex(16),
        name: name.clone(),
        mime: String::new(),
        size: 0,
        chunks: 0,
        created_at: now_ms(),
        complete: false,
        sent: None,
    };
    let up = match scope.begin_upload(record).await {
        Ok(u) => u,
        Err(e) => return store_error(e),
    };
    // Read the body into chunks, each stored as it fills: memory stays at one chunk.
    let mut stream = body.into_bytes_stream();
    let (mut size, mut index, mut head, mut utf8) = (0u64, 0u32, Vec::new(), Utf8::new());
    let mut buf: Vec<u8> = Vec::with_capacity(crate::store::files::CHUNK_BYTES);
    let fail = |r: Response| async {
        let _ = scope.delete_upload(up.id).await;
        r
    };
    loop {
        let next = stream.next().await;
        let data = match next {
            Some(Ok(d)) => d,
            Some(Err(_)) => {
                return fail(refuse(StatusCode::BAD_REQUEST, "upload_broken", "The upload was cut off: try again."))
                    .await;
            }
            None => bytes::Bytes::new(),
        };
        let end = data.is_empty() && buf.len() < crate::store::files::CHUNK_BYTES;
        size += data.len() as u64;
        if size > max {
            return fail(too_large()).await;
        }
        if head.len() < HEAD_BYTES {
            head.extend_from_slice(&data[..data.len().min(HEAD_BYTES - head.len())]);
        }
        utf8.feed(&data);
        buf.extend_from_slice(&data);
        while buf.len() >= crate::store::files::CHUNK_BYTES || (end && !buf.is_empty()) {
            let take = buf.len().min(crate::store::files::CHUNK_BYTES);
            let rest = buf.split_off(take);
            let chunk = std::mem::replace(&mut buf, rest);
            state.upload_pace.wait(chunk.len()).await;
            if let Err(e) = scope.put_chunk(up.id, index, chunk).await {
                return fail(store_error(e)).await;
            }
            index += 1;
        }
        if end {
            break;
        }
    }
    let mime = match files::judge(&name, size, &head, utf8.finish(), &site.files.types) {
        Ok(m) => m,
        Err(r) => {
            let status = if r == Refusal::Empty { StatusCode::BAD_REQUEST } else { StatusCode::UNSUPPORTED_MEDIA_TYPE };
            return fail(refuse(status, r.code(), r.message())).await;
        }
    };
    match scope.finish_upload(up.id, mime, size, index, state.config.chat.site_file_bytes).await {
        Ok(up) => {
            let f = up.file_ref();
            let body = json!({
                "upload": up.id,
                "name": f.name,
                "type": f.mime,
                "size": f.size,
                "image": f.is_image(),
            });
            Json(body).with_status(StatusCode::CREATED).into_response()
        }
        Err(StoreError::Conflict { message, .. }) => {
            refuse(StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded", message)
        }
        Err(e) => store_error(e),
    }
}

/// "10 MiB", "512 KiB", "300 bytes".
pub fn human_size(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    } else if n >= 1024 {
        format!("{} KiB", n.div_ceil(1024))
    } else {
        format!("{n} bytes")
    }
}

/// `GET /files/{site}/{id}/{key}/{name}`: a sent file, to someone who may read its chat (an
/// agent or admin of its site, the owner, or the chat's visitor by their token).
#[handler]
pub async fn serve(
    req: &Request,
    state: Data<&AppState>,
    Path((site, id, key, _name)): Path<(u64, u64, String, String)>,
) -> Response {
    let visitor_token = bearer(req.headers()).map(str::to_string);
    let out = serve_file(req, &state, SiteId(site), id, &key, visitor_token.as_deref()).await;
    let resp = out.unwrap_or_else(|e| poem::error::ResponseError::as_response(&e));
    if visitor_token.is_some() { cors(resp) } else { resp }
}

async fn serve_file(
    req: &Request,
    state: &AppState,
    site: SiteId,
    id: u64,
    key: &str,
    visitor_token: Option<&str>,
) -> Result<Response, WebError> {
    let scope = state.store.site(site);
    let up = scope.upload(id).map_err(|_| WebError::NotFound)?;
    let key_ok: bool =
        up.key.len() == key.len() && up.key.bytes().zip(key.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
    if !key_ok || !up.complete || up.sent.is_none() {
        return Err(WebError::NotFound);
    }
    let chat = scope.chat(up.chat).map_err(|_| WebError::NotFound)?;
    let by_session = req.extensions().get::<Principal>().is_some_and(|p| p.is_owner() || p.user.site == site);
    let by_token = visitor_token
        .and_then(|t| state.store.visitor_by_token(&token_hash(t)).ok().flatten())
        .is_some_and(|(s, v)| s == site && v == chat.visitor);
    if !(by_session || by_token) {
        return Err(WebError::NotFound);
    }
    let f = up.file_ref();
    let (content_type, disposition) =
        if f.is_image() { (f.mime.clone(), "inline") } else { ("application/octet-stream".to_string(), "attachment") };
    let ascii: String =
        f.name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    let encoded: String = f
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect();
    let store = scope.clone();
    let chunks = up.chunks;
    let stream = futures_util::stream::iter(0..chunks).then(move |i| {
        let store = store.clone();
        async move {
            tokio::task::spawn_blocking(move || store.chunk(id, i))
                .await
                .map_err(std::io::Error::other)?
                .map(bytes::Bytes::from)
                .map_err(std::io::Error::other)
        }
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, f.size)
        .header(header::CONTENT_DISPOSITION, format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=86400")
        .body(Body::from_bytes_stream(stream)))
}
