//! Sites (owner): list, create, rename, delete with confirmation; and each site's overview.

use super::{conflict_to_form, html, html_invalid, see_other};
use crate::domain::forms::NameForm;
use crate::domain::ids::SiteId;
use crate::domain::model::{Group, Role, Site, User};
use crate::domain::validate::FormErrors;
use crate::web::auth::{Admin, Owner};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::{Layout, Notice};
use crate::web::list::{ListQuery, Paged};
use crate::web::state::{AppState, now_ms};
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};

pub struct SiteRow {
    pub site: Site,
    pub people: usize,
}

#[derive(Template)]
#[template(path = "admin/sites.html")]
struct SitesPage {
    l: Layout,
    list: Paged<SiteRow>,
}

#[handler]
pub fn list(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let mut rows = Vec::new();
    for site in state.store.list_sites()? {
        let people = state.store.site(site.id).users()?.len();
        rows.push(SiteRow { site, people });
    }
    let list = Paged::new(rows, &q, "/admin/sites", |r| vec![r.site.name.as_str()]);
    let notice = Notice { ok: q.ok.clone() };
    html(&SitesPage { l: Layout::new("Sites", &csrf, Some(&p)).tab("sites").notice(&notice), list })
}

#[derive(Template)]
#[template(path = "admin/site_new.html")]
struct NewSitePage {
    l: Layout,
    form: NameForm,
    errors: FormErrors,
}

#[handler]
pub fn new_page(Owner(p): Owner, csrf: CsrfToken) -> Result<Response, WebError> {
    html(&NewSitePage {
        l: Layout::new("New site", &csrf, Some(&p)).tab("sites"),
        form: NameForm::default(),
        errors: FormErrors::default(),
    })
}

#[handler]
pub async fn create(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    HtmlForm(form): HtmlForm<NameForm>,
) -> Result<Response, WebError> {
    let result = match form.validate() {
        Ok(name) => state.store.create_site(name, now_ms()).await.map_err(conflict_to_form),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(site) => Ok(see_other(format!("/admin/sites/{}?ok=created", site.id))),
        Err(errors) => html_invalid(&NewSitePage {
            l: Layout::new("New site", &csrf, Some(&p)).tab("sites"),
            form,
            errors: errors?,
        }),
    }
}

#[derive(Template)]
#[template(path = "admin/site.html")]
struct OverviewPage {
    l: Layout,
    site: Site,
    admins: Vec<User>,
    agents: usize,
    departments: usize,
    campaigns: usize,
    cross_site_campaign: Option<String>,
    groups: Vec<Group>,
    rename: NameForm,
    errors: FormErrors,
}

fn overview(
    p: &crate::web::auth::Principal,
    csrf: &CsrfToken,
    state: &AppState,
    id: u64,
    rename_form: Option<NameForm>,
    errors: FormErrors,
    notice: &Notice,
) -> Result<OverviewPage, WebError> {
    let scope = p.admin_scope(state, id)?;
    let site = scope.site()?;
    let users = scope.users()?;
    let campaigns = scope.campaigns()?;
    let cross =
        site.cross_site_campaign(&campaigns).and_then(|c| campaigns.iter().find(|x| x.id == c)).map(|c| c.name.clone());
    let groups = state.store.list_groups()?.into_iter().filter(|g| g.sites.contains(&site.id)).collect();
    Ok(OverviewPage {
        l: Layout::new(site.name.clone(), csrf, Some(p)).in_site(&site).tab("overview").notice(notice),
        admins: users.iter().filter(|u| u.role == Role::Admin).cloned().collect(),
        agents: users.len(),
        departments: scope.departments()?.len(),
        campaigns: campaigns.len(),
        cross_site_campaign: cross,
        groups,
        rename: rename_form.unwrap_or(NameForm { name: site.name.clone() }),
        site,
        errors,
    })
}

#[handler]
pub fn show(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(id): Path<u64>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    html(&overview(&p, &csrf, &state, id, None, FormErrors::default(), &n)?)
}

#[handler]
pub async fn rename(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(id): Path<u64>,
    HtmlForm(form): HtmlForm<NameForm>,
) -> Result<Response, WebError> {
    p.admin_scope(&state, id)?;
    let result = match form.validate() {
        Ok(name) => state.store.rename_site(SiteId(id), name).await.map_err(conflict_to_form),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => Ok(see_other(format!("/admin/sites/{id}?ok=saved"))),
        Err(errors) => html_invalid(&overview(&p, &csrf, &state, id, Some(form), errors?, &Notice::default())?),
    }
}

#[derive(serde::Deserialize)]
pub struct EnabledForm {
    enabled: String,
}

/// Turn the site's live chat on or off (the owner): widgets of a site turned off show nothing.
#[handler]
pub async fn set_enabled(
    Owner(p): Owner,
    state: Data<&AppState>,
    Path(id): Path<u64>,
    HtmlForm(form): HtmlForm<EnabledForm>,
) -> Result<Response, WebError> {
    p.admin_scope(&state, id)?;
    let enabled = match form.enabled.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(WebError::BadRequest("enabled is yes or no".into())),
    };
    state.store.set_site_enabled(SiteId(id), enabled).await?;
    Ok(see_other(format!("/admin/sites/{id}?ok=saved")))
}

#[derive(Template)]
#[template(path = "admin/site_delete.html")]
struct DeletePage {
    l: Layout,
    site: Site,
    people: usize,
    groups_ending: Vec<Group>,
    error: Option<&'static str>,
}

fn delete_page_for(
    p: &crate::web::auth::Principal,
    csrf: &CsrfToken,
    state: &AppState,
    id: u64,
    error: Option<&'static str>,
) -> Result<DeletePage, WebError> {
    let scope = p.admin_scope(state, id)?;
    let site = scope.site()?;
    Ok(DeletePage {
        l: Layout::new(format!("Delete {}", site.name), csrf, Some(p)).in_site(&site).tab("overview"),
        people: scope.users()?.len(),
        groups_ending: state.store.groups_ending_with_site(site.id)?,
        site,
        error,
    })
}

#[handler]
pub fn delete_page(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(id): Path<u64>,
) -> Result<Response, WebError> {
    html(&delete_page_for(&p, &csrf, &state, id, None)?)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    confirm_name: String,
}

#[handler]
pub async fn delete(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(id): Path<u64>,
    HtmlForm(form): HtmlForm<ConfirmForm>,
) -> Result<Response, WebError> {
    let site = p.admin_scope(&state, id)?.site()?;
    if form.confirm_name.trim() != site.name {
        return html_invalid(&delete_page_for(
            &p,
            &csrf,
            &state,
            id,
            Some("Type the site's name exactly to confirm."),
        )?);
    }
    state.store.delete_site(site.id).await?;
    tracing::info!(site = %site.id, name = %site.name, "site deleted");
    Ok(see_other("/admin/sites?ok=deleted"))
}
