//! Messages visitors left when nobody could chat, newest first; each is marked handled once
//! someone answered it (here, or through the API), and the list shows those still to handle
//! first.

use super::{html, see_other};
use crate::domain::chat::LeftMessage;
use crate::domain::utc;
use crate::web::auth::Admin;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::{Layout, Notice};
use crate::web::list::{ListQuery, Paged};
use crate::web::state::{AppState, now_ms};
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};
use serde::Deserialize;

pub struct MessageRow {
    pub msg: LeftMessage,
    /// "2026-11-22 14:05 UTC"
    pub when: String,
    /// When it was marked handled, in the same form; empty while unhandled.
    pub handled: String,
}

/// Which messages the page shows.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShowQuery {
    /// `unhandled` (the default), `handled` or `all`.
    pub show: String,
}

#[derive(Template)]
#[template(path = "admin/messages.html")]
struct ListPage {
    l: Layout,
    list: Paged<MessageRow>,
    base: String,
    show: String,
    unhandled: usize,
}

#[handler]
pub fn list(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(q): Query<ListQuery>,
    Query(show): Query<ShowQuery>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let show = match show.show.as_str() {
        "handled" | "all" => show.show,
        _ => "unhandled".to_string(),
    };
    let all = scope.left_messages()?;
    let unhandled = all.iter().filter(|m| m.handled_at.is_none()).count();
    let mut rows: Vec<MessageRow> = all
        .into_iter()
        .filter(|m| match show.as_str() {
            "handled" => m.handled_at.is_some(),
            "all" => true,
            _ => m.handled_at.is_none(),
        })
        .map(|m| MessageRow { when: utc(m.at), handled: m.handled_at.map(utc).unwrap_or_default(), msg: m })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.msg.at));
    let base = format!("/admin/sites/{site}/messages");
    let list = Paged::new(rows, &q, format!("{base}?show={show}"), |r| {
        vec![r.msg.name.as_str(), r.msg.email.as_str(), r.msg.text.as_str()]
    });
    let site = scope.site()?;
    let notice = Notice { ok: q.ok.clone() };
    let l = Layout::new("Messages left", &csrf, Some(&p)).in_site(&site).tab("messages").notice(&notice);
    html(&ListPage { l, list, base, show, unhandled })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HandledForm {
    /// `1`: handled; anything else: back to unhandled.
    pub handled: String,
    /// The list to go back to.
    pub show: String,
}

/// Mark a message handled, or back to unhandled.
#[handler]
pub async fn set_handled(
    Admin(p): Admin,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    HtmlForm(form): HtmlForm<HandledForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let by = (form.handled == "1").then(|| p.user.name.clone());
    let ok = if by.is_some() { "handled" } else { "unhandled" };
    scope.set_message_handled(id, by, now_ms()).await?;
    let show = match form.show.as_str() {
        "handled" | "all" => form.show.as_str(),
        _ => "unhandled",
    };
    Ok(see_other(format!("/admin/sites/{site}/messages?show={show}&ok={ok}")))
}
