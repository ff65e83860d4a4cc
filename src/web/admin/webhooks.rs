//! A site's webhooks: its admins add endpoints with the events they want, see each endpoint's
//! delivery log (status, response code, time, retries), send a test, pause and resume, rotate
//! the signing secret, retry a delivery that was given up, and delete the endpoint. A secret is
//! shown once, when it is made.

use super::{html, html_invalid, see_other};
use crate::domain::validate::FormErrors;
use crate::domain::webhooks::{Delivery, Endpoint, EndpointForm, EventType};
use crate::store::SiteStore;
use crate::store::webhooks::EndpointDraft;
use crate::web::auth::{Admin, Principal};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::{Layout, Notice};
use crate::web::state::{AppState, now_ms, random_hex};
use crate::webhooks::when;
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};
use serde::Deserialize;

/// An endpoint as the list shows it.
pub struct Row {
    pub endpoint: Endpoint,
    pub events: String,
    pub last_success: String,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct ListPage {
    l: Layout,
    base: String,
    rows: Vec<Row>,
    form: EndpointForm,
    errors: FormErrors,
    all_events: [EventType; 8],
    /// May endpoints be on private addresses (`[webhooks] allow_private_targets`).
    private_ok: bool,
}

impl ListPage {
    fn checked(&self, e: &EventType) -> bool {
        self.form.events.iter().any(|c| c == e.code())
    }
}

/// A delivery as the log shows it.
pub struct LogRow {
    pub d: Delivery,
    pub created: String,
    pub last_attempt: String,
    pub next: String,
    pub code: String,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct EndpointPage {
    l: Layout,
    base: String,
    endpoint: Endpoint,
    form: EndpointForm,
    errors: FormErrors,
    all_events: [EventType; 8],
    log: Vec<LogRow>,
    /// The secret just made or rotated: shown this once.
    secret: Option<String>,
    failing_since: String,
    paused_at: String,
    /// `[webhooks] retry_secs`, `give_up_hours` and `pause_after_hours`, as the page says them.
    retry_secs: u64,
    give_up_hours: u64,
    pause_after_hours: u64,
}

impl EndpointPage {
    fn checked(&self, e: &EventType) -> bool {
        self.form.events.iter().any(|c| c == e.code())
    }
}

fn form_of(p: &Endpoint) -> EndpointForm {
    EndpointForm {
        url: p.url.clone(),
        description: p.description.clone(),
        events: p.events.iter().map(|e| e.code().to_string()).collect(),
    }
}

fn new_secret() -> String {
    format!("whsec_{}", random_hex(32))
}

fn list_page(
    p: &Principal,
    csrf: &CsrfToken,
    state: &AppState,
    scope: &SiteStore,
    n: &Notice,
) -> Result<ListPage, WebError> {
    let site = scope.site()?;
    let rows = scope
        .webhooks()?
        .into_iter()
        .map(|e| Row {
            events: e.events.iter().map(|t| t.code()).collect::<Vec<_>>().join(", "),
            last_success: when(e.last_success_at),
            endpoint: e,
        })
        .collect();
    Ok(ListPage {
        l: Layout::new("Webhooks", csrf, Some(p)).in_site(&site).tab("webhooks").notice(n),
        base: format!("/admin/sites/{}/webhooks", site.id),
        rows,
        form: EndpointForm::default(),
        errors: FormErrors::default(),
        all_events: EventType::ALL,
        private_ok: state.config.webhooks.allow_private_targets,
    })
}

fn endpoint_page(
    p: &Principal,
    csrf: &CsrfToken,
    state: &AppState,
    scope: &SiteStore,
    endpoint: Endpoint,
    n: &Notice,
) -> Result<EndpointPage, WebError> {
    let site = scope.site()?;
    let log = scope
        .deliveries(endpoint.id, None, 50)?
        .into_iter()
        .map(|d| LogRow {
            created: when(Some(d.created_at)),
            last_attempt: when(d.last_attempt_at),
            next: if d.status == crate::domain::webhooks::DeliveryStatus::Pending && endpoint.paused_at.is_none() {
                when(Some(d.next_at))
            } else {
                "—".into()
            },
            code: d.last_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into()),
            d,
        })
        .collect();
    Ok(EndpointPage {
        l: Layout::new("Webhook", csrf, Some(p)).in_site(&site).tab("webhooks").notice(n),
        base: format!("/admin/sites/{}/webhooks/{}", site.id, endpoint.id),
        form: form_of(&endpoint),
        errors: FormErrors::default(),
        all_events: EventType::ALL,
        log,
        secret: None,
        failing_since: when(endpoint.failing_since),
        paused_at: when(endpoint.paused_at),
        retry_secs: state.config.webhooks.retry_ms / 1000,
        give_up_hours: state.config.webhooks.give_up_ms / 3_600_000,
        pause_after_hours: state.config.webhooks.pause_after_ms / 3_600_000,
        endpoint,
    })
}

#[handler]
pub fn list(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    html(&list_page(&p, &csrf, &state, &scope, &n)?)
}

#[handler]
pub async fn create(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    HtmlForm(form): HtmlForm<EndpointForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    match form.validate(state.config.webhooks.allow_private_targets) {
        Ok((url, description, events)) => {
            let secret = new_secret();
            let e = scope.create_webhook(EndpointDraft { url, description, events }, secret.clone(), now_ms()).await?;
            tracing::info!(site, endpoint = e.id, url = %e.url, by = %p.user.email, "webhook endpoint added");
            let mut page = endpoint_page(&p, &csrf, &state, &scope, e, &Notice::default())?;
            page.secret = Some(secret);
            html(&page)
        }
        Err(errors) => {
            let mut page = list_page(&p, &csrf, &state, &scope, &Notice::default())?;
            (page.form, page.errors) = (form, errors);
            html_invalid(&page)
        }
    }
}

#[handler]
pub fn show(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let e = scope.webhook(id)?;
    html(&endpoint_page(&p, &csrf, &state, &scope, e, &n)?)
}

#[handler]
pub async fn update(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    HtmlForm(form): HtmlForm<EndpointForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let e = scope.webhook(id)?;
    match form.validate(state.config.webhooks.allow_private_targets) {
        Ok((url, description, events)) => {
            scope.update_webhook(id, Some(EndpointDraft { url, description, events }), None).await?;
            Ok(see_other(format!("/admin/sites/{site}/webhooks/{id}?ok=saved")))
        }
        Err(errors) => {
            let mut page = endpoint_page(&p, &csrf, &state, &scope, e, &Notice::default())?;
            (page.form, page.errors) = (form, errors);
            html_invalid(&page)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PauseForm {
    /// `1`: pause; anything else: resume.
    pub paused: String,
}

#[handler]
pub async fn pause(
    Admin(p): Admin,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
    HtmlForm(form): HtmlForm<PauseForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let paused = form.paused == "1";
    scope.set_webhook_paused(id, paused, now_ms()).await?;
    let ok = if paused { "paused" } else { "resumed" };
    Ok(see_other(format!("/admin/sites/{site}/webhooks/{id}?ok={ok}")))
}

#[handler]
pub async fn test(
    Admin(p): Admin,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    scope.test_webhook(id, now_ms()).await?;
    Ok(see_other(format!("/admin/sites/{site}/webhooks/{id}?ok=test")))
}

#[handler]
pub async fn rotate(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let secret = new_secret();
    let e = scope.update_webhook(id, None, Some(secret.clone())).await?;
    tracing::info!(site, endpoint = id, by = %p.user.email, "webhook secret rotated");
    let mut page = endpoint_page(&p, &csrf, &state, &scope, e, &Notice::default())?;
    page.secret = Some(secret);
    html(&page)
}

#[handler]
pub async fn delete(
    Admin(p): Admin,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    scope.delete_webhook(id).await?;
    tracing::info!(site, endpoint = id, by = %p.user.email, "webhook endpoint deleted");
    Ok(see_other(format!("/admin/sites/{site}/webhooks?ok=deleted")))
}

#[handler]
pub async fn retry(
    Admin(p): Admin,
    state: Data<&AppState>,
    Path((site, id, delivery)): Path<(u64, u64, u64)>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    scope.retry_delivery(id, delivery, now_ms()).await?;
    Ok(see_other(format!("/admin/sites/{site}/webhooks/{id}?ok=redeliver")))
}
