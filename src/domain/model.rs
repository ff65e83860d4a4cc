//! The organization model as stored and edited in the admin pages: sites, users, departments,
//! campaigns, cross-site groups. Records are plain data; every field added later carries a
//! `#[serde(default)]` so that older stored records still decode.

use super::Millis;
use super::i18n::Lang;
use super::ids::{CampaignId, DepartmentId, GroupId, SiteId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    pub created_at: Millis,
    /// The campaign that new chats arriving by cross-site transfer start under. `None`: the
    /// first campaign created serves (see [`Site::cross_site_campaign`]).
    #[serde(default)]
    pub default_campaign: Option<CampaignId>,
    #[serde(default)]
    pub transfer: TransferSettings,
    /// Live chat is on: widgets of its campaigns connect. The owner may turn it off.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Who hears of messages left and missed chats.
    #[serde(default)]
    pub mail: crate::domain::mail::SiteMail,
    /// Whether files may be sent, and which types.
    #[serde(default)]
    pub files: crate::domain::files::SiteFiles,
}

impl Site {
    /// The campaign that serves cross-site transfers: the chosen default, or the first campaign
    /// created (lowest id) when none is chosen. `campaigns` are the site's campaigns.
    pub fn cross_site_campaign(&self, campaigns: &[Campaign]) -> Option<CampaignId> {
        self.default_campaign
            .filter(|id| campaigns.iter().any(|c| c.id == *id))
            .or_else(|| campaigns.iter().map(|c| c.id).min())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransferSettings {
    /// How long a warm-transfer offer waits for the target's answer.
    pub warm_timeout_secs: u32,
    /// Default for new campaigns: tell the visitor "you are being transferred".
    pub notify_visitor: bool,
    /// Default of the "with chat transcript" box in a cross-site transfer.
    pub transcript_cross_site: bool,
}

impl Default for TransferSettings {
    fn default() -> Self {
        TransferSettings { warm_timeout_secs: 30, notify_visitor: true, transcript_cross_site: true }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The organization: sites, site admins, cross-site groups, every site's pages.
    Owner,
    /// A site admin: everything in one site; also answers chats.
    Admin,
    /// Answers chats in the console.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Site admin",
            Role::Agent => "Agent",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub site: SiteId,
    pub role: Role,
    pub name: String,
    /// Lower-cased; unique across the organization (it is the sign-in name).
    pub email: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default = "default_max_chats")]
    pub max_chats: u32,
    #[serde(default = "yes")]
    pub active: bool,
    /// Bumped on password change and on disable: sessions created under an older epoch are void.
    #[serde(default)]
    pub session_epoch: u64,
    pub created_at: Millis,
    /// The agent's console preferences.
    #[serde(default)]
    pub prefs: ConsolePrefs,
    /// The agent last chose Away (rather than Online): a console opened later, after a restart
    /// too, starts Away.
    #[serde(default)]
    pub away: bool,
}

/// How the console gets an agent's attention, saved per agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsolePrefs {
    /// Play a sound on a new chat, offer or message.
    pub sound: bool,
    /// Show a desktop notification (when the browser allows it).
    pub notify: bool,
    /// Try to bring the console to the front on a new chat.
    pub front_on_chat: bool,
    /// ... and on a new message.
    pub front_on_message: bool,
}

impl Default for ConsolePrefs {
    fn default() -> Self {
        ConsolePrefs { sound: true, notify: true, front_on_chat: false, front_on_message: false }
    }
}

fn default_max_chats() -> u32 {
    5
}
fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AllocationRule {
    #[default]
    RoundRobin,
    /// Fewest active chats; ties go to the agent idle longest.
    LeastBusy,
}

impl AllocationRule {
    pub const ALL: [AllocationRule; 2] = [AllocationRule::RoundRobin, AllocationRule::LeastBusy];
    pub fn as_str(self) -> &'static str {
        match self {
            AllocationRule::RoundRobin => "round_robin",
            AllocationRule::LeastBusy => "least_busy",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            AllocationRule::RoundRobin => "Round robin",
            AllocationRule::LeastBusy => "Least busy",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Department {
    pub id: DepartmentId,
    pub site: SiteId,
    pub name: String,
    /// Members in the order they were added; the one place membership is stored.
    #[serde(default)]
    pub members: Vec<UserId>,
    #[serde(default)]
    pub rule: AllocationRule,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    /// At least two sites.
    pub sites: Vec<SiteId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    Text,
    Email,
    Phone,
    Textarea,
}

impl FieldKind {
    pub const ALL: [FieldKind; 4] = [FieldKind::Text, FieldKind::Email, FieldKind::Phone, FieldKind::Textarea];
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::Textarea => "textarea",
        }
    }
}

/// One question of the pre-chat form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrechatField {
    /// Machine name, `[a-z0-9_]`, unique within the form ("name" and "email" are the visitor's).
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProactiveMode {
    #[default]
    Disabled,
    WithInvite,
    WithoutInvite,
}

impl ProactiveMode {
    pub const ALL: [ProactiveMode; 3] =
        [ProactiveMode::Disabled, ProactiveMode::WithInvite, ProactiveMode::WithoutInvite];
    pub fn as_str(self) -> &'static str {
        match self {
            ProactiveMode::Disabled => "disabled",
            ProactiveMode::WithInvite => "with_invite",
            ProactiveMode::WithoutInvite => "without_invite",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ProactiveMode::Disabled => "Disabled",
            ProactiveMode::WithInvite => "With invite",
            ProactiveMode::WithoutInvite => "Without invite",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Proactive {
    pub mode: ProactiveMode,
    /// Seconds on the site (across pages) before the invitation or the agent alert.
    pub after_secs: u32,
    /// Page URL patterns (`*` matches any run of characters); empty means every page.
    pub url_rules: Vec<String>,
    pub invitation_text: String,
    /// Minutes after a refusal before a new invitation; 0: never again in the visit.
    pub reinvite_after_mins: u32,
}

/// The campaign's system messages; `None` uses the campaign language's default text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SystemMessages {
    pub greeting: Option<String>,
    pub queue: Option<String>,
    pub transfer: Option<String>,
    pub offline: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WindowPosition {
    #[default]
    Right,
    Left,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowStyle {
    pub title: String,
    /// `#rrggbb`.
    pub color: String,
    pub position: WindowPosition,
}

impl Default for WindowStyle {
    fn default() -> Self {
        WindowStyle { title: String::new(), color: "#2f6fde".into(), position: WindowPosition::Right }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostChat {
    pub enabled: bool,
    /// The rating question; empty uses the language default.
    pub question: String,
    pub comment: bool,
}

impl Default for PostChat {
    fn default() -> Self {
        PostChat { enabled: true, question: String::new(), comment: true }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub site: SiteId,
    pub name: String,
    #[serde(default)]
    pub language: Lang,
    #[serde(default)]
    pub messages: SystemMessages,
    #[serde(default)]
    pub style: WindowStyle,
    #[serde(default)]
    pub prechat: Vec<PrechatField>,
    #[serde(default)]
    pub postchat: PostChat,
    /// Where new chats go; `None`: any agent of the site.
    #[serde(default)]
    pub department: Option<DepartmentId>,
    /// Tell the visitor "you are being transferred" (in the campaign language).
    #[serde(default)]
    pub notify_transfer: bool,
    #[serde(default)]
    pub proactive: Proactive,
    pub created_at: Millis,
}

impl Campaign {
    /// A campaign with the defaults of a new one, for tests: English, the language's texts, no
    /// department, no pre-chat form, the post-chat survey on, transfers not announced.
    #[cfg(test)]
    pub(crate) fn test(id: CampaignId, site: SiteId) -> Campaign {
        Campaign {
            id,
            site,
            name: format!("c{id}"),
            language: Lang::En,
            messages: SystemMessages::default(),
            style: WindowStyle::default(),
            prechat: vec![],
            postchat: PostChat::default(),
            department: None,
            notify_transfer: false,
            proactive: Proactive::default(),
            created_at: 0,
        }
    }

    /// The text of a system message: the campaign's own or the language default.
    /// The proactive invitation's text, or the language's default.
    pub fn invitation_text(&self) -> &str {
        let own = self.proactive.invitation_text.trim();
        if own.is_empty() { self.language.default_invitation() } else { own }
    }

    pub fn message(&self, which: super::i18n::Message) -> &str {
        let own = match which {
            super::i18n::Message::Greeting => &self.messages.greeting,
            super::i18n::Message::Queue => &self.messages.queue,
            super::i18n::Message::Transfer => &self.messages.transfer,
            super::i18n::Message::Offline => &self.messages.offline,
        };
        own.as_deref().unwrap_or_else(|| self.language.default_message(which))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(id: u64) -> Campaign {
        Campaign {
            id: CampaignId(id),
            site: SiteId(1),
            name: format!("c{id}"),
            language: Lang::En,
            messages: SystemMessages::default(),
            style: WindowStyle::default(),
            prechat: vec![],
            postchat: PostChat::default(),
            department: None,
            notify_transfer: true,
            proactive: Proactive::default(),
            created_at: 0,
        }
    }

    fn site(default_campaign: Option<u64>) -> Site {
        Site {
            enabled: true,
            id: SiteId(1),
            name: "s".into(),
            created_at: 0,
            default_campaign: default_campaign.map(CampaignId),
            transfer: TransferSettings::default(),
            mail: Default::default(),
            files: Default::default(),
        }
    }

    #[test]
    fn first_created_campaign_serves_cross_site_when_none_is_chosen() {
        let cs = [campaign(7), campaign(3), campaign(9)];
        assert_eq!(site(None).cross_site_campaign(&cs), Some(CampaignId(3)));
        assert_eq!(site(Some(9)).cross_site_campaign(&cs), Some(CampaignId(9)));
        assert_eq!(site(None).cross_site_campaign(&[]), None);
    }

    #[test]
    fn a_chosen_default_that_no_longer_exists_falls_back_to_the_first() {
        assert_eq!(site(Some(42)).cross_site_campaign(&[campaign(5)]), Some(CampaignId(5)));
    }

    #[test]
    fn system_messages_fall_back_to_the_language_default() {
        let mut c = campaign(1);
        c.language = Lang::Fr;
        assert_eq!(
            c.message(super::super::i18n::Message::Greeting),
            Lang::Fr.default_message(super::super::i18n::Message::Greeting)
        );
        c.messages.greeting = Some("Salut !".into());
        assert_eq!(c.message(super::super::i18n::Message::Greeting), "Salut !");
    }
}
