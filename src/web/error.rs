//! The web layer's one error type and the one place it becomes an HTTP response: an error page
//! in the site's style, a redirect to sign-in, or 500 with a reference that is also logged.

use crate::store::StoreError;
use askama::Template;
use poem::error::ResponseError;
use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    /// Not signed in: go to the sign-in page, then back to `next`.
    #[error("sign-in required")]
    SignIn { next: String },
    #[error("csrf")]
    Csrf,
    /// Not signed in, where a redirect makes no sense (sockets, scripts).
    #[error("unauthorized")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is too large")]
    TooLarge,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => WebError::NotFound,
            StoreError::Conflict { message, .. } => WebError::BadRequest(message),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    reference: Option<&'a str>,
}

impl ResponseError for WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Forbidden(_) | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::SignIn { .. } => StatusCode::SEE_OTHER,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        let status = self.status();
        if let WebError::SignIn { next } = self {
            let to = format!(
                "/login?next={}",
                serde_html_form::to_string([("n", next)]).unwrap_or_default().trim_start_matches("n=")
            );
            return Response::builder().status(status).header(header::LOCATION, to).finish();
        }
        let reference = match self {
            WebError::Internal(detail) => {
                let r = crate::web::state::random_hex(6);
                tracing::error!(reference = %r, "{detail}");
                Some(r)
            }
            _ => None,
        };
        let (title, message) = match self {
            WebError::NotFound => {
                ("Not found", "There is nothing here. It may have been deleted, or the address is wrong.")
            }
            WebError::Forbidden(why) => ("Not allowed", *why),
            WebError::Csrf => (
                "Form expired",
                "This form has expired or was sent from another page. Go back, reload the page and send it again.",
            ),
            WebError::BadRequest(m) => ("Cannot do that", m.as_str()),
            WebError::TooLarge => ("Too large", "What you sent is larger than this server accepts."),
            WebError::Internal(_) => {
                ("Something went wrong", "The server could not complete this request. It has been logged.")
            }
            WebError::SignIn { .. } | WebError::Unauthorized => ("Sign in", "Sign in first."),
        };
        let page = ErrorPage { status: status.as_u16(), title, message, reference: reference.as_deref() };
        let body = page.render().unwrap_or_else(|_| message.to_string());
        body.with_content_type("text/html; charset=utf-8").with_status(status).into_response()
    }
}
