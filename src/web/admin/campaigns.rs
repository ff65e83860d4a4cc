//! A site's campaigns: one widget configuration each (language, system messages, window style,
//! pre-chat and post-chat forms, target department, proactive chat).

use super::{back_to_list, conflict_to_form, html, html_invalid, see_other};
use crate::domain::forms::{CampaignForm, FieldRow};
use crate::domain::i18n::{Lang, Message};
use crate::domain::ids::CampaignId;
use crate::domain::model::{Campaign, Department, FieldKind, ProactiveMode, Site, WindowPosition};
use crate::domain::validate::FormErrors;
use crate::store::{SiteStore, StoreError};
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

/// Empty rows offered under the pre-chat fields (save, and three more appear).
const SPARE_ROWS: usize = 3;

pub struct CampaignRow {
    pub campaign: Campaign,
    pub department: String,
    pub is_cross_site_default: bool,
}

#[derive(Template)]
#[template(path = "admin/campaigns.html")]
struct ListPage {
    l: Layout,
    site: Site,
    list: Paged<CampaignRow>,
    public_url: String,
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
    let s = scope.site()?;
    let depts = scope.departments()?;
    let campaigns = scope.campaigns()?;
    let default = s.cross_site_campaign(&campaigns);
    let rows = campaigns
        .into_iter()
        .map(|c| CampaignRow {
            department: c
                .department
                .and_then(|d| depts.iter().find(|x| x.id == d))
                .map(|d| d.name.clone())
                .unwrap_or_else(|| "Any agent".into()),
            is_cross_site_default: Some(c.id) == default,
            campaign: c,
        })
        .collect();
    let list = Paged::new(rows, &q, format!("/admin/sites/{site}/campaigns"), |r| {
        vec![r.campaign.name.as_str(), r.department.as_str()]
    });
    let notice = Notice { ok: q.ok.clone() };
    html(&ListPage {
        l: Layout::new("Campaigns", &csrf, Some(&p)).in_site(&s).tab("campaigns").notice(&notice),
        site: s,
        list,
        public_url: state.config.public_url.clone(),
    })
}

pub struct MessageRow {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub default: &'static str,
}

#[derive(Template)]
#[template(path = "admin/campaign_form.html")]
struct FormPage {
    l: Layout,
    site: Site,
    id: Option<u64>,
    form: CampaignForm,
    rows: Vec<FieldRow>,
    messages: Vec<MessageRow>,
    departments: Vec<Department>,
    langs: [Lang; 3],
    kinds: [FieldKind; 4],
    modes: [ProactiveMode; 3],
    errors: FormErrors,
}

impl FormPage {
    fn dept_chosen(&self, d: &Department) -> bool {
        self.form.department == d.id.0.to_string()
    }
}

fn messages_of(form: &CampaignForm) -> Vec<MessageRow> {
    let lang = Lang::from_code(&form.language).unwrap_or_default();
    Message::ALL
        .into_iter()
        .map(|m| MessageRow {
            key: m.key(),
            label: m.label(),
            value: match m {
                Message::Greeting => form.greeting.clone(),
                Message::Queue => form.queue.clone(),
                Message::Transfer => form.transfer.clone(),
                Message::Offline => form.offline.clone(),
            },
            default: lang.default_message(m),
        })
        .collect()
}

fn form_page(
    p: &Principal,
    csrf: &CsrfToken,
    scope: &SiteStore,
    id: Option<u64>,
    form: CampaignForm,
    errors: FormErrors,
) -> Result<FormPage, WebError> {
    let site = scope.site()?;
    let title = if id.is_some() { "Edit campaign" } else { "New campaign" };
    Ok(FormPage {
        l: Layout::new(title, csrf, Some(p)).in_site(&site).tab("campaigns"),
        site,
        id,
        rows: form.field_rows(SPARE_ROWS),
        messages: messages_of(&form),
        form,
        departments: scope.departments()?,
        langs: Lang::ALL,
        kinds: FieldKind::ALL,
        modes: ProactiveMode::ALL,
        errors,
    })
}

pub fn form_of(c: &Campaign) -> CampaignForm {
    let on = |b: bool| b.then(|| "on".to_string());
    CampaignForm {
        name: c.name.clone(),
        language: c.language.code().into(),
        greeting: c.messages.greeting.clone().unwrap_or_default(),
        queue: c.messages.queue.clone().unwrap_or_default(),
        transfer: c.messages.transfer.clone().unwrap_or_default(),
        offline: c.messages.offline.clone().unwrap_or_default(),
        title: c.style.title.clone(),
        color: c.style.color.clone(),
        position: if c.style.position == WindowPosition::Left { "left".into() } else { "right".into() },
        field_key: c.prechat.iter().map(|f| f.key.clone()).collect(),
        field_label: c.prechat.iter().map(|f| f.label.clone()).collect(),
        field_kind: c.prechat.iter().map(|f| f.kind.as_str().to_string()).collect(),
        field_required: c.prechat.iter().map(|f| if f.required { "yes" } else { "no" }.to_string()).collect(),
        postchat_enabled: on(c.postchat.enabled),
        postchat_question: c.postchat.question.clone(),
        postchat_comment: on(c.postchat.comment),
        department: c.department.map(|d| d.0.to_string()).unwrap_or_default(),
        notify_transfer: on(c.notify_transfer),
        proactive_mode: c.proactive.mode.as_str().into(),
        proactive_after_secs: c.proactive.after_secs.to_string(),
        proactive_url_rules: c.proactive.url_rules.join("\n"),
        invitation_text: c.proactive.invitation_text.clone(),
        reinvite_after_mins: c.proactive.reinvite_after_mins.to_string(),
    }
}

pub fn blank(site: &Site) -> CampaignForm {
    let on = |b: bool| b.then(|| "on".to_string());
    CampaignForm {
        language: "en".into(),
        color: "#2f6fde".into(),
        position: "right".into(),
        postchat_enabled: on(true),
        postchat_comment: on(true),
        notify_transfer: on(site.transfer.notify_visitor),
        proactive_mode: "disabled".into(),
        proactive_after_secs: "30".into(),
        reinvite_after_mins: "0".into(),
        ..Default::default()
    }
}

#[handler]
pub fn new_page(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let form = blank(&scope.site()?);
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
    let c = scope.campaign(CampaignId(id))?;
    html(&form_page(&p, &csrf, &scope, Some(id), form_of(&c), FormErrors::default())?)
}

async fn save(
    p: Principal,
    csrf: CsrfToken,
    scope: SiteStore,
    id: Option<u64>,
    form: CampaignForm,
) -> Result<Response, WebError> {
    let result = match form.validate() {
        Ok(d) => scope.save_campaign(id.map(CampaignId), d, now_ms()).await.map_err(conflict_to_form),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => Ok(back_to_list(format!("/admin/sites/{}/campaigns", scope.id()), id)),
        Err(errors) => html_invalid(&form_page(&p, &csrf, &scope, id, form, errors?)?),
    }
}

#[handler]
pub async fn create(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    HtmlForm(form): HtmlForm<CampaignForm>,
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
    HtmlForm(form): HtmlForm<CampaignForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    scope.campaign(CampaignId(id))?;
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
    match scope.delete_campaign(CampaignId(id)).await {
        Ok(()) => Ok(see_other(format!("/admin/sites/{site}/campaigns?ok=deleted"))),
        Err(StoreError::Conflict { message, .. }) => {
            let c = scope.campaign(CampaignId(id))?;
            html_invalid(&form_page(&p, &csrf, &scope, Some(id), form_of(&c), FormErrors::single("delete", message))?)
        }
        Err(e) => Err(e.into()),
    }
}
