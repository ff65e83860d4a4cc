//! The admin pages: the owner's (sites, cross-site groups) and each site's (agents,
//! departments, campaigns, settings). One small handler per action; templates beside them.

pub mod agents;
pub mod backups;
pub mod campaigns;
pub mod canned;
pub mod departments;
pub mod groups;
pub mod mail;
pub mod messages;
pub mod reports;
pub mod settings;
pub mod sites;
pub mod tokens;
pub mod transcripts;
pub mod visitors;
pub mod webhooks;

use crate::domain::validate::FormErrors;
use crate::store::StoreError;
use crate::web::auth::{Admin, home};
use crate::web::error::WebError;
use askama::Template;
use poem::http::StatusCode;
use poem::web::Redirect;
use poem::{IntoResponse, Response, handler};

pub fn html(t: &impl Template) -> Result<Response, WebError> {
    Ok(t.render()?.with_content_type("text/html; charset=utf-8").into_response())
}

/// A form shown again because of errors: 422, with the user's input kept by the caller.
pub fn html_invalid(t: &impl Template) -> Result<Response, WebError> {
    Ok(t.render()?
        .with_content_type("text/html; charset=utf-8")
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

pub fn see_other(to: impl AsRef<str>) -> Response {
    Redirect::see_other(to.as_ref()).into_response()
}

/// After a successful create (`id` None) or update: back to the list, with the notice.
pub fn back_to_list(list: impl std::fmt::Display, id: Option<u64>) -> Response {
    see_other(format!("{list}?ok={}", if id.is_some() { "saved" } else { "created" }))
}

/// Turn a store conflict into form errors (to re-render the form); pass other errors on.
pub fn conflict_to_form(e: StoreError) -> Result<FormErrors, WebError> {
    match e {
        StoreError::Conflict { field, message } => Ok(FormErrors::single(field, message)),
        other => Err(other.into()),
    }
}

/// `/admin`: the owner's sites, or the admin's own site.
#[handler]
pub fn index(Admin(p): Admin) -> Response {
    see_other(home(&p.user))
}
