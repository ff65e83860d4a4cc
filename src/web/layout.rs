//! The frame every page shares: title, the signed-in person, navigation, the CSRF token for
//! forms and a one-line notice after a redirect.

use crate::domain::ids::SiteId;
use crate::domain::model::{Role, Site};
use crate::web::auth::Principal;
use crate::web::csrf::CsrfToken;
use serde::Deserialize;

pub struct Me {
    pub name: String,
    pub role: Role,
    pub site: SiteId,
}

pub struct SiteNav {
    pub id: u64,
    pub name: String,
}

pub struct Layout {
    pub title: String,
    pub csrf: String,
    pub me: Option<Me>,
    pub site: Option<SiteNav>,
    /// Which navigation entry is current: "sites", "groups", "overview", "agents", ...
    pub tab: &'static str,
    pub notice: Option<&'static str>,
}

impl Layout {
    pub fn new(title: impl Into<String>, csrf: &CsrfToken, me: Option<&Principal>) -> Layout {
        Layout {
            title: title.into(),
            csrf: csrf.0.clone(),
            me: me.map(|p| Me { name: p.user.name.clone(), role: p.user.role, site: p.user.site }),
            site: None,
            tab: "",
            notice: None,
        }
    }

    pub fn tab(mut self, tab: &'static str) -> Layout {
        self.tab = tab;
        self
    }

    pub fn in_site(mut self, site: &Site) -> Layout {
        self.site = Some(SiteNav { id: site.id.0, name: site.name.clone() });
        self
    }

    pub fn notice(mut self, n: &Notice) -> Layout {
        self.notice = n.text();
        self
    }

    pub fn is_owner(&self) -> bool {
        self.me.as_ref().is_some_and(|m| m.role == Role::Owner)
    }

    pub fn is_admin(&self) -> bool {
        self.me.as_ref().is_some_and(|m| matches!(m.role, Role::Owner | Role::Admin))
    }

    pub fn current(&self, tab: &str) -> &'static str {
        if self.tab == tab { "page" } else { "false" }
    }
}

/// `?ok=...` after a redirect: a fixed set of codes, so no text is reflected from the URL.
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    pub ok: Option<String>,
}

impl Notice {
    pub fn text(&self) -> Option<&'static str> {
        Some(match self.ok.as_deref()? {
            "created" => "Created.",
            "saved" => "Saved.",
            "deleted" => "Deleted.",
            "password" => "Password changed. Every other session of this account has been signed out.",
            "reset" => "Password set. That person's sessions have been signed out.",
            "backup" => "Backup made.",
            "erased" => "The visitor's data was erased.",
            "invited" => "Created. An invitation with a link to choose a password is on its way.",
            "reinvited" => "A new invitation is on its way; earlier links no longer work.",
            "retry" => "The mail will be tried again now.",
            "revoked" => "The token is revoked: it no longer works.",
            "handled" => "Marked handled.",
            "paused" => "Paused: nothing is posted until you resume it; its events wait.",
            "resumed" => "Resumed: what waited is being sent.",
            "test" => "A test event is on its way: see the log below.",
            "redeliver" => "The delivery will be tried again now.",
            "unhandled" => "Marked as still to handle.",
            "password_set" => "Your new password is set, and every other session is signed out. Sign in with it.",
            _ => return None,
        })
    }
}
