//! Proactive chat records and canned replies: what the store keeps about invitations (for the
//! statistics) and the short answers admins prepare for their agents.

use super::Millis;
use super::ids::{CampaignId, CannedId, ChatId, InvitationId, SiteId, UserId, VisitorId};
use serde::{Deserialize, Serialize};

/// How an invitation came about.
/// Why a without-invite alert was withdrawn from the agent it was shown to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEnd {
    /// An agent opened the chat.
    Opened,
    /// Nobody opened it in time.
    Expired,
    /// The visitor left the site.
    Left,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationMode {
    /// The campaign's "with invite" rule showed it after the visitor's time on site.
    Auto,
    /// An agent invited the visitor from the live list.
    Manual,
    /// The campaign's "without invite" rule alerted an agent, who may open the chat.
    Alert,
}

/// What became of an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationOutcome {
    /// Shown, not answered yet.
    Pending,
    /// The visitor accepted (for an alert: the agent opened the chat).
    Accepted,
    /// The visitor refused.
    Refused,
    /// Neither: the visitor left, or the time to answer ran out.
    Ignored,
}

impl InvitationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationOutcome::Pending => "pending",
            InvitationOutcome::Accepted => "accepted",
            InvitationOutcome::Refused => "refused",
            InvitationOutcome::Ignored => "ignored",
        }
    }
}

/// One invitation, stored when it is made and again when it is answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationRecord {
    pub id: InvitationId,
    pub site: SiteId,
    pub campaign: CampaignId,
    pub visitor: VisitorId,
    pub mode: InvitationMode,
    /// The inviting agent (manual), or the agent alerted (alert).
    pub agent: Option<UserId>,
    pub text: String,
    pub page_url: String,
    pub sent_at: Millis,
    pub outcome: InvitationOutcome,
    pub answered_at: Option<Millis>,
    /// The chat it led to.
    pub chat: Option<ChatId>,
}

/// A prepared answer an agent inserts with its shortcut (`/shortcut` in the console).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CannedReply {
    pub id: CannedId,
    pub site: SiteId,
    /// Letters, digits, `-` and `_`; unique in the site.
    pub shortcut: String,
    pub text: String,
    pub updated_at: Millis,
}
