//! Messages visitors left when nobody could chat, newest first.

use super::html;
use crate::domain::chat::LeftMessage;
use crate::domain::utc;
use crate::web::auth::Admin;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::layout::Layout;
use crate::web::list::{ListQuery, Paged};
use crate::web::state::AppState;
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};

pub struct MessageRow {
    pub msg: LeftMessage,
    /// "2026-11-22 14:05 UTC"
    pub when: String,
}

#[derive(Template)]
#[template(path = "admin/messages.html")]
struct ListPage {
    l: Layout,
    list: Paged<MessageRow>,
}

#[handler]
pub fn list(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let mut rows: Vec<MessageRow> =
        scope.left_messages()?.into_iter().map(|m| MessageRow { when: utc(m.at), msg: m }).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.msg.at));
    let list = Paged::new(rows, &q, format!("/admin/sites/{site}/messages"), |r| {
        vec![r.msg.name.as_str(), r.msg.email.as_str(), r.msg.text.as_str()]
    });
    let site = scope.site()?;
    html(&ListPage { l: Layout::new("Messages left", &csrf, Some(&p)).in_site(&site).tab("messages"), list })
}
