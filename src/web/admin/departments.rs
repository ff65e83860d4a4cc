//! A site's departments (queues): name, members, allocation rule.

use super::{back_to_list, conflict_to_form, html, html_invalid, see_other};
use crate::domain::forms::DepartmentForm;
use crate::domain::ids::DepartmentId;
use crate::domain::model::{AllocationRule, Department, Site, User};
use crate::domain::validate::FormErrors;
use crate::store::{SiteStore, StoreError};
use crate::web::auth::{Admin, Principal};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::{Layout, Notice};
use crate::web::list::{ListQuery, Paged};
use crate::web::state::AppState;
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};

pub struct DepartmentRow {
    pub department: Department,
    pub member_names: String,
}

#[derive(Template)]
#[template(path = "admin/departments.html")]
struct ListPage {
    l: Layout,
    site: Site,
    list: Paged<DepartmentRow>,
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
    let users = scope.users()?;
    let name = |id| users.iter().find(|u| u.id == id).map(|u| u.name.clone()).unwrap_or_default();
    let rows = scope
        .departments()?
        .into_iter()
        .map(|d| DepartmentRow {
            member_names: d.members.iter().map(|m| name(*m)).collect::<Vec<_>>().join(", "),
            department: d,
        })
        .collect();
    let list = Paged::new(rows, &q, format!("/admin/sites/{site}/departments"), |r| {
        vec![r.department.name.as_str(), r.member_names.as_str()]
    });
    let site = scope.site()?;
    let notice = Notice { ok: q.ok.clone() };
    html(&ListPage {
        l: Layout::new("Departments", &csrf, Some(&p)).in_site(&site).tab("departments").notice(&notice),
        site,
        list,
    })
}

#[derive(Template)]
#[template(path = "admin/department_form.html")]
struct FormPage {
    l: Layout,
    site: Site,
    id: Option<u64>,
    form: DepartmentForm,
    people: Vec<User>,
    rules: [AllocationRule; 2],
    errors: FormErrors,
}

impl FormPage {
    fn member(&self, u: &User) -> bool {
        self.form.members.contains(&u.id.0)
    }
}

fn form_page(
    p: &Principal,
    csrf: &CsrfToken,
    scope: &SiteStore,
    id: Option<u64>,
    form: DepartmentForm,
    errors: FormErrors,
) -> Result<FormPage, WebError> {
    let site = scope.site()?;
    let title = if id.is_some() { "Edit department" } else { "New department" };
    Ok(FormPage {
        l: Layout::new(title, csrf, Some(p)).in_site(&site).tab("departments"),
        site,
        id,
        form,
        people: scope.users()?,
        rules: AllocationRule::ALL,
        errors,
    })
}

#[handler]
pub fn new_page(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let form = DepartmentForm { rule: AllocationRule::RoundRobin.as_str().into(), ..Default::default() };
    html(&form_page(&p, &csrf, &scope, None, form, FormErrors::default())?)
}

#[handler]
pub fn edit_page(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let d = scope.department(DepartmentId(id))?;
    let form =
        DepartmentForm { name: d.name, rule: d.rule.as_str().into(), members: d.members.iter().map(|m| m.0).collect() };
    html(&form_page(&p, &csrf, &scope, Some(id), form, FormErrors::default())?)
}

async fn save(
    p: Principal,
    csrf: CsrfToken,
    scope: SiteStore,
    id: Option<u64>,
    form: DepartmentForm,
) -> Result<Response, WebError> {
    let result = match form.validate() {
        Ok(d) => scope.save_department(id.map(DepartmentId), d).await.map_err(conflict_to_form),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => Ok(back_to_list(format!("/admin/sites/{}/departments", scope.id()), id)),
        Err(errors) => html_invalid(&form_page(&p, &csrf, &scope, id, form, errors?)?),
    }
}

#[handler]
pub async fn create(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    HtmlForm(form): HtmlForm<DepartmentForm>,
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
    HtmlForm(form): HtmlForm<DepartmentForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    scope.department(DepartmentId(id))?;
    save(p, csrf, scope, Some(id), form).await
}

#[handler]
pub async fn delete(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    match scope.delete_department(DepartmentId(id)).await {
        Ok(()) => Ok(see_other(format!("/admin/sites/{site}/departments?ok=deleted"))),
        Err(StoreError::Conflict { message, .. }) => {
            let d = scope.department(DepartmentId(id))?;
            let form = DepartmentForm {
                name: d.name,
                rule: d.rule.as_str().into(),
                members: d.members.iter().map(|m| m.0).collect(),
            };
            html_invalid(&form_page(&p, &csrf, &scope, Some(id), form, FormErrors::single("delete", message))?)
        }
        Err(e) => Err(e.into()),
    }
}
