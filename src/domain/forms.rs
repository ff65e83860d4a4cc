//! What each admin form submits, and the pure function that turns it into a clean draft or a
//! list of field errors. Web handlers deserialize into these types and call `validate()`; the
//! same structs re-fill the form when it is shown again with errors.

use super::i18n::Lang;
use super::ids::{CampaignId, DepartmentId, SiteId, UserId};
use super::model::{
    AllocationRule, FieldKind, PostChat, PrechatField, Proactive, ProactiveMode, Role, SystemMessages,
    TransferSettings, WindowPosition, WindowStyle,
};
use super::validate::{self as v, FormErrors, NAME_MAX, TEXT_MAX};
use serde::{Deserialize, Serialize};

fn checked(b: &Option<String>) -> bool {
    b.as_deref().is_some_and(|s| !s.is_empty() && s != "off" && s != "false")
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct NameForm {
    pub name: String,
}

impl NameForm {
    pub fn validate(&self) -> Result<String, FormErrors> {
        let mut e = FormErrors::default();
        let name = e.take("name", v::name(&self.name, NAME_MAX));
        e.finish(name)
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct GroupForm {
    pub name: String,
    pub sites: Vec<u64>,
}

#[derive(Debug)]
pub struct GroupDraft {
    pub name: String,
    pub sites: Vec<SiteId>,
}

impl GroupForm {
    pub fn validate(&self) -> Result<GroupDraft, FormErrors> {
        let mut e = FormErrors::default();
        let name = e.take("name", v::name(&self.name, NAME_MAX));
        let mut sites: Vec<SiteId> = self.sites.iter().copied().map(SiteId).collect();
        sites.sort();
        sites.dedup();
        if sites.len() < 2 {
            e.add("sites", "A cross-site group needs at least two sites.");
        }
        e.finish(GroupDraft { name, sites })
    }
}

/// Creating the owner (setup page, `parley owner create`) and creating any account.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AccountForm {
    pub name: String,
    pub email: String,
    #[serde(skip_serializing)]
    pub password: String,
    #[serde(skip_serializing)]
    pub password_confirm: String,
}

pub struct AccountDraft {
    pub name: String,
    pub email: String,
    pub password: String,
}

impl AccountForm {
    pub fn validate(&self) -> Result<AccountDraft, FormErrors> {
        let mut e = FormErrors::default();
        let name = e.take("name", v::name(&self.name, NAME_MAX));
        let email = e.take("email", v::email(&self.email));
        let password = e.take("password", v::new_password(&self.password, &self.password_confirm));
        e.finish(AccountDraft { name, email, password })
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    pub password: String,
    pub password_confirm: String,
}

impl PasswordForm {
    pub fn validate(&self) -> Result<String, FormErrors> {
        let mut e = FormErrors::default();
        let p = e.take("password", v::new_password(&self.password, &self.password_confirm));
        e.finish(p)
    }
}

/// An agent or site admin of a site, as the agents page edits it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct UserForm {
    pub name: String,
    pub email: String,
    pub role: String,
    pub skills: String,
    pub max_chats: String,
    pub active: Option<String>,
    pub departments: Vec<u64>,
    /// Only when creating: the first password.
    #[serde(skip_serializing)]
    pub password: String,
    #[serde(skip_serializing)]
    pub password_confirm: String,
}

pub struct UserDraft {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub skills: Vec<String>,
    pub max_chats: u32,
    pub active: bool,
    pub departments: Vec<DepartmentId>,
    /// `Some` when creating with a password; `None` when creating by invitation.
    pub password: Option<String>,
}

impl UserForm {
    pub fn blank() -> UserForm {
        UserForm { role: "agent".into(), max_chats: "5".into(), active: Some("on".into()), ..Default::default() }
    }

    pub fn is_active(&self) -> bool {
        checked(&self.active)
    }

    /// `creating` asks for the first password; with `may_invite` (mail is configured) both
    /// password fields may be left empty: the person is then invited by mail.
    pub fn validate(&self, creating: bool, may_invite: bool) -> Result<UserDraft, FormErrors> {
        let mut e = FormErrors::default();
        let name = e.take("name", v::name(&self.name, NAME_MAX));
        let email = e.take("email", v::email(&self.email));
        let role = match self.role.as_str() {
            "agent" => Role::Agent,
            "admin" => Role::Admin,
            _ => {
                e.add("role", "Choose agent or site admin.");
                Role::Agent
            }
        };
        let skills = e.take("skills", v::skills(&self.skills));
        let max_chats = e.take("max_chats", v::number(&self.max_chats, 1..=50));
        let invite = may_invite && self.password.is_empty() && self.password_confirm.is_empty();
        let password = if creating && !invite {
            Some(e.take("password", v::new_password(&self.password, &self.password_confirm)))
        } else {
            None
        };
        let mut departments: Vec<DepartmentId> = self.departments.iter().copied().map(DepartmentId).collect();
        departments.sort();
        departments.dedup();
        e.finish(UserDraft { name, email, role, skills, max_chats, active: self.is_active(), departments, password })
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DepartmentForm {
    pub name: String,
    pub rule: String,
    pub members: Vec<u64>,
}

#[derive(Debug)]
pub struct DepartmentDraft {
    pub name: String,
    pub rule: AllocationRule,
    pub members: Vec<UserId>,
}

impl DepartmentForm {
    pub fn validate(&self) -> Result<DepartmentDraft, FormErrors> {
        let mut e = FormErrors::default();
        let name = e.take("name", v::name(&self.name, NAME_MAX));
        let rule = match AllocationRule::ALL.into_iter().find(|r| r.as_str() == self.rule) {
            Some(r) => r,
            None => {
                e.add("rule", "Choose an allocation rule.");
                AllocationRule::RoundRobin
            }
        };
        let mut members = Vec::new();
        for m in self.members.iter().copied().map(UserId) {
            if !members.contains(&m) {
                members.push(m);
            }
        }
        e.finish(DepartmentDraft { name, rule, members })
    }
}

/// The shortest warm-transfer timeout a site may set, in seconds.
pub const WARM_TIMEOUT_MIN_SECS: u32 = 5;
/// The longest warm-transfer timeout a site may set, in seconds (ten minutes).
pub const WARM_TIMEOUT_MAX_SECS: u32 = 600;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SettingsForm {
    pub default_campaign: String,
    pub warm_timeout_secs: String,
    pub notify_visitor: Option<String>,
    pub transcript_cross_site: Option<String>,
    /// Where messages left and missed chats are mailed: addresses separated by commas or lines.
    pub mail_notify: String,
    pub mail_missed_chats: Option<String>,
    pub mail_language: String,
    /// Files may be sent ("on"), and which families (`FileCategory` codes).
    pub files_enabled: Option<String>,
    pub file_types: Vec<String>,
}

#[derive(Debug)]
pub struct SettingsDraft {
    pub default_campaign: Option<CampaignId>,
    pub transfer: TransferSettings,
    pub mail: crate::domain::mail::SiteMail,
    pub files: crate::domain::files::SiteFiles,
}

impl SettingsForm {
    pub fn notify(&self) -> bool {
        checked(&self.notify_visitor)
    }
    pub fn transcript(&self) -> bool {
        checked(&self.transcript_cross_site)
    }
    pub fn validate(&self) -> Result<SettingsDraft, FormErrors> {
        let mut e = FormErrors::default();
        let warm_timeout_secs = e.take(
            "warm_timeout_secs",
            v::number(&self.warm_timeout_secs, WARM_TIMEOUT_MIN_SECS..=WARM_TIMEOUT_MAX_SECS).map_err(|_| {
                format!("A whole number of seconds from {WARM_TIMEOUT_MIN_SECS} to {WARM_TIMEOUT_MAX_SECS}.")
            }),
        );
        let default_campaign = match self.default_campaign.trim() {
            "" => None,
            s => match s.parse() {
                Ok(id) => Some(CampaignId(id)),
                Err(_) => {
                    e.add("default_campaign", "Choose a campaign.");
                    None
                }
            },
        };
        let transfer = TransferSettings {
            warm_timeout_secs,
            notify_visitor: self.notify(),
            transcript_cross_site: self.transcript(),
        };
        let mut notify = Vec::new();
        for raw in self.mail_notify.split([',', '\n', ';']).map(str::trim).filter(|a| !a.is_empty()) {
            match v::email(raw) {
                Ok(a) if !notify.contains(&a) => notify.push(a),
                Ok(_) => {}
                Err(_) => e.add("mail_notify", format!("{raw:?} is not an email address.")),
            }
        }
        if notify.len() > 20 {
            e.add("mail_notify", "At most 20 addresses.");
        }
        let language = Lang::from_code(self.mail_language.trim()).unwrap_or_default();
        let mail = crate::domain::mail::SiteMail { notify, missed_chats: checked(&self.mail_missed_chats), language };
        let mut types: Vec<crate::domain::files::FileCategory> =
            self.file_types.iter().filter_map(|t| crate::domain::files::FileCategory::from_code(t)).collect();
        types.sort();
        types.dedup();
        let enabled = checked(&self.files_enabled);
        if enabled && types.is_empty() {
            e.add("file_types", "Choose at least one type of file, or turn files off.");
        }
        let files = crate::domain::files::SiteFiles { enabled, types };
        e.finish(SettingsDraft { default_campaign, transfer, mail, files })
    }
}

/// The campaign form. Pre-chat fields come as parallel lists, one entry per row; `required` is
/// a select ("yes"/"no") rather than a checkbox so the lists stay aligned.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CampaignForm {
    pub name: String,
    pub language: String,
    pub greeting: String,
    pub queue: String,
    pub transfer: String,
    pub offline: String,
    pub title: String,
    pub color: String,
    pub position: String,
    pub field_key: Vec<String>,
    pub field_label: Vec<String>,
    pub field_kind: Vec<String>,
    pub field_required: Vec<String>,
    pub postchat_enabled: Option<String>,
    pub postchat_question: String,
    pub postchat_comment: Option<String>,
    pub department: String,
    pub notify_transfer: Option<String>,
    pub proactive_mode: String,
    pub proactive_after_secs: String,
    pub proactive_url_rules: String,
    pub invitation_text: String,
    pub reinvite_after_mins: String,
}

#[derive(Debug)]
pub struct CampaignDraft {
    pub name: String,
    pub language: Lang,
    pub messages: SystemMessages,
    pub style: WindowStyle,
    pub prechat: Vec<PrechatField>,
    pub postchat: PostChat,
    pub department: Option<DepartmentId>,
    pub notify_transfer: bool,
    pub proactive: Proactive,
}

/// One row of the pre-chat field editor, as the template shows it.
#[derive(Clone, Debug, Default)]
pub struct FieldRow {
    pub key: String,
    pub label: String,
    pub kind: String,
    pub required: bool,
}

impl CampaignForm {
    pub fn postchat_on(&self) -> bool {
        checked(&self.postchat_enabled)
    }
    pub fn comment_on(&self) -> bool {
        checked(&self.postchat_comment)
    }
    pub fn notify_on(&self) -> bool {
        checked(&self.notify_transfer)
    }

    /// The rows to show: every submitted row plus `spare` empty ones.
    pub fn field_rows(&self, spare: usize) -> Vec<FieldRow> {
        let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
        let n = self.field_key.len().max(self.field_label.len());
        let mut rows: Vec<FieldRow> = (0..n)
            .map(|i| FieldRow {
                key: at(&self.field_key, i),
                label: at(&self.field_label, i),
                kind: at(&self.field_kind, i),
                required: at(&self.field_required, i) == "yes",
            })
            .filter(|r| !(r.key.trim().is_empty() && r.label.trim().is_empty()))
            .collect();
        rows.extend((0..spare).map(|_| FieldRow { kind: "text".into(), ..Default::default() }));
        rows
    }

    pub fn validate(&self) -> Result<CampaignDraft, FormErrors> {
        let mut e = FormErrors::default();
        let name = e.take("name", v::name(&self.name, NAME_MAX));
        let language = Lang::from_code(&self.language).unwrap_or_else(|| {
            e.add("language", "Choose a language.");
            Lang::En
        });
        let messages = SystemMessages {
            greeting: e.take("greeting", v::optional_text(&self.greeting, TEXT_MAX)),
            queue: e.take("queue", v::optional_text(&self.queue, TEXT_MAX)),
            transfer: e.take("transfer", v::optional_text(&self.transfer, TEXT_MAX)),
            offline: e.take("offline", v::optional_text(&self.offline, TEXT_MAX)),
        };
        let title = e.take("title", v::optional_text(&self.title, NAME_MAX)).unwrap_or_default();
        let color = e.take("color", v::color(&self.color));
        let position = if self.position == "left" { WindowPosition::Left } else { WindowPosition::Right };
        let prechat = self.validate_fields(&mut e);
        let postchat = PostChat {
            enabled: self.postchat_on(),
            question: e
                .take("postchat_question", v::optional_text(&self.postchat_question, TEXT_MAX))
                .unwrap_or_default(),
            comment: self.comment_on(),
        };
        let department = match self.department.trim() {
            "" => None,
            s => s.parse().ok().map(DepartmentId).or_else(|| {
                e.add("department", "Choose a department.");
                None
            }),
        };
        let mode = ProactiveMode::ALL.into_iter().find(|m| m.as_str() == self.proactive_mode).unwrap_or_else(|| {
            e.add("proactive_mode", "Choose a proactive mode.");
            ProactiveMode::Disabled
        });
        let after_secs = e.take("proactive_after_secs", v::number(&self.proactive_after_secs, 0..=3600));
        let url_rules = e.take("proactive_url_rules", v::url_rules(&self.proactive_url_rules));
        let invitation_text =
            e.take("invitation_text", v::optional_text(&self.invitation_text, TEXT_MAX)).unwrap_or_default();
        if mode == ProactiveMode::WithInvite && invitation_text.is_empty() {
            e.add("invitation_text", "An invitation needs its text.");
        }
        let reinvite_after_mins = e.take("reinvite_after_mins", v::number(&self.reinvite_after_mins, 0..=1440));
        let proactive = Proactive { mode, after_secs, url_rules, invitation_text, reinvite_after_mins };
        let style = WindowStyle { title, color, position };
        e.finish(CampaignDraft {
            name,
            language,
            messages,
            style,
            prechat,
            postchat,
            department,
            notify_transfer: self.notify_on(),
            proactive,
        })
    }

    fn validate_fields(&self, e: &mut FormErrors) -> Vec<PrechatField> {
        let mut out: Vec<PrechatField> = Vec::new();
        for row in self.field_rows(0) {
            let key = match v::field_key(&row.key) {
                Ok(k) => k,
                Err(m) => {
                    e.add("prechat", format!("Field “{}”: {m}", row.label.trim()));
                    continue;
                }
            };
            if out.iter().any(|f| f.key == key) {
                e.add("prechat", format!("Field key “{key}” is used twice."));
                continue;
            }
            let label = match v::name(&row.label, NAME_MAX) {
                Ok(l) => l,
                Err(m) => {
                    e.add("prechat", format!("Label of “{key}”: {m}"));
                    continue;
                }
            };
            let kind = FieldKind::ALL.into_iter().find(|k| k.as_str() == row.kind).unwrap_or_default();
            out.push(PrechatField { key, label, kind, required: row.required });
        }
        if out.len() > 20 {
            e.add("prechat", "At most 20 pre-chat fields.");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign_form() -> CampaignForm {
        CampaignForm {
            name: "Sales".into(),
            language: "fr".into(),
            color: "#112233".into(),
            proactive_mode: "disabled".into(),
            proactive_after_secs: "30".into(),
            reinvite_after_mins: "0".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_group_needs_two_distinct_sites() {
        let f = GroupForm { name: "EU".into(), sites: vec![3, 3] };
        assert!(f.validate().err().and_then(|e| e.get("sites").map(String::from)).is_some());
        assert!(GroupForm { name: "EU".into(), sites: vec![3, 4] }.validate().is_ok());
    }

    #[test]
    fn user_form_reports_every_bad_field_at_once() {
        let f = UserForm {
            name: "".into(),
            email: "nope".into(),
            role: "root".into(),
            max_chats: "0".into(),
            ..Default::default()
        };
        let Err(e) = f.validate(true, false) else { panic!("accepted an invalid form") };
        for field in ["name", "email", "role", "max_chats", "password"] {
            assert!(e.get(field).is_some(), "no error for {field}");
        }
    }

    #[test]
    fn campaign_prechat_rows_keep_required_flags_and_drop_blank_rows() {
        let mut f = campaign_form();
        f.field_key = vec!["name".into(), "".into(), "order".into()];
        f.field_label = vec!["Your name".into(), "".into(), "Order number".into()];
        f.field_kind = vec!["text".into(), "text".into(), "text".into()];
        f.field_required = vec!["yes".into(), "no".into(), "no".into()];
        let d = f.validate().expect("valid");
        assert_eq!(d.prechat.len(), 2);
        assert!(d.prechat[0].required && !d.prechat[1].required);
        assert_eq!(d.language, Lang::Fr);
    }

    #[test]
    fn campaign_with_invite_needs_invitation_text_and_unique_keys() {
        let mut f = campaign_form();
        f.proactive_mode = "with_invite".into();
        f.field_key = vec!["a".into(), "a".into()];
        f.field_label = vec!["A".into(), "B".into()];
        let e = f.validate().expect_err("invalid");
        assert!(e.get("invitation_text").is_some());
        assert!(e.get("prechat").is_some_and(|m| m.contains("twice")));
    }

    #[test]
    fn settings_timeout_is_bounded() {
        let f = SettingsForm { warm_timeout_secs: "2".into(), ..Default::default() };
        assert!(f.validate().is_err());
        for ok in ["5", "600"] {
            let f = SettingsForm { warm_timeout_secs: ok.into(), ..Default::default() };
            assert!(f.validate().is_ok(), "{ok} is in the range");
        }
        let f =
            SettingsForm { warm_timeout_secs: "45".into(), notify_visitor: Some("on".into()), ..Default::default() };
        let d = f.validate().expect("valid");
        assert_eq!(d.transfer.warm_timeout_secs, 45);
        assert!(d.transfer.notify_visitor && !d.transfer.transcript_cross_site);
    }

    #[test]
    fn settings_timeout_error_names_the_range() {
        for bad in ["4", "601", "", "thirty", "2.5", "-10"] {
            let f = SettingsForm { warm_timeout_secs: bad.into(), ..Default::default() };
            let e = f.validate().expect_err(bad);
            assert_eq!(
                e.get("warm_timeout_secs"),
                Some("A whole number of seconds from 5 to 600."),
                "the message for {bad:?}"
            );
        }
    }
}

// ---- canned replies ----------------------------------------------------------------------
// (One block: the form a site admin fills for a canned reply, its draft and its tests.)

/// Longest shortcut, without the leading `/`.
pub const SHORTCUT_MAX: usize = 32;
/// Longest canned reply text, in characters after trimming.
pub const CANNED_TEXT_MAX: usize = 2000;

/// A canned reply as its admin form submits it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CannedForm {
    pub shortcut: String,
    pub text: String,
}

#[derive(Debug, PartialEq)]
pub struct CannedDraft {
    /// Lower-case ASCII letters, digits, `-` and `_`, without the leading `/`.
    pub shortcut: String,
    /// Trimmed, line breaks as `\n`.
    pub text: String,
}

impl CannedForm {
    pub fn validate(&self) -> Result<CannedDraft, FormErrors> {
        let mut e = FormErrors::default();
        let shortcut = e.take("shortcut", canned_shortcut(&self.shortcut));
        let text = self.text.replace("\r\n", "\n");
        let text = match v::optional_text(&text, CANNED_TEXT_MAX) {
            Ok(Some(t)) => t,
            Ok(None) => {
                e.add("text", "Required.");
                String::new()
            }
            Err(m) => {
                e.add("text", m);
                String::new()
            }
        };
        e.finish(CannedDraft { shortcut, text })
    }
}

/// `/Thanks` or `thanks` -> `thanks`. ASCII only, so "unique ignoring case" means one thing
/// everywhere (the store, the console's matching).
fn canned_shortcut(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let s = s.strip_prefix('/').unwrap_or(s);
    if s.is_empty() {
        return Err("Required.".into());
    }
    if s.chars().count() > SHORTCUT_MAX {
        return Err(format!("At most {SHORTCUT_MAX} characters."));
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err("Only letters a–z, digits, - and _ (no spaces).".into());
    }
    Ok(s.to_ascii_lowercase())
}

#[cfg(test)]
mod canned_tests {
    use super::*;

    fn form(shortcut: &str, text: &str) -> CannedForm {
        CannedForm { shortcut: shortcut.into(), text: text.into() }
    }

    #[test]
    fn shortcuts_lose_their_slash_and_case() {
        let d = form(" /Thanks_2-U ", "  Thank you!\r\nBye.  ").validate().expect("valid");
        assert_eq!(d, CannedDraft { shortcut: "thanks_2-u".into(), text: "Thank you!\nBye.".into() });
        assert_eq!(form("hi", "x").validate().expect("valid").shortcut, "hi");
    }

    #[test]
    fn shortcuts_are_one_to_thirty_two_plain_characters() {
        for bad in ["", "/", "  ", "two words", "a/b", "//x", "é", "x!", "<b>", &"x".repeat(33)] {
            let e = form(bad, "text").validate().expect_err(bad);
            assert!(e.get("shortcut").is_some(), "{bad:?} accepted");
        }
        assert!(form(&"x".repeat(32), "t").validate().is_ok());
        assert!(form(&format!("/{}", "x".repeat(32)), "t").validate().is_ok(), "the slash does not count");
    }

    #[test]
    fn text_is_required_and_bounded() {
        let e = form("hi", " \n ").validate().expect_err("blank");
        assert_eq!(e.get("text"), Some("Required."));
        assert!(form("hi", &"y".repeat(2001)).validate().expect_err("long").get("text").is_some());
        assert!(form("hi", &format!("  {}  ", "y".repeat(2000))).validate().is_ok(), "counted after trimming");
        assert!(form("hi", "bell\u{7}").validate().expect_err("control").get("text").is_some());
        let e = form("", "").validate().expect_err("both");
        assert!(e.get("shortcut").is_some() && e.get("text").is_some(), "every field at once");
    }
}
// ---- end of canned replies ---------------------------------------------------------------
