//! API tokens: a site's admins make, list and revoke the site's tokens; the owner the
//! organization's (which reach every site). A new token's secret is shown once, on the page
//! that answers its creation; only its hash is kept.

use super::{html, html_invalid, see_other};
use crate::domain::ids::SiteId;
use crate::domain::tokens::{ApiToken, MAX_DAYS, TokenScope};
use crate::domain::validate::{self as v, FormErrors, NAME_MAX};
use crate::web::auth::{Admin, Principal, token_hash};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::{Layout, Notice};
use crate::web::state::{AppState, now_ms, random_hex};
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};
use serde::Deserialize;

pub struct Row {
    pub token: ApiToken,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    l: Layout,
    /// Where the forms post: `/admin/sites/{id}/tokens` or `/admin/tokens`.
    base: String,
    /// The site's name, or none for the organization's tokens.
    site_name: Option<String>,
    rows: Vec<Row>,
    form: TokenForm,
    errors: FormErrors,
    /// The secret of the token just made: shown this once.
    created: Option<(String, String)>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct TokenForm {
    name: String,
    scope: String,
    expires_days: String,
}

fn when(ms: Option<u64>) -> String {
    ms.map(crate::domain::utc).unwrap_or_default()
}

/// The scope of the tokens `p` may manage at `site` (0: the organization, owner only).
fn scope_of(p: &Principal, state: &AppState, site: u64) -> Result<(SiteId, Option<String>, String), WebError> {
    if site == 0 {
        if !p.is_owner() {
            return Err(WebError::NotFound);
        }
        return Ok((SiteId(0), None, "/admin/tokens".into()));
    }
    let s = p.admin_scope(state, site)?.site()?;
    Ok((s.id, Some(s.name), format!("/admin/sites/{site}/tokens")))
}

/// The page with a blank form (callers set the form, errors or new secret to show).
fn page(p: &Principal, csrf: &CsrfToken, state: &AppState, site: u64, notice: &Notice) -> Result<TokensPage, WebError> {
    let (id, site_name, base) = scope_of(p, state, site)?;
    let now = now_ms();
    let rows = state
        .store
        .tokens(id)?
        .into_iter()
        .map(|t| Row {
            created: when(Some(t.created_at)),
            expires: t.expires_at.map(crate::domain::utc).unwrap_or_else(|| "never".into()),
            last_used: t.last_used_at.map(crate::domain::utc).unwrap_or_else(|| "never".into()),
            status: if t.revoked_at.is_some() {
                "revoked"
            } else if !t.live(now) {
                "expired"
            } else {
                "active"
            },
            token: t,
        })
        .collect();
    let mut l = Layout::new("API tokens", csrf, Some(p)).notice(notice);
    l = match (site, &site_name) {
        (0, _) => l.tab("tokens"),
        _ => l.in_site(&state.store.get_site(id)?).tab("tokens"),
    };
    Ok(TokensPage { l, base, site_name, rows, form: blank(), errors: FormErrors::default(), created: None })
}

fn blank() -> TokenForm {
    TokenForm { scope: "read".into(), expires_days: "365".into(), ..Default::default() }
}

#[handler]
pub fn site_list(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    html(&page(&p, &csrf, &state, site, &n)?)
}

#[handler]
pub fn org_list(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    html(&page(&p, &csrf, &state, 0, &n)?)
}

async fn create(
    p: Principal,
    csrf: CsrfToken,
    state: &AppState,
    site: u64,
    form: TokenForm,
) -> Result<Response, WebError> {
    let (id, _, _) = scope_of(&p, state, site)?;
    let mut e = FormErrors::default();
    let name = e.take("name", v::name(&form.name, NAME_MAX));
    let scope = TokenScope::from_code(form.scope.trim());
    if scope.is_none() {
        e.add("scope", "Choose read, or read and write.");
    }
    let days = match form.expires_days.trim() {
        "" | "0" => None,
        d => match v::number(d, 1..=MAX_DAYS) {
            Ok(n) => Some(n),
            Err(_) => {
                e.add("expires_days", format!("A whole number of days from 1 to {MAX_DAYS}, or empty for never."));
                None
            }
        },
    };
    if !e.0.is_empty() {
        let mut pg = page(&p, &csrf, state, site, &Notice::default())?;
        (pg.form, pg.errors) = (form, e);
        return html_invalid(&pg);
    }
    let secret = format!("parley_{}", random_hex(32));
    let now = now_ms();
    let token = ApiToken {
        id: 0,
        site: id,
        name,
        scope: scope.unwrap_or(TokenScope::Read),
        created_at: now,
        created_by: p.user.id,
        prefix: secret[..13].to_string(),
        expires_at: days.map(|d| now + u64::from(d) * 86_400_000),
        last_used_at: None,
        revoked_at: None,
    };
    let token = state.store.create_token(token, token_hash(&secret)).await?;
    tracing::info!(site = id.0, token = token.id, name = %token.name, by = %p.user.email, "API token created");
    let mut pg = page(&p, &csrf, state, site, &Notice::default())?;
    pg.created = Some((token.name, secret));
    html(&pg)
}

#[handler]
pub async fn site_create(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    HtmlForm(form): HtmlForm<TokenForm>,
) -> Result<Response, WebError> {
    create(p, csrf, &state, site, form).await
}

#[handler]
pub async fn org_create(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    HtmlForm(form): HtmlForm<TokenForm>,
) -> Result<Response, WebError> {
    create(p, csrf, &state, 0, form).await
}

async fn revoke(p: Principal, state: &AppState, site: u64, id: u64) -> Result<Response, WebError> {
    let (scope, _, base) = scope_of(&p, state, site)?;
    let t = state.store.revoke_token(scope, id, now_ms()).await?;
    tracing::info!(site = scope.0, token = t.id, name = %t.name, by = %p.user.email, "API token revoked");
    Ok(see_other(format!("{base}?ok=revoked")))
}

#[handler]
pub async fn site_revoke(
    Admin(p): Admin,
    state: Data<&AppState>,
    Path((site, id)): Path<(u64, u64)>,
) -> Result<Response, WebError> {
    revoke(p, &state, site, id).await
}

#[handler]
pub async fn org_revoke(Admin(p): Admin, state: Data<&AppState>, Path(id): Path<u64>) -> Result<Response, WebError> {
    revoke(p, &state, 0, id).await
}
