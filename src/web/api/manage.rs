//! Creating, changing and deleting a site's people, departments, campaigns and canned replies
//! (provisioning). Each request fills the admin page's form and goes through its validation
//! and store call, so the rules, the error messages (as RFC 9457 problems, field by field) and
//! the live switchboard's update are the pages' own. A change names only the fields it
//! changes; a creation starts from the new-item form's defaults.

use super::chats::{Read, Write};
use super::{Agent, Caller, Campaign, Canned, Department, Problem, Refusal, refusal};
use crate::domain::forms::{CannedForm, DepartmentForm, UserForm};
use crate::domain::ids::{CampaignId, CannedId, DepartmentId, UserId};
use crate::domain::model::{Department as StoredDepartment, User};
use crate::domain::validate::FormErrors;
use crate::store::SiteStore;
use crate::web::admin::{agents, campaigns};
use crate::web::state::{AppState, now_ms};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

/// The answer of a deletion.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_delete")]
pub enum Deleted {
    /// Deleted.
    #[oai(status = 204)]
    Done,
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No live token or session.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// The caller may read the site but not change it.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// Still in use (for example a department campaigns send chats to), with the reason.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The token's 300 requests a minute are spent.
    #[oai(status = 429, content_type = "application/problem+json")]
    RateLimited(Json<Problem>, #[oai(header = "Retry-After")] u64),
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

fn bad_delete(e: poem::Error) -> Deleted {
    match refusal(e) {
        Refusal::BadRequest(p) => Deleted::BadRequest(Json(p)),
        Refusal::Unauthorized(p) => Deleted::Unauthorized(Json(p)),
        Refusal::RateLimited(p, wait) => Deleted::RateLimited(Json(p), wait),
    }
}

impl From<Problem> for Deleted {
    fn from(p: Problem) -> Deleted {
        match p.status {
            400 => Deleted::BadRequest(Json(p)),
            403 => Deleted::Forbidden(Json(p)),
            404 => Deleted::NotFound(Json(p)),
            409 => Deleted::Conflict(Json(p)),
            _ => Deleted::Internal(Json(p)),
        }
    }
}

/// A form's outcome as an answer: the stored item (200, or 201 when created), the form's
/// errors (422), or the store's refusal.
fn answer<T: poem_openapi::types::ToJSON + Send + Sync>(
    created: bool,
    r: Result<Result<T, FormErrors>, Problem>,
) -> Write<T> {
    match r {
        Ok(Ok(v)) if created => Write::Created(Json(v)),
        Ok(Ok(v)) => Write::Ok(Json(v)),
        Ok(Err(errors)) => Problem::invalid(errors).into(),
        Err(p) => p.into(),
    }
}

/// A store call that may refuse with a field's conflict: that conflict is the form's error.
fn form_result<T>(r: Result<T, crate::store::StoreError>) -> Result<Result<T, FormErrors>, Problem> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(crate::store::StoreError::Conflict { field, message }) => Ok(Err(FormErrors::single(field, message))),
        Err(e) => Err(Problem::of_store(e)),
    }
}

// ---- people ----

/// An agent or site admin to create, or the fields to change.
#[derive(Object)]
pub struct PersonIn {
    /// Required when creating.
    pub name: Option<String>,
    /// Required when creating; unique in the organization.
    pub email: Option<String>,
    /// `agent` (default) or `admin`.
    pub role: Option<String>,
    pub skills: Option<Vec<String>>,
    /// Chats at once, 1 to 50 (default 5).
    pub max_chats: Option<u32>,
    /// May sign in and take chats (default true). False signs them out.
    pub active: Option<bool>,
    /// The site's departments they belong to (all of them: the list replaces the old one).
    pub departments: Option<Vec<u64>>,
    /// Only when creating: the first password (at least 10 characters). Without it, with mail
    /// configured, the person is invited by mail to choose one; without mail it is required.
    #[oai(write_only)]
    pub password: Option<String>,
}

impl PersonIn {
    fn apply(self, f: &mut UserForm) {
        if let Some(v) = self.name {
            f.name = v;
        }
        if let Some(v) = self.email {
            f.email = v;
        }
        if let Some(v) = self.role {
            f.role = v;
        }
        if let Some(v) = self.skills {
            f.skills = v.join(", ");
        }
        if let Some(v) = self.max_chats {
            f.max_chats = v.to_string();
        }
        if let Some(v) = self.active {
            f.active = v.then(|| "on".into());
        }
        if let Some(v) = self.departments {
            f.departments = v;
        }
        if let Some(v) = self.password {
            f.password_confirm = v.clone();
            f.password = v;
        }
    }
}

fn agent_of(u: User, depts: &[StoredDepartment]) -> Agent {
    Agent {
        departments: depts.iter().filter(|d| d.members.contains(&u.id)).map(|d| d.id.0).collect(),
        id: u.id.0,
        name: u.name,
        email: u.email,
        role: u.role.as_str().into(),
        skills: u.skills,
        max_chats: u.max_chats,
        active: u.active,
    }
}

async fn store_person(
    state: &AppState,
    scope: &SiteStore,
    id: Option<u64>,
    form: UserForm,
) -> Result<Result<Agent, FormErrors>, Problem> {
    let stored = agents::store_user(state, scope, id, &form).await.map_err(|e| {
        tracing::error!(error = %e, "an API request could not store a person");
        Problem::internal()
    })?;
    let depts = scope.departments().map_err(Problem::of_store)?;
    Ok(stored.map(|(u, _)| agent_of(u, &depts)))
}

/// The person of `id` in this site, as their form.
fn person_form(scope: &SiteStore, id: u64) -> Result<UserForm, Problem> {
    let u = scope.user(UserId(id)).map_err(Problem::of_store)?;
    let depts = scope.departments().map_err(Problem::of_store)?;
    Ok(agents::form_of(&u, &depts))
}

/// A person may not disable their own account (the page's rule too).
fn not_self(auth: &Caller, id: u64, form: &UserForm) -> Result<(), Problem> {
    match auth {
        Caller::Session(s) if s.0.user.id.0 == id && !form.is_active() => {
            Err(Problem::invalid(FormErrors::single("active", "You cannot disable your own account.")))
        }
        _ => Ok(()),
    }
}

// ---- departments ----

/// A department to create, or the fields to change.
#[derive(Object)]
pub struct DepartmentIn {
    /// Required when creating; unique in the site.
    pub name: Option<String>,
    /// `round_robin` (default) or `least_busy`.
    pub rule: Option<String>,
    /// Its members, people of the site (the list replaces the old one).
    pub members: Option<Vec<u64>>,
}

fn department_of(d: StoredDepartment) -> Department {
    Department {
        id: d.id.0,
        name: d.name,
        rule: d.rule.as_str().into(),
        members: d.members.iter().map(|m| m.0).collect(),
    }
}

// ---- campaigns ----

/// A pre-chat form field.
#[derive(Object)]
pub struct PrechatFieldIo {
    /// Lower-case letters, digits and `_`; `name` and `email` are the visitor's name and email.
    pub key: String,
    pub label: String,
    /// `text`, `email`, `phone` or `textarea`.
    pub kind: String,
    pub required: bool,
}

/// A campaign with everything its admin page edits.
#[derive(Object)]
pub struct CampaignFull {
    pub id: u64,
    pub name: String,
    /// `en`, `fr` or `de`.
    pub language: String,
    /// The system messages (empty: the language's default).
    pub greeting: String,
    pub queue: String,
    pub transfer: String,
    pub offline: String,
    /// The chat window's title, colour (`#rrggbb`) and side (`left` or `right`).
    pub title: String,
    pub color: String,
    pub position: String,
    pub prechat: Vec<PrechatFieldIo>,
    /// The survey after the chat: on, its question, and whether it asks for a comment.
    pub postchat_enabled: bool,
    pub postchat_question: String,
    pub postchat_comment: bool,
    /// Where new chats go; absent: any agent of the site.
    #[oai(skip_serializing_if_is_none)]
    pub department: Option<u64>,
    /// Tell the visitor when they are transferred.
    pub notify_transfer: bool,
    /// `disabled`, `with_invite` or `without_invite`.
    pub proactive_mode: String,
    /// Seconds on a page before proactive chat starts, 0 to 3600.
    pub proactive_after_secs: u32,
    /// URL patterns, one per line (`*` matches anything); empty: every page.
    pub proactive_url_rules: String,
    pub invitation_text: String,
    /// Minutes before a visitor who refused is invited again (0: never), 0 to 1440.
    pub reinvite_after_mins: u32,
}

/// A campaign to create, or the fields to change (see `CampaignFull` for each).
#[derive(Object)]
pub struct CampaignIn {
    /// Required when creating.
    pub name: Option<String>,
    pub language: Option<String>,
    pub greeting: Option<String>,
    pub queue: Option<String>,
    pub transfer: Option<String>,
    pub offline: Option<String>,
    pub title: Option<String>,
    pub color: Option<String>,
    pub position: Option<String>,
    /// The whole pre-chat form (replaces the old one).
    pub prechat: Option<Vec<PrechatFieldIo>>,
    pub postchat_enabled: Option<bool>,
    pub postchat_question: Option<String>,
    pub postchat_comment: Option<bool>,
    /// A department of the site; 0: any agent.
    pub department: Option<u64>,
    pub notify_transfer: Option<bool>,
    pub proactive_mode: Option<String>,
    pub proactive_after_secs: Option<u32>,
    pub proactive_url_rules: Option<String>,
    pub invitation_text: Option<String>,
    pub reinvite_after_mins: Option<u32>,
}

impl CampaignIn {
    fn apply(self, f: &mut crate::domain::forms::CampaignForm) {
        let on = |b: bool| b.then(|| "on".to_string());
        let texts = [
            (self.name, &mut f.name),
            (self.language, &mut f.language),
            (self.greeting, &mut f.greeting),
            (self.queue, &mut f.queue),
            (self.transfer, &mut f.transfer),
            (self.offline, &mut f.offline),
            (self.title, &mut f.title),
            (self.color, &mut f.color),
            (self.position, &mut f.position),
            (self.postchat_question, &mut f.postchat_question),
            (self.proactive_mode, &mut f.proactive_mode),
            (self.proactive_url_rules, &mut f.proactive_url_rules),
            (self.invitation_text, &mut f.invitation_text),
        ];
        for (given, field) in texts {
            if let Some(v) = given {
                *field = v;
            }
        }
        if let Some(fields) = self.prechat {
            f.field_key = fields.iter().map(|x| x.key.clone()).collect();
            f.field_label = fields.iter().map(|x| x.label.clone()).collect();
            f.field_kind = fields.iter().map(|x| x.kind.clone()).collect();
            f.field_required = fields.iter().map(|x| if x.required { "yes" } else { "no" }.to_string()).collect();
        }
        if let Some(v) = self.postchat_enabled {
            f.postchat_enabled = on(v);
        }
        if let Some(v) = self.postchat_comment {
            f.postchat_comment = on(v);
        }
        if let Some(v) = self.notify_transfer {
            f.notify_transfer = on(v);
        }
        if let Some(v) = self.department {
            f.department = if v == 0 { String::new() } else { v.to_string() };
        }
        if let Some(v) = self.proactive_after_secs {
            f.proactive_after_secs = v.to_string();
        }
        if let Some(v) = self.reinvite_after_mins {
            f.reinvite_after_mins = v.to_string();
        }
    }
}

fn campaign_of(c: crate::domain::model::Campaign) -> CampaignFull {
    CampaignFull {
        id: c.id.0,
        language: c.language.code().into(),
        greeting: c.messages.greeting.unwrap_or_default(),
        queue: c.messages.queue.unwrap_or_default(),
        transfer: c.messages.transfer.unwrap_or_default(),
        offline: c.messages.offline.unwrap_or_default(),
        title: c.style.title,
        color: c.style.color,
        position: if c.style.position == crate::domain::model::WindowPosition::Left { "left" } else { "right" }.into(),
        prechat: c
            .prechat
            .into_iter()
            .map(|f| PrechatFieldIo { key: f.key, label: f.label, kind: f.kind.as_str().into(), required: f.required })
            .collect(),
        postchat_enabled: c.postchat.enabled,
        postchat_question: c.postchat.question,
        postchat_comment: c.postchat.comment,
        department: c.department.map(|d| d.0),
        notify_transfer: c.notify_transfer,
        proactive_mode: c.proactive.mode.as_str().into(),
        proactive_after_secs: c.proactive.after_secs,
        proactive_url_rules: c.proactive.url_rules.join("\n"),
        invitation_text: c.proactive.invitation_text,
        reinvite_after_mins: c.proactive.reinvite_after_mins,
        name: c.name,
    }
}

// ---- canned replies ----

/// A canned reply to create, or the fields to change.
#[derive(Object)]
pub struct CannedIn {
    /// Required when creating: lower-case letters, digits, `-` and `_` (a leading `/` is
    /// dropped); unique in the site.
    pub shortcut: Option<String>,
    /// Required when creating.
    pub text: Option<String>,
}

impl CannedIn {
    fn apply(self, f: &mut CannedForm) {
        if let Some(v) = self.shortcut {
            f.shortcut = v;
        }
        if let Some(v) = self.text {
            f.text = v;
        }
    }
}

fn canned_of(c: crate::domain::proactive::CannedReply) -> Canned {
    Canned { id: c.id.0, shortcut: c.shortcut, text: c.text, updated_at: c.updated_at }
}

/// The site `auth` may change, or the problem.
macro_rules! writable {
    ($auth:expr, $state:expr, $site:expr) => {
        match $auth.writable(&$state, $site) {
            Ok(s) => s,
            Err(p) => return p.into(),
        }
    };
}

/// The site `auth` may read, or 404.
macro_rules! readable {
    ($auth:expr, $state:expr, $site:expr) => {
        match $auth.readable(&$state, $site) {
            Some(s) => s,
            None => return Problem::not_found().into(),
        }
    };
}

pub struct ManageApi;

#[OpenApi]
impl ManageApi {
    /// The agents and site admins of a site.
    #[oai(path = "/v1/sites/:site/agents", method = "get")]
    async fn people(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> Read<Vec<Agent>> {
        let scope = readable!(auth, state, site.0);
        match (scope.users(), scope.departments()) {
            (Ok(users), Ok(depts)) => Read::Ok(Json(users.into_iter().map(|u| agent_of(u, &depts)).collect())),
            (Err(e), _) | (_, Err(e)) => Problem::of_store(e).into(),
        }
    }

    /// The departments of a site.
    #[oai(path = "/v1/sites/:site/departments", method = "get")]
    async fn departments(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> Read<Vec<Department>> {
        let scope = readable!(auth, state, site.0);
        match scope.departments() {
            Ok(list) => Read::Ok(Json(list.into_iter().map(department_of).collect())),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// The campaigns of a site (the main fields; one campaign's route has them all).
    #[oai(path = "/v1/sites/:site/campaigns", method = "get")]
    async fn campaigns(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> Read<Vec<Campaign>> {
        let scope = readable!(auth, state, site.0);
        match scope.campaigns() {
            Ok(list) => Read::Ok(Json(
                list.into_iter()
                    .map(|c| Campaign {
                        id: c.id.0,
                        name: c.name,
                        language: c.language.code().into(),
                        department: c.department.map(|d| d.0),
                        proactive_mode: c.proactive.mode.as_str().into(),
                    })
                    .collect(),
            )),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// The canned replies of a site, by shortcut (agents of the site may read them).
    #[oai(path = "/v1/sites/:site/canned", method = "get")]
    async fn canned(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>) -> Read<Vec<Canned>> {
        let scope = readable!(auth, state, site.0);
        match scope.canned_replies() {
            Ok(list) => Read::Ok(Json(list.into_iter().map(canned_of).collect())),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// Create an agent or site admin: with a first password, or invited by mail to choose one.
    #[oai(path = "/v1/sites/:site/agents", method = "post")]
    async fn create_person(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        body: Json<PersonIn>,
    ) -> Write<Agent> {
        let scope = writable!(auth, state, site.0);
        let mut form = UserForm::blank();
        body.0.apply(&mut form);
        answer(true, store_person(&state, &scope, None, form).await)
    }

    /// One agent or site admin.
    #[oai(path = "/v1/sites/:site/agents/:id", method = "get")]
    async fn person(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>, id: Path<u64>) -> Read<Agent> {
        let scope = readable!(auth, state, site.0);
        match (scope.user(UserId(id.0)), scope.departments()) {
            (Ok(u), Ok(depts)) => Read::Ok(Json(agent_of(u, &depts))),
            (Err(e), _) | (_, Err(e)) => Problem::of_store(e).into(),
        }
    }

    /// Change an agent or site admin: only the fields given.
    #[oai(path = "/v1/sites/:site/agents/:id", method = "patch")]
    async fn update_person(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        id: Path<u64>,
        body: Json<PersonIn>,
    ) -> Write<Agent> {
        let scope = writable!(auth, state, site.0);
        let mut form = match person_form(&scope, id.0) {
            Ok(f) => f,
            Err(p) => return p.into(),
        };
        if body.0.password.is_some() {
            let e = FormErrors::single("password", "A password is set on the person's page, or by themselves.");
            return Problem::invalid(e).into();
        }
        body.0.apply(&mut form);
        if let Err(p) = not_self(&auth, id.0, &form) {
            return p.into();
        }
        answer(false, store_person(&state, &scope, Some(id.0), form).await)
    }

    /// Remove an agent or site admin: their account is disabled (they are signed out, can no
    /// longer sign in and take no chats); their name stays on the chats they had. `PATCH`
    /// with `"active": true` brings them back.
    #[oai(path = "/v1/sites/:site/agents/:id", method = "delete")]
    async fn delete_person(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>, id: Path<u64>) -> Deleted {
        let scope = writable!(auth, state, site.0);
        let mut form = match person_form(&scope, id.0) {
            Ok(f) => f,
            Err(p) => return p.into(),
        };
        form.active = None;
        if let Err(p) = not_self(&auth, id.0, &form) {
            return Problem { status: 409, title: "Conflict".into(), code: "conflict".into(), ..p }.into();
        }
        match store_person(&state, &scope, Some(id.0), form).await {
            Ok(Ok(_)) => Deleted::Done,
            Ok(Err(e)) => Problem::invalid(e).into(),
            Err(p) => p.into(),
        }
    }

    /// Create a department.
    #[oai(path = "/v1/sites/:site/departments", method = "post")]
    async fn create_department(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        body: Json<DepartmentIn>,
    ) -> Write<Department> {
        let scope = writable!(auth, state, site.0);
        let form = DepartmentForm { rule: "round_robin".into(), ..Default::default() };
        answer(true, save_department(&scope, None, form, body.0).await)
    }

    /// One department.
    #[oai(path = "/v1/sites/:site/departments/:id", method = "get")]
    async fn department(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        id: Path<u64>,
    ) -> Read<Department> {
        let scope = readable!(auth, state, site.0);
        match scope.department(DepartmentId(id.0)) {
            Ok(d) => Read::Ok(Json(department_of(d))),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// Change a department: only the fields given.
    #[oai(path = "/v1/sites/:site/departments/:id", method = "patch")]
    async fn update_department(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        id: Path<u64>,
        body: Json<DepartmentIn>,
    ) -> Write<Department> {
        let scope = writable!(auth, state, site.0);
        let d = match scope.department(DepartmentId(id.0)) {
            Ok(d) => d,
            Err(e) => return Problem::of_store(e).into(),
        };
        let form = DepartmentForm {
            name: d.name,
            rule: d.rule.as_str().into(),
            members: d.members.iter().map(|m| m.0).collect(),
        };
        answer(false, save_department(&scope, Some(id.0), form, body.0).await)
    }

    /// Delete a department (refused while campaigns send chats to it, or chats wait in it).
    #[oai(path = "/v1/sites/:site/departments/:id", method = "delete")]
    async fn delete_department(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>, id: Path<u64>) -> Deleted {
        let scope = writable!(auth, state, site.0);
        match scope.delete_department(DepartmentId(id.0)).await {
            Ok(()) => Deleted::Done,
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// Create a campaign.
    #[oai(path = "/v1/sites/:site/campaigns", method = "post")]
    async fn create_campaign(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        body: Json<CampaignIn>,
    ) -> Write<CampaignFull> {
        let scope = writable!(auth, state, site.0);
        let mut form = match scope.site() {
            Ok(s) => campaigns::blank(&s),
            Err(e) => return Problem::of_store(e).into(),
        };
        body.0.apply(&mut form);
        answer(true, save_campaign(&scope, None, form).await)
    }

    /// One campaign, with everything its admin page edits.
    #[oai(path = "/v1/sites/:site/campaigns/:id", method = "get")]
    async fn campaign(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        id: Path<u64>,
    ) -> Read<CampaignFull> {
        let scope = readable!(auth, state, site.0);
        match scope.campaign(CampaignId(id.0)) {
            Ok(c) => Read::Ok(Json(campaign_of(c))),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// Change a campaign: only the fields given.
    #[oai(path = "/v1/sites/:site/campaigns/:id", method = "patch")]
    async fn update_campaign(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        id: Path<u64>,
        body: Json<CampaignIn>,
    ) -> Write<CampaignFull> {
        let scope = writable!(auth, state, site.0);
        let mut form = match scope.campaign(CampaignId(id.0)) {
            Ok(c) => campaigns::form_of(&c),
            Err(e) => return Problem::of_store(e).into(),
        };
        body.0.apply(&mut form);
        answer(false, save_campaign(&scope, Some(id.0), form).await)
    }

    /// Delete a campaign (refused for the site's default campaign).
    #[oai(path = "/v1/sites/:site/campaigns/:id", method = "delete")]
    async fn delete_campaign(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>, id: Path<u64>) -> Deleted {
        let scope = writable!(auth, state, site.0);
        match scope.delete_campaign(CampaignId(id.0)).await {
            Ok(()) => Deleted::Done,
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// Create a canned reply.
    #[oai(path = "/v1/sites/:site/canned", method = "post")]
    async fn create_canned(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        body: Json<CannedIn>,
    ) -> Write<Canned> {
        let scope = writable!(auth, state, site.0);
        let mut form = CannedForm::default();
        body.0.apply(&mut form);
        answer(true, save_canned(&scope, None, form).await)
    }

    /// One canned reply.
    #[oai(path = "/v1/sites/:site/canned/:id", method = "get")]
    async fn canned_reply(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>, id: Path<u64>) -> Read<Canned> {
        let scope = readable!(auth, state, site.0);
        match scope.canned_reply(CannedId(id.0)) {
            Ok(c) => Read::Ok(Json(canned_of(c))),
            Err(e) => Problem::of_store(e).into(),
        }
    }

    /// Change a canned reply: only the fields given.
    #[oai(path = "/v1/sites/:site/canned/:id", method = "patch")]
    async fn update_canned(
        &self,
        auth: Caller,
        state: Data<&AppState>,
        site: Path<u64>,
        id: Path<u64>,
        body: Json<CannedIn>,
    ) -> Write<Canned> {
        let scope = writable!(auth, state, site.0);
        let mut form = match scope.canned_reply(CannedId(id.0)) {
            Ok(c) => CannedForm { shortcut: c.shortcut, text: c.text },
            Err(e) => return Problem::of_store(e).into(),
        };
        body.0.apply(&mut form);
        answer(false, save_canned(&scope, Some(id.0), form).await)
    }

    /// Delete a canned reply.
    #[oai(path = "/v1/sites/:site/canned/:id", method = "delete")]
    async fn delete_canned(&self, auth: Caller, state: Data<&AppState>, site: Path<u64>, id: Path<u64>) -> Deleted {
        let scope = writable!(auth, state, site.0);
        match scope.delete_canned_reply(CannedId(id.0)).await {
            Ok(()) => Deleted::Done,
            Err(e) => Problem::of_store(e).into(),
        }
    }
}

async fn save_department(
    scope: &SiteStore,
    id: Option<u64>,
    mut form: DepartmentForm,
    body: DepartmentIn,
) -> Result<Result<Department, FormErrors>, Problem> {
    if let Some(v) = body.name {
        form.name = v;
    }
    if let Some(v) = body.rule {
        form.rule = v;
    }
    if let Some(v) = body.members {
        form.members = v;
    }
    match form.validate() {
        Ok(d) => form_result(scope.save_department(id.map(DepartmentId), d).await.map(department_of)),
        Err(e) => Ok(Err(e)),
    }
}

async fn save_campaign(
    scope: &SiteStore,
    id: Option<u64>,
    form: crate::domain::forms::CampaignForm,
) -> Result<Result<CampaignFull, FormErrors>, Problem> {
    match form.validate() {
        Ok(d) => form_result(scope.save_campaign(id.map(CampaignId), d, now_ms()).await.map(campaign_of)),
        Err(e) => Ok(Err(e)),
    }
}

async fn save_canned(
    scope: &SiteStore,
    id: Option<u64>,
    form: CannedForm,
) -> Result<Result<Canned, FormErrors>, Problem> {
    match form.validate() {
        Ok(d) => form_result(scope.save_canned_reply(id.map(CannedId), d, now_ms()).await.map(canned_of)),
        Err(e) => Ok(Err(e)),
    }
}
