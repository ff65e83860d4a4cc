//! `/console`: the agent console's shell. The page is rendered once (who you are, your site,
//! the warm-transfer timeout, the CSRF token for signing out); everything live comes over
//! `/ws/agent` and is drawn by the console's ES modules (`static/console-*.js`). Site data
//! goes into `data-*` attributes because the CSP allows no inline script.
//! The owner has no site (and so no chats): they are sent to the admin pages.

use crate::web::admin::{html, see_other};
use crate::web::assets::url;
use crate::web::auth::Principal;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::state::AppState;
use askama::Template;
use poem::web::Data;
use poem::{Response, handler};

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    csrf: String,
    name: String,
    site_name: String,
    is_admin: bool,
    warm_timeout_secs: u32,
    /// The entry module; it imports its siblings by relative paths.
    main_js: String,
}

#[handler]
pub fn show(p: Principal, csrf: CsrfToken, state: Data<&AppState>) -> Result<Response, WebError> {
    if p.is_owner() {
        return Ok(see_other("/admin"));
    }
    let site = state.store.get_site(p.user.site)?;
    html(&ConsolePage {
        csrf: csrf.0,
        name: p.user.name.clone(),
        site_name: site.name,
        is_admin: p.user.role == crate::domain::model::Role::Admin,
        warm_timeout_secs: site.transfer.warm_timeout_secs,
        main_js: url("console-main.js"),
    })
}
