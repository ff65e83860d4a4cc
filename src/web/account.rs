//! "Your account": who you are, and changing your own password (which signs out every other
//! session of the account; this browser gets a fresh session).

use crate::domain::forms::PasswordForm;
use crate::domain::validate::FormErrors;
use crate::web::admin::{html, html_invalid};
use crate::web::auth::{Principal, hash_password, start_session, verify_password};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::{Layout, Notice};
use crate::web::state::AppState;
use askama::Template;
use poem::http::{StatusCode, header};
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    p: Principal,
    site_name: Option<String>,
    errors: FormErrors,
}

fn page(
    p: Principal,
    csrf: &CsrfToken,
    state: &AppState,
    errors: FormErrors,
    n: &Notice,
) -> Result<AccountPage, WebError> {
    let site_name = state.store.get_site(p.user.site).ok().map(|s| s.name);
    Ok(AccountPage { l: Layout::new("Your account", csrf, Some(&p)).tab("account").notice(n), p, site_name, errors })
}

#[handler]
pub fn show(
    p: Principal,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    html(&page(p, &csrf, &state, FormErrors::default(), &n)?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChangePassword {
    current: String,
    password: String,
    password_confirm: String,
}

#[handler]
pub async fn change_password(
    p: Principal,
    csrf: CsrfToken,
    state: Data<&AppState>,
    HtmlForm(form): HtmlForm<ChangePassword>,
) -> Result<Response, WebError> {
    if !verify_password(form.current.clone(), Some(p.user.password_hash.clone())).await {
        return html_invalid(&page(
            p,
            &csrf,
            &state,
            FormErrors::single("current", "This is not your current password."),
            &Notice::default(),
        )?);
    }
    let new = PasswordForm { password: form.password, password_confirm: form.password_confirm };
    let pw = match new.validate() {
        Ok(pw) => pw,
        Err(e) => return html_invalid(&page(p, &csrf, &state, e, &Notice::default())?),
    };
    let hash = hash_password(pw).await?;
    let user = state.store.set_password(p.user.site, p.user.id, hash).await?;
    let cookie = start_session(&state, &user).await?;
    Ok(Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, "/account?ok=password")
        .header(header::SET_COOKIE, cookie)
        .finish())
}
