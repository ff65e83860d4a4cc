//! A site's canned replies: a shortcut and a text that agents insert in the console by typing
//! `/shortcut`. Site admins (and the owner) manage them here.

use super::{back_to_list, conflict_to_form, html, html_invalid, see_other};
use crate::domain::forms::CannedForm;
use crate::domain::ids::CannedId;
use crate::domain::model::Site;
use crate::domain::proactive::CannedReply;
use crate::domain::validate::FormErrors;
use crate::store::SiteStore;
use crate::web::auth::{Admin, Principal};
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

/// Characters of a reply's text shown in the list.
const PREVIEW_CHARS: usize = 120;

pub struct CannedRow {
    pub canned: CannedReply,
    pub preview: String,
    pub updated: String,
}

fn preview(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[derive(Template)]
#[template(path = "admin/canned.html")]
struct ListPage {
    l: Layout,
    site: Site,
    list: Paged<CannedRow>,
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
    let rows = scope
        .canned_replies()?
        .into_iter()
        .map(|c| CannedRow { preview: preview(&c.text), updated: crate::domain::utc(c.updated_at), canned: c })
        .collect();
    let list = Paged::new(rows, &q, format!("/admin/sites/{site}/canned"), |r| {
        vec![r.canned.shortcut.as_str(), r.canned.text.as_str()]
    });
    let site = scope.site()?;
    let notice = Notice { ok: q.ok.clone() };
    html(&ListPage {
        l: Layout::new("Canned replies", &csrf, Some(&p)).in_site(&site).tab("canned").notice(&notice),
        site,
        list,
    })
}

#[derive(Template)]
#[template(path = "admin/canned_form.html")]
struct FormPage {
    l: Layout,
    site: Site,
    id: Option<u64>,
    form: CannedForm,
    errors: FormErrors,
}

fn form_page(
    p: &Principal,
    csrf: &CsrfToken,
    scope: &SiteStore,
    id: Option<u64>,
    form: CannedForm,
    errors: FormErrors,
) -> Result<FormPage, WebError> {
    let site = scope.site()?;
    let title = if id.is_some() { "Edit canned reply" } else { "New canned reply" };
    Ok(FormPage { l: Layout::new(title, csrf, Some(p)).in_site(&site).tab("canned"), site, id, form, errors })
}

fn stored_form(scope: &SiteStore, id: u64) -> Result<CannedForm, WebError> {
    let c = scope.canned_reply(CannedId(id))?;
    Ok(CannedForm { shortcut: c.shortcut, text: c.text })
}

#[handler]
pub fn new_page(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    html(&form_page(&p, &csrf, &scope, None, CannedForm::default(), FormErrors::default())?)
}

#[handler]
pub fn edit_page(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let form = stored_form(&scope, id)?;
    html(&form_page(&p, &csrf, &scope, Some(id), form, FormErrors::default())?)
}

async fn save(
    p: Principal,
    csrf: CsrfToken,
    scope: SiteStore,
    id: Option<u64>,
    form: CannedForm,
) -> Result<Response, WebError> {
    let result = match form.validate() {
        Ok(d) => scope.save_canned_reply(id.map(CannedId), d, now_ms()).await.map_err(conflict_to_form),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => Ok(back_to_list(format!("/admin/sites/{}/canned", scope.id()), id)),
        Err(errors) => html_invalid(&form_page(&p, &csrf, &scope, id, form, errors?)?),
    }
}

#[handler]
pub async fn create(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    HtmlForm(form): HtmlForm<CannedForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    save(p, csrf, scope, None, form).await
}

#[handler]
pub async fn update(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    HtmlForm(form): HtmlForm<CannedForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    scope.canned_reply(CannedId(id))?;
    save(p, csrf, scope, Some(id), form).await
}

/// The delete button's form: a box to tick, so one stray click deletes nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    confirm: Option<String>,
}

#[handler]
pub async fn delete(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    HtmlForm(form): HtmlForm<DeleteForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    if form.confirm.as_deref() != Some("yes") {
        let stored = stored_form(&scope, id)?;
        let errors = FormErrors::single("delete", "Tick “Yes, delete it” to confirm.");
        return html_invalid(&form_page(&p, &csrf, &scope, Some(id), stored, errors)?);
    }
    scope.delete_canned_reply(CannedId(id)).await?;
    Ok(see_other(format!("/admin/sites/{site}/canned?ok=deleted")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn previews_are_one_line_and_cut() {
        assert_eq!(super::preview("Hello\n\nthere "), "Hello there");
        let long = "é".repeat(200);
        let p = super::preview(&long);
        assert_eq!(p.chars().count(), super::PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
    }
}
