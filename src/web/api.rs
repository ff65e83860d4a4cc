//! The JSON API (OpenAPI 3 document at `/api/openapi.json`). Authenticated by the same session
//! cookie as the pages; site data only through the principal's site scope.

use crate::domain::model::{Role, User};
use crate::web::auth::Principal;
use crate::web::state::AppState;
use poem::Request;
use poem::web::Data;
use poem_openapi::auth::ApiKey;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService, SecurityScheme, param::Path};

/// The session cookie set at sign-in.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "parley_session", key_in = "cookie", checker = "session_checker")]
pub struct Session(Principal);

async fn session_checker(req: &Request, _key: ApiKey) -> Option<Principal> {
    req.extensions().get::<Principal>().cloned()
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
    async fn agents(&self, auth: Session, state: Data<&AppState>, site: Path<u64>) -> ListResponse<Agent> {
        let Some(scope) = readable(&auth.0, &state, site.0) else {
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
    async fn departments(&self, auth: Session, state: Data<&AppState>, site: Path<u64>) -> ListResponse<Department> {
        let Some(Ok(depts)) = readable(&auth.0, &state, site.0).map(|s| s.departments()) else {
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
    async fn campaigns(&self, auth: Session, state: Data<&AppState>, site: Path<u64>) -> ListResponse<Campaign> {
        let Some(Ok(cs)) = readable(&auth.0, &state, site.0).map(|s| s.campaigns()) else {
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
    async fn canned(&self, auth: Session, state: Data<&AppState>, site: Path<u64>) -> ListResponse<Canned> {
        let Some(Ok(replies)) = readable(&auth.0, &state, site.0).map(|s| s.canned_replies()) else {
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
    async fn live_visitors(&self, auth: Session, state: Data<&AppState>, site: Path<u64>) -> ListResponse<LiveVisitor> {
        if readable(&auth.0, &state, site.0).is_none() {
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
