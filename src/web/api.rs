//! The JSON API (OpenAPI 3 document at `/api/openapi.json`). Authenticated by the same session
//! cookie as the pages, or by an API token (`Authorization: Bearer …`, made on a site's or the
//! owner's API tokens page); site data only through the caller's site scope.

use crate::domain::model::{Role, User};
use crate::domain::tokens::{ApiToken, REQUESTS_PER_MINUTE};
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

async fn session_checker(req: &Request, _key: ApiKey) -> Option<Principal> {
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
        let resp = poem::Response::builder()
            .status(poem::http::StatusCode::TOO_MANY_REQUESTS)
            .header(poem::http::header::RETRY_AFTER, wait)
            .content_type("application/json")
            .body(r#"{"code":"rate_limited","message":"Too many requests with this token: wait, then try again."}"#);
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

/// Who calls: a signed-in person (their session cookie) or an API token.
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
}

#[derive(Object)]
struct ApiError {
    /// Stable machine-readable code.
    code: String,
    message: String,
}

fn not_found() -> Json<ApiError> {
    Json(ApiError { code: "not_found".into(), message: "No such object.".into() })
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
    /// Open widgets (tabs).
    tabs: u32,
    /// Their open chat.
    chat: Option<u64>,
    /// Their latest invitation's outcome this visit: `pending`, `accepted`, `refused`, `ignored`.
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
enum MeResponse {
    #[oai(status = 200)]
    Ok(Json<Me>),
}

#[derive(ApiResponse)]
enum ListResponse<T: poem_openapi::types::ToJSON + Send + Sync> {
    #[oai(status = 200)]
    Ok(Json<Vec<T>>),
    /// No such site, or not yours.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
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

    /// The agents and site admins of a site.
    #[oai(path = "/v1/sites/:site/agents", method = "get")]
    async fn agents(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> ListResponse<Agent> {
        let Some(scope) = auth.readable(&state, site.0) else {
            return ListResponse::NotFound(not_found());
        };
        let (Ok(users), Ok(depts)) = (scope.users(), scope.departments()) else {
            return ListResponse::NotFound(not_found());
        };
        ListResponse::Ok(Json(
            users
                .into_iter()
                .map(|u| Agent {
                    departments: depts.iter().filter(|d| d.members.contains(&u.id)).map(|d| d.id.0).collect(),
                    id: u.id.0,
                    name: u.name,
                    email: u.email,
                    role: u.role.as_str().into(),
                    skills: u.skills,
                    max_chats: u.max_chats,
                    active: u.active,
                })
                .collect(),
        ))
    }

    /// The departments of a site.
    #[oai(path = "/v1/sites/:site/departments", method = "get")]
    async fn departments(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> ListResponse<Department> {
        let Some(Ok(depts)) = auth.readable(&state, site.0).map(|s| s.departments()) else {
            return ListResponse::NotFound(not_found());
        };
        ListResponse::Ok(Json(
            depts
                .into_iter()
                .map(|d| Department {
                    id: d.id.0,
                    name: d.name,
                    rule: d.rule.as_str().into(),
                    members: d.members.iter().map(|m| m.0).collect(),
                })
                .collect(),
        ))
    }

    /// The campaigns of a site.
    #[oai(path = "/v1/sites/:site/campaigns", method = "get")]
    async fn campaigns(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> ListResponse<Campaign> {
        let Some(Ok(cs)) = auth.readable(&state, site.0).map(|s| s.campaigns()) else {
            return ListResponse::NotFound(not_found());
        };
        ListResponse::Ok(Json(
            cs.into_iter()
                .map(|c| Campaign {
                    id: c.id.0,
                    name: c.name,
                    language: c.language.code().into(),
                    department: c.department.map(|d| d.0),
                    proactive_mode: c.proactive.mode.as_str().into(),
                })
                .collect(),
        ))
    }

    /// The canned replies of a site, by shortcut (agents of the site may read them).
    #[oai(path = "/v1/sites/:site/canned", method = "get")]
    async fn canned(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> ListResponse<Canned> {
        let Some(Ok(replies)) = auth.readable(&state, site.0).map(|s| s.canned_replies()) else {
            return ListResponse::NotFound(not_found());
        };
        ListResponse::Ok(Json(
            replies
                .into_iter()
                .map(|c| Canned { id: c.id.0, shortcut: c.shortcut, text: c.text, updated_at: c.updated_at })
                .collect(),
        ))
    }
    /// The visitors on a site now, longest on the site first (agents of the site may read it).
    #[oai(path = "/v1/sites/:site/visitors/live", method = "get")]
    async fn live_visitors(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> ListResponse<LiveVisitor> {
        if auth.readable(&state, site.0).is_none() {
            return ListResponse::NotFound(not_found());
        }
        let id = crate::domain::ids::SiteId(site.0);
        let Some(views) = state.realtime.query(move |sb| sb.site_visitors(id)).await else {
            return ListResponse::NotFound(not_found());
        };
        ListResponse::Ok(Json(
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
                    tabs: v.tabs,
                    chat: v.chat.map(|c| c.0),
                    invitation: v.invitation.map(|i| i.outcome.as_str().to_string()),
                })
                .collect(),
        ))
    }
}

pub fn service() -> OpenApiService<Api, ()> {
    OpenApiService::new(Api, "Parley", env!("CARGO_PKG_VERSION")).server("/api")
}
