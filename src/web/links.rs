//! One-time account links: an invited person chooses their first password (`/invite/…`), a
//! person who forgot theirs asks for a link (`/forgot`) and chooses a new one (`/reset/…`).
//! A link works once, for a while (72 hours, one hour), and using it ends every other session
//! of that person. Asking for a reset answers the same whether the address exists or not.

use crate::domain::mail::LinkPurpose;
use crate::domain::model::User;
use crate::domain::validate::{self, FormErrors};
use crate::store::StoreError;
use crate::web::auth::{hash_password, home, redirect_with_cookie, start_session, token_hash};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::{HtmlForm, client_ip};
use crate::web::layout::Layout;
use crate::web::state::{AppState, now_ms, random_hex};
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

fn page(t: &impl Template, status: StatusCode) -> Result<Response, WebError> {
    Ok(t.render()?.with_content_type("text/html; charset=utf-8").with_status(status).into_response())
}

#[derive(Template)]
#[template(path = "choose_password.html")]
struct ChoosePage {
    l: Layout,
    /// "invite" or "reset": the form's action.
    kind: &'static str,
    token: String,
    /// The person, when the link is live.
    user: Option<User>,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    password: String,
    password_confirm: String,
}

fn choose_page(
    csrf: &CsrfToken,
    state: &AppState,
    purpose: LinkPurpose,
    token: String,
    errors: FormErrors,
) -> Result<Response, WebError> {
    let (kind, title) = match purpose {
        LinkPurpose::Invitation => ("invite", "Choose your password"),
        LinkPurpose::Reset => ("reset", "Choose a new password"),
    };
    let live = state.store.account_link(&token_hash(&token), now_ms())?.filter(|(l, _)| l.purpose == purpose);
    let status = match (&live, errors.0.is_empty()) {
        (None, _) => StatusCode::GONE,
        (Some(_), true) => StatusCode::OK,
        (Some(_), false) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let user = live.map(|(_, u)| u);
    page(&ChoosePage { l: Layout::new(title, csrf, None), kind, token, user, errors }, status)
}

async fn choose(
    csrf: CsrfToken,
    state: &AppState,
    purpose: LinkPurpose,
    token: String,
    form: PasswordForm,
) -> Result<Response, WebError> {
    let hash = token_hash(&token);
    if !state.store.account_link(&hash, now_ms())?.is_some_and(|(l, _)| l.purpose == purpose) {
        return choose_page(&csrf, state, purpose, token, FormErrors::default());
    }
    let password = match validate::new_password(&form.password, &form.password_confirm) {
        Ok(p) => p,
        Err(m) => return choose_page(&csrf, state, purpose, token, FormErrors::single("password", m)),
    };
    let phc = hash_password(password).await?;
    let user = match state.store.use_account_link(hash, phc, now_ms()).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return choose_page(&csrf, state, purpose, token, FormErrors::default()),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(email = %user.email, link = ?purpose, "password chosen from a one-time link");
    match purpose {
        // A new person lands where they work: the console (or their admin pages).
        LinkPurpose::Invitation => {
            let cookie = start_session(state, &user).await?;
            Ok(redirect_with_cookie(&home(&user), cookie))
        }
        LinkPurpose::Reset => Ok(Redirect::see_other("/login?ok=password_set").into_response()),
    }
}

#[handler]
pub fn invite_page(csrf: CsrfToken, state: Data<&AppState>, Path(token): Path<String>) -> Result<Response, WebError> {
    choose_page(&csrf, &state, LinkPurpose::Invitation, token, FormErrors::default())
}

#[handler]
pub async fn invite(
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(token): Path<String>,
    HtmlForm(form): HtmlForm<PasswordForm>,
) -> Result<Response, WebError> {
    choose(csrf, &state, LinkPurpose::Invitation, token, form).await
}

#[handler]
pub fn reset_page(csrf: CsrfToken, state: Data<&AppState>, Path(token): Path<String>) -> Result<Response, WebError> {
    choose_page(&csrf, &state, LinkPurpose::Reset, token, FormErrors::default())
}

#[handler]
pub async fn reset(
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(token): Path<String>,
    HtmlForm(form): HtmlForm<PasswordForm>,
) -> Result<Response, WebError> {
    choose(csrf, &state, LinkPurpose::Reset, token, form).await
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    l: Layout,
    mail_on: bool,
    email: String,
    /// The request was taken (the same answer for every address).
    asked: bool,
    errors: FormErrors,
}

#[handler]
pub fn forgot_page(csrf: CsrfToken, state: Data<&AppState>) -> Result<Response, WebError> {
    let l = Layout::new("Forgot your password?", &csrf, None);
    let mail_on = state.mailer.is_some();
    page(&ForgotPage { l, mail_on, email: String::new(), asked: false, errors: FormErrors::default() }, StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

/// Queue a reset link for the address if it is a person's. The answer is the same either way;
/// repeated requests for one address or from one network are throttled like sign-ins (and
/// then quietly not mailed), so nobody can flood a mailbox.
#[handler]
pub async fn forgot(
    csrf: CsrfToken,
    req: &Request,
    state: Data<&AppState>,
    HtmlForm(form): HtmlForm<ForgotForm>,
) -> Result<Response, WebError> {
    let l = Layout::new("Forgot your password?", &csrf, None);
    let mail_on = state.mailer.is_some();
    let email = match validate::email(&form.email) {
        Ok(e) => e,
        Err(m) => {
            let errors = FormErrors::single("email", m);
            let p = ForgotPage { l, mail_on, email: form.email, asked: false, errors };
            return page(&p, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    if mail_on {
        let keys = [
            format!("reset:{email}"),
            format!("reset-ip:{}", client_ip(req, &state).map(|i| i.to_string()).unwrap_or_default()),
        ];
        let allowed = match state.throttle.lock() {
            Ok(mut t) => {
                let now = now_ms();
                let ok = keys.iter().all(|k| t.wait_ms(k, now) == 0);
                for k in &keys {
                    t.failed(k, now);
                }
                ok
            }
            Err(_) => false,
        };
        if allowed {
            let secret = random_hex(32);
            let hash = token_hash(&secret);
            if state.store.request_reset(email.clone(), secret, hash, now_ms()).await? {
                state.mail_queued();
            }
        } else {
            tracing::info!(email = %email, "password reset request throttled");
        }
    }
    page(&ForgotPage { l, mail_on, email, asked: mail_on, errors: FormErrors::default() }, StatusCode::OK)
}
