//! Cross-site transfer groups (owner): sets of at least two sites whose agents may transfer
//! chats to each other. A site may be in several groups.

use super::{back_to_list, conflict_to_form, html, html_invalid, see_other};
use crate::domain::forms::GroupForm;
use crate::domain::ids::GroupId;
use crate::domain::model::{Group, Site};
use crate::domain::validate::FormErrors;
use crate::web::auth::{Owner, Principal};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::Layout;
use crate::web::layout::Notice;
use crate::web::list::{ListQuery, Paged};
use crate::web::state::AppState;
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};

pub struct GroupRow {
    pub group: Group,
    pub site_names: String,
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    l: Layout,
    list: Paged<GroupRow>,
}

fn site_name(sites: &[Site], id: crate::domain::ids::SiteId) -> String {
    sites.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_default()
}

#[handler]
pub fn list(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let sites = state.store.list_sites()?;
    let rows = state
        .store
        .list_groups()?
        .into_iter()
        .map(|g| GroupRow {
            site_names: g.sites.iter().map(|s| site_name(&sites, *s)).collect::<Vec<_>>().join(", "),
            group: g,
        })
        .collect();
    let list = Paged::new(rows, &q, "/admin/groups", |r| vec![r.group.name.as_str(), r.site_names.as_str()]);
    let notice = Notice { ok: q.ok.clone() };
    html(&GroupsPage { l: Layout::new("Cross-site groups", &csrf, Some(&p)).tab("groups").notice(&notice), list })
}

#[derive(Template)]
#[template(path = "admin/group_form.html")]
struct GroupFormPage {
    l: Layout,
    id: Option<u64>,
    form: GroupForm,
    sites: Vec<Site>,
    errors: FormErrors,
}

impl GroupFormPage {
    fn chosen(&self, site: &Site) -> bool {
        self.form.sites.contains(&site.id.0)
    }
}

fn form_page(
    p: &Principal,
    csrf: &CsrfToken,
    state: &AppState,
    id: Option<u64>,
    form: GroupForm,
    errors: FormErrors,
) -> Result<GroupFormPage, WebError> {
    let title = if id.is_some() { "Edit cross-site group" } else { "New cross-site group" };
    Ok(GroupFormPage {
        l: Layout::new(title, csrf, Some(p)).tab("groups"),
        id,
        form,
        sites: state.store.list_sites()?,
        errors,
    })
}

#[handler]
pub fn new_page(Owner(p): Owner, csrf: CsrfToken, state: Data<&AppState>) -> Result<Response, WebError> {
    html(&form_page(&p, &csrf, &state, None, GroupForm::default(), FormErrors::default())?)
}

#[handler]
pub fn edit_page(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(id): Path<u64>,
) -> Result<Response, WebError> {
    let g = state.store.get_group(GroupId(id))?;
    let form = GroupForm { name: g.name, sites: g.sites.iter().map(|s| s.0).collect() };
    html(&form_page(&p, &csrf, &state, Some(id), form, FormErrors::default())?)
}

async fn save(
    p: Principal,
    csrf: CsrfToken,
    state: &AppState,
    id: Option<u64>,
    form: GroupForm,
) -> Result<Response, WebError> {
    let result = match form.validate() {
        Ok(d) => state.store.save_group(id.map(GroupId), d).await.map_err(conflict_to_form),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => Ok(back_to_list("/admin/groups", id)),
        Err(errors) => html_invalid(&form_page(&p, &csrf, state, id, form, errors?)?),
    }
}

#[handler]
pub async fn create(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    HtmlForm(form): HtmlForm<GroupForm>,
) -> Result<Response, WebError> {
    save(p, csrf, &state, None, form).await
}

#[handler]
pub async fn update(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(id): Path<u64>,
    HtmlForm(form): HtmlForm<GroupForm>,
) -> Result<Response, WebError> {
    state.store.get_group(GroupId(id))?;
    save(p, csrf, &state, Some(id), form).await
}

#[handler]
pub async fn delete(Owner(_p): Owner, state: Data<&AppState>, Path(id): Path<u64>) -> Result<Response, WebError> {
    state.store.delete_group(GroupId(id)).await?;
    Ok(see_other("/admin/groups?ok=deleted"))
}
