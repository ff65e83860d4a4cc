//! A site's transfer settings and its default campaign for cross-site transfers.

use super::{conflict_to_form, html, html_invalid, see_other};
use crate::domain::forms::SettingsForm;
use crate::domain::model::{Campaign, Site};
use crate::domain::validate::FormErrors;
use crate::store::SiteStore;
use crate::web::auth::{Admin, Principal};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::HtmlForm;
use crate::web::layout::{Layout, Notice};
use crate::web::state::AppState;
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    l: Layout,
    site: Site,
    form: SettingsForm,
    campaigns: Vec<Campaign>,
    /// The campaign that serves cross-site transfers now (chosen, or the first created).
    serving: Option<String>,
    errors: FormErrors,
    /// `[mail]` is configured.
    mail_on: bool,
}

impl SettingsPage {
    fn languages(&self) -> [crate::domain::i18n::Lang; 3] {
        crate::domain::i18n::Lang::ALL
    }

    fn file_categories(&self) -> [crate::domain::files::FileCategory; 5] {
        crate::domain::files::FileCategory::ALL
    }

    fn allows(&self, c: &crate::domain::files::FileCategory) -> bool {
        self.form.file_types.iter().any(|t| t == c.code())
    }

    fn chosen(&self, c: &Campaign) -> bool {
        self.form.default_campaign == c.id.0.to_string()
    }
}

fn page(
    p: &Principal,
    csrf: &CsrfToken,
    scope: &SiteStore,
    form: Option<SettingsForm>,
    errors: FormErrors,
    notice: &Notice,
    mail_on: bool,
) -> Result<SettingsPage, WebError> {
    let site = scope.site()?;
    let campaigns = scope.campaigns()?;
    let serving = site
        .cross_site_campaign(&campaigns)
        .and_then(|id| campaigns.iter().find(|c| c.id == id))
        .map(|c| c.name.clone());
    let form = form.unwrap_or_else(|| SettingsForm {
        default_campaign: site.default_campaign.map(|c| c.0.to_string()).unwrap_or_default(),
        warm_timeout_secs: site.transfer.warm_timeout_secs.to_string(),
        notify_visitor: site.transfer.notify_visitor.then(|| "on".into()),
        transcript_cross_site: site.transfer.transcript_cross_site.then(|| "on".into()),
        mail_notify: site.mail.notify.join(", "),
        mail_missed_chats: site.mail.missed_chats.then(|| "on".into()),
        mail_language: site.mail.language.code().into(),
        files_enabled: site.files.enabled.then(|| "on".into()),
        file_types: site.files.types.iter().map(|t| t.code().to_string()).collect(),
    });
    Ok(SettingsPage {
        l: Layout::new("Settings", csrf, Some(p)).in_site(&site).tab("settings").notice(notice),
        site,
        form,
        campaigns,
        serving,
        errors,
        mail_on,
    })
}

#[handler]
pub fn show(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    html(&page(&p, &csrf, &scope, None, FormErrors::default(), &n, state.config.mail.is_some())?)
}

#[handler]
pub async fn save(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    HtmlForm(form): HtmlForm<SettingsForm>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let result = match form.validate() {
        Ok(d) => scope.save_settings(d).await.map_err(conflict_to_form),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => Ok(see_other(format!("/admin/sites/{site}/settings?ok=saved"))),
        Err(errors) => html_invalid(&page(
            &p,
            &csrf,
            &scope,
            Some(form),
            errors?,
            &Notice::default(),
            state.config.mail.is_some(),
        )?),
    }
}
