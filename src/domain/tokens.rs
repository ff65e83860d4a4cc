//! API tokens: what an integration (a CRM, a help desk, a script) authenticates with on the
//! JSON API instead of a browser's session. A token belongs to one site, or to the whole
//! organization (made by the owner); only a hash of its secret is stored.

use super::Millis;
use super::ids::{SiteId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    Read,
    ReadWrite,
}

impl TokenScope {
    pub fn code(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::ReadWrite => "read_write",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TokenScope::Read => "Read",
            TokenScope::ReadWrite => "Read and write",
        }
    }

    pub fn from_code(s: &str) -> Option<TokenScope> {
        [TokenScope::Read, TokenScope::ReadWrite].into_iter().find(|t| t.code() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: u64,
    /// The site it reaches; site 0: every site of the organization (an owner's token).
    pub site: SiteId,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: Millis,
    pub created_by: UserId,
    /// The first characters of the secret, to tell tokens apart (`parley_1a2b…`).
    pub prefix: String,
    #[serde(default)]
    pub expires_at: Option<Millis>,
    #[serde(default)]
    pub last_used_at: Option<Millis>,
    #[serde(default)]
    pub revoked_at: Option<Millis>,
}

impl ApiToken {
    /// Usable at `now`: not revoked, not expired.
    pub fn live(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    /// Reaches `site`'s data.
    pub fn reaches(&self, site: SiteId) -> bool {
        self.site.0 == 0 || self.site == site
    }
}

/// Requests one token may make a minute; more get 429 with `Retry-After`.
pub const REQUESTS_PER_MINUTE: u32 = 300;

/// The longest a token may be made to last, in days (or it never expires).
pub const MAX_DAYS: u32 = 3650;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_live_until_revoked_or_expired_and_reaches_its_site_or_all() {
        let mut t = ApiToken {
            id: 1,
            site: SiteId(2),
            name: "CRM".into(),
            scope: TokenScope::Read,
            created_at: 0,
            created_by: UserId(1),
            prefix: "parley_ab".into(),
            expires_at: Some(100),
            last_used_at: None,
            revoked_at: None,
        };
        assert!(t.live(99) && !t.live(100));
        assert!(t.reaches(SiteId(2)) && !t.reaches(SiteId(3)));
        t.expires_at = None;
        t.revoked_at = Some(5);
        assert!(!t.live(6));
        t.site = SiteId(0);
        assert!(t.reaches(SiteId(3)));
    }
}
