//! The web layer: the only importer of poem, askama and rust-embed. `routes()` is the whole URL
//! map of Parley in one place.

pub mod account;
pub mod admin;
pub mod api;
pub mod assets;
pub mod auth;
pub mod client_info;
pub mod compress;
pub mod console;
pub mod csrf;
pub mod error;
pub mod files;
pub mod http;
pub mod layout;
pub mod links;
pub mod list;
pub mod metrics;
pub mod ops;
pub mod server;
pub mod state;
pub mod widget;
pub mod ws;

use admin::{
    agents, backups, campaigns, canned, departments, groups, mail, messages, reports, settings, sites, tokens,
    transcripts, visitors, webhooks,
};
use poem::middleware::{CatchPanic, CookieJarManager};
use poem::web::Redirect;
use poem::{Endpoint, EndpointExt, Route, get, handler, post};
use state::AppState;

#[handler]
fn root() -> Redirect {
    Redirect::see_other("/admin")
}

pub fn routes(state: AppState) -> impl Endpoint {
    let api = api::service();
    let spec = api.spec_endpoint();
    const SITE: &str = "/admin/sites/:site<\\d+>";
    let app = Route::new()
        // --- operations ---
        .at("/healthz", get(ops::healthz))
        .at("/readyz", get(ops::readyz))
        .at("/api/local/backup", post(ops::local_backup))
        .at("/metrics", get(ops::metrics))
        .at("/static/:hash/:name", get(assets::serve).head(assets::serve))
        // --- sign-in, first start, own account ---
        .at("/", get(root))
        .at("/login", get(auth::login_page).post(auth::login))
        .at("/logout", post(auth::logout))
        .at("/setup/:token", get(auth::setup_page).post(auth::setup))
        .at("/forgot", get(links::forgot_page).post(links::forgot))
        .at("/invite/:token", get(links::invite_page).post(links::invite))
        .at("/reset/:token", get(links::reset_page).post(links::reset))
        .at("/account", get(account::show))
        .at("/account/password", post(account::change_password))
        .at("/console", get(console::show))
        // --- owner: sites and cross-site groups ---
        .at("/admin", get(admin::index))
        .at("/admin/sites", get(sites::list).post(sites::create))
        .at("/admin/sites/new", get(sites::new_page))
        .at(SITE, get(sites::show))
        .at(format!("{SITE}/rename"), post(sites::rename))
        .at(format!("{SITE}/enabled"), post(sites::set_enabled))
        .at(format!("{SITE}/delete"), get(sites::delete_page).post(sites::delete))
        .at("/admin/groups", get(groups::list).post(groups::create))
        .at("/admin/groups/new", get(groups::new_page))
        .at("/admin/groups/:id<\\d+>", get(groups::edit_page).post(groups::update))
        .at("/admin/groups/:id<\\d+>/delete", post(groups::delete))
        .at("/admin/backups", get(backups::list).post(backups::create))
        .at("/admin/reports", get(reports::organization))
        .at("/admin/backups/:name", get(backups::download))
        .at("/admin/mail", get(mail::show))
        .at("/admin/tokens", get(tokens::org_list).post(tokens::org_create))
        .at("/admin/tokens/:id<\\d+>/revoke", post(tokens::org_revoke))
        .at("/admin/mail/test", post(mail::test))
        .at("/admin/mail/:id<\\d+>/retry", post(mail::retry))
        // --- site admin: people, departments, campaigns, settings ---
        .at(format!("{SITE}/agents"), get(agents::list).post(agents::create))
        .at(format!("{SITE}/agents/new"), get(agents::new_page))
        .at(format!("{SITE}/agents/:id<\\d+>"), get(agents::edit_page).post(agents::update))
        .at(format!("{SITE}/agents/:id<\\d+>/password"), post(agents::set_password))
        .at(format!("{SITE}/agents/:id<\\d+>/invite"), post(agents::reinvite))
        .at(format!("{SITE}/departments"), get(departments::list).post(departments::create))
        .at(format!("{SITE}/departments/new"), get(departments::new_page))
        .at(format!("{SITE}/departments/:id<\\d+>"), get(departments::edit_page).post(departments::update))
        .at(format!("{SITE}/departments/:id<\\d+>/delete"), post(departments::delete))
        .at(format!("{SITE}/canned"), get(canned::list).post(canned::create))
        .at(format!("{SITE}/canned/new"), get(canned::new_page))
        .at(format!("{SITE}/canned/:id<\\d+>"), get(canned::edit_page).post(canned::update))
        .at(format!("{SITE}/canned/:id<\\d+>/delete"), post(canned::delete))
        .at(format!("{SITE}/campaigns"), get(campaigns::list).post(campaigns::create))
        .at(format!("{SITE}/campaigns/new"), get(campaigns::new_page))
        .at(format!("{SITE}/campaigns/:id<\\d+>"), get(campaigns::edit_page).post(campaigns::update))
        .at(format!("{SITE}/campaigns/:id<\\d+>/delete"), post(campaigns::delete))
        .at(format!("{SITE}/settings"), get(settings::show).post(settings::save))
        .at(format!("{SITE}/tokens"), get(tokens::site_list).post(tokens::site_create))
        .at(format!("{SITE}/tokens/:id<\\d+>/revoke"), post(tokens::site_revoke))
        .at(format!("{SITE}/webhooks"), get(webhooks::list).post(webhooks::create))
        .at(format!("{SITE}/webhooks/:id<\\d+>"), get(webhooks::show).post(webhooks::update))
        .at(format!("{SITE}/webhooks/:id<\\d+>/pause"), post(webhooks::pause))
        .at(format!("{SITE}/webhooks/:id<\\d+>/test"), post(webhooks::test))
        .at(format!("{SITE}/webhooks/:id<\\d+>/rotate"), post(webhooks::rotate))
        .at(format!("{SITE}/webhooks/:id<\\d+>/delete"), post(webhooks::delete))
        .at(format!("{SITE}/webhooks/:id<\\d+>/deliveries/:delivery<\\d+>/retry"), post(webhooks::retry))
        .at(format!("{SITE}/messages"), get(messages::list))
        .at(format!("{SITE}/messages/:id<\\d+>/handled"), post(messages::set_handled))
        .at(format!("{SITE}/reports"), get(reports::site))
        .at(format!("{SITE}/chats"), get(transcripts::list))
        .at(format!("{SITE}/chats/:id<\\d+>"), get(transcripts::show))
        .at(format!("{SITE}/visitors"), get(visitors::search))
        .at(format!("{SITE}/visitors/:id<\\d+>"), get(visitors::show))
        .at(format!("{SITE}/visitors/:id<\\d+>/export"), get(visitors::export))
        .at(format!("{SITE}/visitors/:id<\\d+>/erase"), post(visitors::erase))
        // --- real time ---
        .at("/widget.js", get(widget::script).head(widget::script))
        .at("/api/visitor/uploads", post(files::visitor_upload).options(files::preflight))
        .at("/console/uploads", post(files::agent_upload))
        .at("/files/:site<\\d+>/:id<\\d+>/:key/:name", get(files::serve).options(files::preflight))
        .at("/ws/visitor", get(ws::visitor::endpoint))
        .at("/ws/agent", get(ws::agent::endpoint))
        // --- JSON API ---
        .at("/api/openapi.json", spec)
        .nest("/api", api.with(CookieJarManager::new()));
    app.around(csrf::guard)
        .around(auth::load_session)
        .around(ops::headers)
        .with(compress::Compress)
        .with(CatchPanic::new())
        .data(state)
}
