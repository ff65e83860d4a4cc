//! The JSON API (OpenAPI 3 document at `/api/openapi.json`). Authenticated by the same session
//! cookie as the pages, or by an API token (`Authorization: Bearer …`, made on a site's or the
//! owner's API tokens page); site data only through the caller's site scope. Errors are RFC 9457
//! problem details (`application/problem+json`).
//!
//! `mod.rs`: who calls and what they may reach, the problem type, and the lists of a site's
//! people, departments, campaigns, canned replies and live visitors; `chats.rs`: chats, their
//! events and transfer log, messages left, visitors, reports; `manage.rs`: creating, changing
//! and deleting people, departments, campaigns and canned replies.

// A `Problem` is the whole answer of a failed request, made once per request: boxing it
// would buy nothing.
#![allow(clippy::result_large_err)]

mod chats;
mod manage;

use crate::domain::model::{Role, User};
use crate::domain::tokens::{ApiToken, REQUESTS_PER_MINUTE, TokenScope};
use crate::web::auth::Principal;
use crate::web::auth::token_hash;
use crate::web::state::AppState;
use crate::web::state::now_ms;
use poem::Request;
use poem::web::Data;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService, SecurityScheme, param::Path};

/// The session cookie set at sign-in.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "parley_session", key_in = "cookie", checker = "session_checker")]
pub struct Session(Principal);

/// The signed-in person, unless the request carries a bearer token: then it is the token's,
/// whatever cookies come with it (the CSRF check lets such requests through).
async fn session_checker(req: &Request, _key: ApiKey) -> Option<Principal> {
    if req.header(poem::http::header::AUTHORIZATION).is_some() {
        return None;
    }
    req.extensions().get::<Principal>().cloned()
}

/// An API token.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "parley_<64 hex digits>", checker = "token_checker")]
pub struct Token(ApiToken);

/// A live token, within its rate (else 429 with `Retry-After`); its use is recorded.
async fn token_checker(req: &Request, bearer: Bearer) -> poem::Result<ApiToken> {
    let unauthorized = || poem::Error::from_status(poem::http::StatusCode::UNAUTHORIZED);
    let state = req.data::<AppState>().ok_or_else(unauthorized)?;
    let now = now_ms();
    let token = state.store.token_by_hash(&token_hash(&bearer.token), now).ok().flatten().ok_or_else(unauthorized)?;
    if let Err(wait) = state.token_rate.take(&format!("t{}", token.id), REQUESTS_PER_MINUTE, now) {
        // The answer's problem body is made by `refusal`, which reads the wait from here.
        let resp = poem::Response::builder()
            .status(poem::http::StatusCode::TOO_MANY_REQUESTS)
            .header(poem::http::header::RETRY_AFTER, wait)
            .finish();
        return Err(poem::Error::from_response(resp));
    }
    let due = {
        let mut uses = state.token_uses.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = uses.entry(token.id).or_insert(0);
        let due = now.saturating_sub(*last) >= 60_000;
        if due {
            *last = now;
        }
        due
    };
    if due {
        let (store, site, id) = (state.store.clone(), token.site, token.id);
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(site, id, now).await {
                tracing::warn!(error = %e, "cannot record an API token's use");
            }
        });
    }
    Ok(token)
}

/// Who calls: a signed-in person (their session cookie) or an API token. A request with a
/// bearer token is the token's (see `session_checker`); the token's refusal (401, or 429 when
/// its rate is spent) is the answer, as the last one tried.
#[derive(SecurityScheme)]
pub enum Caller {
    Session(Session),
    Token(Token),
}

impl Caller {
    /// The site this caller may read: a person as on the pages (owners any, admins and agents
    /// their own), a token its site (or every site, for the organization's).
    fn readable(&self, state: &AppState, site: u64) -> Option<crate::store::SiteStore> {
        match self {
            Caller::Session(s) => readable(&s.0, state, site),
            Caller::Token(t) => {
                let id = crate::domain::ids::SiteId(site);
                (site != 0 && t.0.reaches(id) && state.store.get_site(id).is_ok()).then(|| state.store.site(id))
            }
        }
    }

    /// The site this caller may change: a site's admins and the owner, a token with read and
    /// write access. A site they may read but not change is 403; one they may not read, 404.
    fn writable(&self, state: &AppState, site: u64) -> Result<crate::store::SiteStore, Problem> {
        let scope = self.readable(state, site).ok_or_else(Problem::not_found)?;
        let may = match self {
            Caller::Session(s) => matches!(s.0.user.role, Role::Owner | Role::Admin),
            Caller::Token(t) => t.0.scope == TokenScope::ReadWrite,
        };
        if may {
            Ok(scope)
        } else {
            Err(Problem::forbidden(match self {
                Caller::Session(_) => "Agents may read their site through the API, not change it.",
                Caller::Token(_) => "This token may only read: make one with read and write access.",
            }))
        }
    }

    /// Who did it, as records name them: a person's name, or the token's.
    fn who(&self) -> String {
        match self {
            Caller::Session(s) => s.0.user.name.clone(),
            Caller::Token(t) => format!("API token {}", t.0.name),
        }
    }
}

/// A problem (RFC 9457), as `application/problem+json`.
#[derive(Debug, Object)]
pub struct Problem {
    /// Always `about:blank`: `status` and `code` say what happened.
    #[oai(rename = "type")]
    pub kind: String,
    /// The HTTP status's name.
    pub title: String,
    pub status: u16,
    /// What went wrong, in a sentence for people.
    pub detail: String,
    /// Stable machine-readable code: `not_found`, `forbidden`, `invalid`, `conflict`,
    /// `rate_limited`, `internal`.
    pub code: String,
    /// For `invalid` and `conflict`: each field's problem, as the admin form would show it.
    #[oai(default, skip_serializing_if_is_empty)]
    pub errors: Vec<FieldProblem>,
}

/// One field's problem.
#[derive(Debug, Object)]
pub struct FieldProblem {
    /// The field's name in the request body.
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(status: u16, title: &str, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: title.into(),
            status,
            detail: detail.into(),
            code: code.into(),
            errors: vec![],
        }
    }

    pub fn not_found() -> Problem {
        Problem::new(404, "Not Found", "not_found", "No such object.")
    }

    pub fn forbidden(detail: &str) -> Problem {
        Problem::new(403, "Forbidden", "forbidden", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(400, "Bad Request", "bad_request", detail)
    }

    /// The form's errors: 422.
    pub fn invalid(errors: crate::domain::validate::FormErrors) -> Problem {
        let mut p = Problem::new(422, "Unprocessable Content", "invalid", "Some fields are not valid.");
        p.errors = errors.0.into_iter().map(|(field, message)| FieldProblem { field, message }).collect();
        p
    }

    pub fn internal() -> Problem {
        Problem::new(500, "Internal Server Error", "internal", "Something went wrong on the server; it is logged.")
    }

    /// A store error: not found, a conflict with what is stored (409, with the field), or an
    /// internal error (logged).
    pub fn of_store(e: crate::store::StoreError) -> Problem {
        match e {
            crate::store::StoreError::NotFound => Problem::not_found(),
            crate::store::StoreError::Conflict { field, message } => {
                let mut p = Problem::new(409, "Conflict", "conflict", message.clone());
                p.errors = vec![FieldProblem { field: field.to_string(), message }];
                p
            }
            other => {
                tracing::error!(error = %other, "an API request failed in the store");
                Problem::internal()
            }
        }
    }
}

/// Why a request was refused before its handler ran.
pub enum Refusal {
    /// A parameter or body that does not match the document: 400.
    BadRequest(Problem),
    /// No live token or session: 401.
    Unauthorized(Problem),
    /// The token's rate is spent: 429, with the seconds to wait.
    RateLimited(Problem, u64),
}

/// What the security checkers and the parameter parsers refused, as a problem.
pub fn refusal(e: poem::Error) -> Refusal {
    use poem::http::StatusCode;
    match e.status() {
        StatusCode::UNAUTHORIZED => Refusal::Unauthorized(Problem::new(
            401,
            "Unauthorized",
            "unauthorized",
            "Sign in, or send a live API token: Authorization: Bearer parley_…",
        )),
        StatusCode::TOO_MANY_REQUESTS => {
            let wait = e
                .into_response()
                .headers()
                .get(poem::http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(60);
            let detail = "Too many requests with this token: wait, then try again.";
            Refusal::RateLimited(Problem::new(429, "Too Many Requests", "rate_limited", detail), wait)
        }
        _ => Refusal::BadRequest(Problem::bad_request(e.to_string())),
    }
}

#[derive(Object)]
struct Me {
    id: u64,
    name: String,
    email: String,
    /// `owner`, `admin` or `agent`.
    role: String,
    /// The person's site; 0 for the owner.
    site: u64,
}

#[derive(Object)]
struct Agent {
    id: u64,
    name: String,
    email: String,
    role: String,
    skills: Vec<String>,
    max_chats: u32,
    active: bool,
    departments: Vec<u64>,
}

#[derive(Object)]
struct Department {
    id: u64,
    name: String,
    /// `round_robin` or `least_busy`.
    rule: String,
    members: Vec<u64>,
}

#[derive(Object)]
struct Campaign {
    id: u64,
    name: String,
    /// `en`, `fr` or `de`.
    language: String,
    /// Absent: any agent of the site.
    #[oai(skip_serializing_if_is_none)]
    department: Option<u64>,
    /// `disabled`, `with_invite` or `without_invite`.
    proactive_mode: String,
}

/// A page of a visit.
#[derive(Object)]
struct PageSeen {
    url: String,
    title: String,
    /// When the visitor opened it (Unix ms).
    at: u64,
}

/// A visitor on the site now.
#[derive(Object)]
struct LiveVisitor {
    id: u64,
    campaign: u64,
    /// From their latest chat; empty when unknown.
    name: String,
    page_url: String,
    page_title: String,
    referrer: String,
    /// The pages of this visit, oldest first (the last 20).
    pages: Vec<PageSeen>,
    /// Start of the visit (Unix ms); time on site is now minus this.
    visit_started_at: u64,
    /// Their browser ("Firefox 128"), system ("Windows 10"), device (`desktop`, `phone`,
    /// `tablet`, `bot`) and preferred language ("fr-FR"), as their browser tells them; empty
    /// when unknown.
    browser: String,
    os: String,
    device: String,
    language: String,
    /// Their time zone ("Europe/Paris"), as their widget reports it; empty when unknown.
    time_zone: String,
    /// Open widgets (tabs).
    tabs: u32,
    /// Their open chat.
    #[oai(skip_serializing_if_is_none)]
    chat: Option<u64>,
    /// Their latest invitation's outcome this visit: `pending`, `accepted`, `refused`, `ignored`.
    #[oai(skip_serializing_if_is_none)]
    invitation: Option<String>,
}

#[derive(Object)]
struct Canned {
    id: u64,
    /// Without the leading `/`; lower-case letters, digits, `-` and `_`.
    shortcut: String,
    text: String,
    /// Milliseconds since the Unix epoch.
    updated_at: u64,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_me")]
enum MeResponse {
    #[oai(status = 200)]
    Ok(Json<Me>),
    /// Not signed in (a token is not a person).
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
}

fn bad_me(e: poem::Error) -> MeResponse {
    match refusal(e) {
        Refusal::Unauthorized(p) | Refusal::BadRequest(p) | Refusal::RateLimited(p, _) => {
            MeResponse::Unauthorized(Json(Problem { status: 401, ..p }))
        }
    }
}

pub struct Api;

fn me_of(u: &User) -> Me {
    Me { id: u.id.0, name: u.name.clone(), email: u.email.clone(), role: u.role.as_str().into(), site: u.site.0 }
}

/// The site a principal may read: owners any, others their own (agents included, read-only).
fn readable(p: &Principal, state: &AppState, site: u64) -> Option<crate::store::SiteStore> {
    match p.user.role {
        Role::Owner | Role::Admin => p.admin_scope(state, site).ok(),
        Role::Agent => (p.user.site.0 == site).then(|| state.store.site(p.user.site)),
    }
}

#[OpenApi]
impl Api {
    /// The signed-in person.
    #[oai(path = "/v1/me", method = "get")]
    async fn me(&self, auth: Session) -> MeResponse {
        MeResponse::Ok(Json(me_of(&auth.0.user)))
    }

    /// The visitors on a site now, longest on the site first (agents of the site may read it).
    #[oai(path = "/v1/sites/:site/visitors/live", method = "get")]
    async fn live_visitors(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
    ) -> chats::Read<Vec<LiveVisitor>> {
        if auth.readable(&state, site.0).is_none() {
            return Problem::not_found().into();
        }
        let id = crate::domain::ids::SiteId(site.0);
        let Some(views) = state.realtime.query(move |sb| sb.site_visitors(id)).await else {
            // The switchboard is stopping (the server shuts down).
            return Problem::internal().into();
        };
        chats::Read::Ok(Json(
            views
                .into_iter()
                .map(|v| LiveVisitor {
                    id: v.id.0,
                    campaign: v.campaign.0,
                    name: v.name,
                    page_url: v.page_url,
                    page_title: v.page_title,
                    referrer: v.referrer,
                    pages: v.pages.into_iter().map(|p| PageSeen { url: p.url, title: p.title, at: p.at }).collect(),
                    visit_started_at: v.visit_started_at,
                    browser: v.client.browser,
                    os: v.client.os,
                    device: v.client.device,
                    language: v.client.language,
                    time_zone: v.client.time_zone,
                    tabs: v.tabs,
                    chat: v.chat.map(|c| c.0),
                    invitation: v.invitation.map(|i| i.outcome.as_str().to_string()),
                })
                .collect(),
        ))
    }
}

pub fn service() -> OpenApiService<(Api, chats::ChatsApi, manage::ManageApi), ()> {
    OpenApiService::new((Api, chats::ChatsApi, manage::ManageApi), "Parley", env!("CARGO_PKG_VERSION")).server("/api")
}
