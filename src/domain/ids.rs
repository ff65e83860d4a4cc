//! Newtype identifiers. Each converts to and from `u64` only at the store's table boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A site: one tenant. `SiteId(0)` is the organization itself (where the owner lives).
    SiteId
);
id_type!(
    /// A person who signs in: owner, site admin or agent.
    UserId
);
id_type!(
    /// A department (queue) of a site.
    DepartmentId
);
id_type!(
    /// A campaign: one widget configuration of a site.
    CampaignId
);
id_type!(
    /// A cross-site transfer group.
    GroupId
);

id_type!(
    /// A chat: one conversation between a visitor and the site's agents.
    ChatId
);
id_type!(
    /// A visitor of a site, known by the random token their widget keeps.
    VisitorId
);
id_type!(
    /// A proactive invitation (or a without-invite alert) made to a visitor.
    InvitationId
);
id_type!(
    /// A canned reply of a site.
    CannedId
);
id_type!(
    /// One live WebSocket connection (not stored).
    ConnId
);

impl SiteId {
    /// The organization-level pseudo site that holds the owner account.
    pub const ORG: SiteId = SiteId(0);
}
