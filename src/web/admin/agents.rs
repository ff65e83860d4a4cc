//! A site's people: agents and site admins. Create (with a first password), edit (name, email,
//! role, departments, skills, max concurrent chats, active), reset the password. Disabling or
//! resetting ends that person's sessions.

use super::{back_to_list, conflict_to_form, html, html_invalid, see_other};
use crate::domain::forms::{PasswordForm, UserForm};
use crate::domain::ids::UserId;
use crate::domain::model::{Department, Site, User};
use crate::domain::validate::FormErrors;
use crate::store::SiteStore;
use crate::web::auth::{Admin, Principal, hash_password};
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

pub struct AgentRow {
    pub user: User,
    pub departments: String,
    pub skills: String,
}

#[derive(Template)]
#[template(path = "admin/agents.html")]
struct ListPage {
    l: Layout,
    site: Site,
    list: Paged<AgentRow>,
}

fn department_names(depts: &[Department], user: UserId) -> String {
    depts.iter().filter(|d| d.members.contains(&user)).map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
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
    let depts = scope.departments()?;
    let rows = scope
        .users()?
        .into_iter()
        .map(|u| AgentRow { departments: department_names(&depts, u.id), skills: u.skills.join(", "), user: u })
        .collect();
    let list = Paged::new(rows, &q, format!("/admin/sites/{site}/agents"), |r| {
        vec![
            r.user.name.as_str(),
            r.user.email.as_str(),
            r.departments.as_str(),
            r.skills.as_str(),
            r.user.role.label(),
        ]
    });
    let site = scope.site()?;
    let notice = Notice { ok: q.ok.clone() };
    html(&ListPage {
        l: Layout::new("Agents", &csrf, Some(&p)).in_site(&site).tab("agents").notice(&notice),
        site,
        list,
    })
}

#[derive(Template)]
#[template(path = "admin/agent_form.html")]
struct FormPage {
    l: Layout,
    site: Site,
    id: Option<u64>,
    form: UserForm,
    departments: Vec<Department>,
    errors: FormErrors,
    password_errors: FormErrors,
    /// `[mail]` is configured: a new person may be invited instead of given a password.
    mail_on: bool,
    /// The person edited has not chosen a password yet (invited).
    invited: bool,
}

impl FormPage {
    fn in_department(&self, d: &Department) -> bool {
        self.form.departments.contains(&d.id.0)
    }
}

fn form_page(
    p: &Principal,
    csrf: &CsrfToken,
    scope: &SiteStore,
    id: Option<u64>,
    form: UserForm,
    errors: FormErrors,
    mail_on: bool,
) -> Result<FormPage, WebError> {
    let site = scope.site()?;
    let title = if id.is_some() { "Edit person" } else { "New person" };
    Ok(FormPage {
        l: Layout::new(title, csrf, Some(p)).in_site(&site).tab("agents"),
        site,
        id,
        form,
        departments: scope.departments()?,
        errors,
        password_errors: FormErrors::default(),
        mail_on,
        invited: false,
    })
}

pub fn form_of(u: &User, depts: &[Department]) -> UserForm {
    UserForm {
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.as_str().into(),
        skills: u.skills.join(", "),
        max_chats: u.max_chats.to_string(),
        active: u.active.then(|| "on".into()),
        departments: depts.iter().filter(|d| d.members.contains(&u.id)).map(|d| d.id.0).collect(),
        password: String::new(),
        password_confirm: String::new(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    role: String,
}

#[handler]
pub fn new_page(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(q): Query<NewQuery>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let mut form = UserForm::blank();
    if q.role == "admin" {
        form.role = "admin".into();
    }
    html(&form_page(&p, &csrf, &scope, None, form, FormErrors::default(), state.mailer.is_some())?)
}

#[handler]
pub fn edit_page(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let u = scope.user(UserId(id))?;
    let mail_on = state.mailer.is_some();
    let mut page =
        form_page(&p, &csrf, &scope, Some(id), form_of(&u, &scope.departments()?), FormErrors::default(), mail_on)?;
    page.l = page.l.notice(&n);
    page.invited = u.password_hash.is_empty();
    html(&page)
}

/// Validate `form` and store the person: created with the password given, or invited by
/// mail (no password, mail configured), or updated. `Ok(Err(..))`: what to fix in the form
/// (the page's and the API's answer alike). The `bool`: an invitation went out.
pub async fn store_user(
    state: &AppState,
    scope: &SiteStore,
    id: Option<u64>,
    form: &UserForm,
) -> Result<Result<(User, bool), FormErrors>, WebError> {
    let mut d = match form.validate(id.is_none(), state.mailer.is_some()) {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let result = match (id, d.password.take()) {
        (None, None) => {
            // No password given: the person chooses one from the invitation's link.
            let (secret, hash) = new_link_secret();
            let r = scope.invite_user(d, secret, hash, now_ms()).await.map(|u| (u, true));
            state.mail_queued();
            r
        }
        (id, password) => {
            let hash = match password {
                Some(pw) => Some(hash_password(pw).await?),
                None => None,
            };
            scope.save_user(id.map(UserId), d, hash, now_ms()).await.map(|u| (u, false))
        }
    };
    match result {
        Ok(done) => Ok(Ok(done)),
        Err(e) => conflict_to_form(e).map(Err),
    }
}

async fn save(
    p: Principal,
    csrf: CsrfToken,
    state: &AppState,
    scope: SiteStore,
    id: Option<u64>,
    form: UserForm,
) -> Result<Response, WebError> {
    let mail_on = state.mailer.is_some();
    match store_user(state, &scope, id, &form).await? {
        Ok((_, true)) => Ok(see_other(format!("/admin/sites/{}/agents?ok=invited", scope.id()))),
        Ok(_) => Ok(back_to_list(format!("/admin/sites/{}/agents", scope.id()), id)),
        Err(errors) => html_invalid(&form_page(&p, &csrf, &scope, id, form, errors, mail_on)?),
    }
}

#[handler]
pub async fn create(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    HtmlForm(form): HtmlForm<UserForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    save(p, csrf, &state, scope, None, form).await
}

#[handler]
pub async fn update(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    HtmlForm(form): HtmlForm<UserForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    scope.user(UserId(id))?;
    if id == p.user.id.0 && !form.is_active() {
        let errors = FormErrors::single("active", "You cannot disable your own account.");
        return html_invalid(&form_page(&p, &csrf, &scope, Some(id), form, errors, state.mailer.is_some())?);
    }
    save(p, csrf, &state, scope, Some(id), form).await
}

#[handler]
pub async fn set_password(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    HtmlForm(form): HtmlForm<PasswordForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let u = scope.user(UserId(id))?;
    match form.validate() {
        Ok(pw) => {
            let hash = hash_password(pw).await?;
            state.store.set_password(scope.id(), u.id, hash).await?;
            Ok(see_other(format!("/admin/sites/{site}/agents/{id}?ok=reset")))
        }
        Err(e) => {
            let form = form_of(&u, &scope.departments()?);
            let mut page = form_page(&p, &csrf, &scope, Some(id), form, FormErrors::default(), state.mailer.is_some())?;
            page.password_errors = e;
            page.invited = u.password_hash.is_empty();
            html_invalid(&page)
        }
    }
}

/// A new one-time link's secret, and its hash (what the store keeps).
fn new_link_secret() -> (String, [u8; 32]) {
    let secret = crate::web::state::random_hex(32);
    let hash = crate::web::auth::token_hash(&secret);
    (secret, hash)
}

/// Send an invited person who has not chosen a password yet a new invitation.
#[handler]
pub async fn reinvite(
    Admin(p): Admin,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    if state.mailer.is_none() {
        return Err(WebError::BadRequest("Mail is not configured: set a password for this person instead.".into()));
    }
    let (secret, hash) = new_link_secret();
    scope.reinvite_user(UserId(id), secret, hash, now_ms()).await?;
    state.mail_queued();
    Ok(see_other(format!("/admin/sites/{site}/agents/{id}?ok=reinvited")))
}
