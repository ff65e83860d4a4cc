//! A site's visitors, for their data rights: find one by name or email, export everything
//! stored about them as JSON, or erase it.

use super::{html, html_invalid, see_other};
use crate::domain::ids::VisitorId;
use crate::domain::utc;
use crate::domain::validate::FormErrors;
use crate::store::StoreError;
use crate::web::auth::Admin;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::layout::{Layout, Notice};
use crate::web::list::{ListQuery, Paged};
use crate::web::state::AppState;
use askama::Template;
use poem::http::header;
use poem::web::{Data, Path, Query};
use poem::{IntoResponse, Response, handler};

pub struct VisitorRow {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub chats: usize,
}

#[derive(Template)]
#[template(path = "admin/visitors.html")]
struct SearchPage {
    l: Layout,
    site: u64,
    list: Paged<VisitorRow>,
}

#[handler]
pub fn search(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let rows = scope
        .find_visitors(&q.q)?
        .into_iter()
        .map(|(id, name, email, chats)| VisitorRow { id: id.0, name, email, chats })
        .collect();
    // Already matched by name or email; the pager only cuts pages.
    let list =
        Paged::new(rows, &q, format!("/admin/sites/{site}/visitors"), |r| vec![r.name.as_str(), r.email.as_str()]);
    let s = scope.site()?;
    let notice = Notice { ok: q.ok.clone() };
    html(&SearchPage {
        l: Layout::new("Visitors", &csrf, Some(&p)).in_site(&s).tab("visitors").notice(&notice),
        site,
        list,
    })
}

pub struct ChatLine {
    pub id: u64,
    pub when: String,
    pub agent: String,
    pub messages: usize,
}

#[derive(Template)]
#[template(path = "admin/visitor.html")]
struct VisitorPage {
    l: Layout,
    site: u64,
    id: u64,
    name: String,
    email: String,
    since: String,
    chats: Vec<ChatLine>,
    left: usize,
    errors: FormErrors,
}

fn page(
    p: &crate::web::auth::Principal,
    csrf: &CsrfToken,
    state: &AppState,
    site: u64,
    id: u64,
    errors: FormErrors,
) -> Result<VisitorPage, WebError> {
    let scope = p.admin_scope(state, site)?;
    let data = scope.visitor_data(VisitorId(id))?;
    let s = scope.site()?;
    let latest = data
        .chats
        .iter()
        .rev()
        .find(|(c, _)| !c.info.name.is_empty() || !c.info.email.is_empty())
        .map(|(c, _)| &c.info);
    let chats = data
        .chats
        .iter()
        .map(|(c, events)| ChatLine {
            id: c.id.0,
            when: utc(c.created_at),
            agent: c.agent().map(|a| a.to_string()).unwrap_or_else(|| "—".into()),
            messages: events
                .iter()
                .filter(|e| matches!(e.kind, crate::domain::chat::EventKind::Message { .. }))
                .count(),
        })
        .collect();
    Ok(VisitorPage {
        l: Layout::new(format!("Visitor {id}"), csrf, Some(p)).in_site(&s).tab("visitors"),
        site,
        id,
        name: latest
            .map(|i| i.name.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| data.left_messages.last().map(|m| m.name.clone()))
            .unwrap_or_default(),
        email: latest
            .map(|i| i.email.clone())
            .filter(|e| !e.is_empty())
            .or_else(|| data.left_messages.last().map(|m| m.email.clone()))
            .unwrap_or_default(),
        since: utc(data.visitor.created_at),
        chats,
        left: data.left_messages.len(),
        errors,
    })
}

#[handler]
pub fn show(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    html(&page(&p, &csrf, &state, site, id, FormErrors::default())?)
}

#[handler]
pub fn export(
    Admin(p): Admin,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let data = scope.visitor_data(VisitorId(id))?;
    let json = data.export_json()?;
    Ok(json
        .with_content_type("application/json")
        .with_header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"visitor-{site}-{id}.json\""))
        .into_response())
}

#[handler]
pub async fn erase(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    match scope.erase_visitor(VisitorId(id)).await {
        Ok(n) => {
            tracing::info!(site, visitor = id, chats = n, "visitor data erased");
            Ok(see_other(format!("/admin/sites/{site}/visitors?ok=erased")))
        }
        Err(StoreError::Conflict { message, .. }) => {
            html_invalid(&page(&p, &csrf, &state, site, id, FormErrors::single("erase", message))?)
        }
        Err(e) => Err(e.into()),
    }
}
