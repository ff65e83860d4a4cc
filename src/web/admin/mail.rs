//! Mail (owner): whether mail is configured and how it goes, a test mail, and the outbox
//! (pending, sent and failed mails, with the last error) with a retry for failed ones.

use super::{html, see_other};
use crate::domain::mail::{Mail, MailStatus};
use crate::store::mail::MailCounts;
use crate::web::auth::Owner;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::{Layout, Notice};
use crate::web::state::{AppState, now_ms};
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};
use serde::Deserialize;

const PAGE: usize = 50;

pub struct Row {
    pub mail: Mail,
    pub created: String,
    pub done: String,
    pub next: String,
    pub retryable: bool,
}

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct MailPage {
    l: Layout,
    /// The server and sender, when configured.
    server: Option<(String, String)>,
    counts: MailCounts,
    status: String,
    rows: Vec<Row>,
    /// The id to page on from, when there are more.
    more: Option<u64>,
    test_to: String,
    /// The test mail's outcome: (sent, what the server said).
    test: Option<(bool, String)>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MailQuery {
    status: String,
    before: Option<u64>,
    ok: Option<String>,
}

fn page(
    p: &crate::web::auth::Principal,
    csrf: &CsrfToken,
    state: &AppState,
    q: &MailQuery,
) -> Result<MailPage, WebError> {
    let status = match q.status.as_str() {
        "pending" => Some(MailStatus::Pending),
        "sent" => Some(MailStatus::Sent),
        "failed" => Some(MailStatus::Failed),
        _ => None,
    };
    let mut mails = state.store.mails(status, q.before, PAGE + 1)?;
    let more = (mails.len() > PAGE).then(|| mails[PAGE - 1].id);
    mails.truncate(PAGE);
    let rows = mails
        .into_iter()
        .map(|m| Row {
            created: crate::domain::utc(m.created_at),
            done: m.done_at.map(crate::domain::utc).unwrap_or_default(),
            next: if m.status == MailStatus::Pending { crate::domain::utc(m.next_at) } else { String::new() },
            retryable: m.clone().retry(0),
            mail: m,
        })
        .collect();
    let notice = Notice { ok: q.ok.clone() };
    Ok(MailPage {
        l: Layout::new("Mail", csrf, Some(p)).tab("mail").notice(&notice),
        server: state.config.mail.as_ref().map(|m| (m.server(), format!("{} <{}>", m.from_name, m.from))),
        counts: state.store.mail_counts()?,
        status: status.map(|s| s.code().to_string()).unwrap_or_default(),
        rows,
        more,
        test_to: p.user.email.clone(),
        test: None,
    })
}

#[handler]
pub fn show(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Query(q): Query<MailQuery>,
) -> Result<Response, WebError> {
    html(&page(&p, &csrf, &state, &q)?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TestForm {
    to: String,
}

/// Send a test mail at once and show the server's answer.
#[handler]
pub async fn test(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    HtmlForm(form): HtmlForm<TestForm>,
) -> Result<Response, WebError> {
    let mut pg = page(&p, &csrf, &state, &MailQuery::default())?;
    pg.test_to = form.to.trim().to_string();
    let outcome = match crate::mail::send_test(&state.config, form.to.trim()).await {
        Ok(answer) => (true, answer),
        Err(e) => (false, e.message),
    };
    tracing::info!(to = %pg.test_to, sent = outcome.0, answer = %outcome.1, "test mail from the mail page");
    pg.test = Some(outcome);
    html(&pg)
}

#[handler]
pub async fn retry(Owner(_p): Owner, state: Data<&AppState>, Path(id): Path<u64>) -> Result<Response, WebError> {
    // A mail that cannot be retried answers 400 with the reason (`WebError` from the conflict).
    state.store.retry_mail(id, now_ms()).await?;
    state.mail_queued();
    Ok(see_other("/admin/mail?ok=retry"))
}
