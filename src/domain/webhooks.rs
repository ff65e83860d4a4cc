//! Webhooks: a site's endpoints, the events they want, and each delivery with its outcome. The
//! body of a delivery is made when its event is stored (in the same transaction), from the
//! records as they are then, in the versioned schema of docs/webhooks.md; the sender only
//! signs and posts it.

use super::Millis;
use super::chat::{Author, ChatEvent, ChatRecord, ChatState, EventKind, LeftMessage};
use super::ids::{SiteId, VisitorId};
use super::proactive::InvitationRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::net::IpAddr;

/// The body's schema version (`version` in every body).
pub const VERSION: u32 = 1;

/// What an endpoint may subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "chat.started")]
    ChatStarted,
    #[serde(rename = "chat.assigned")]
    ChatAssigned,
    #[serde(rename = "chat.transferred")]
    ChatTransferred,
    #[serde(rename = "chat.ended")]
    ChatEnded,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "survey.answered")]
    SurveyAnswered,
    #[serde(rename = "message_left.created")]
    MessageLeft,
    #[serde(rename = "invitation.answered")]
    InvitationAnswered,
    /// Sent from the endpoint's page to try it; never subscribed to.
    #[serde(rename = "webhook.test")]
    Test,
}

impl EventType {
    /// Those an endpoint may choose.
    pub const ALL: [EventType; 8] = [
        EventType::ChatStarted,
        EventType::ChatAssigned,
        EventType::ChatTransferred,
        EventType::ChatEnded,
        EventType::MessageCreated,
        EventType::SurveyAnswered,
        EventType::MessageLeft,
        EventType::InvitationAnswered,
    ];

    pub fn code(self) -> &'static str {
        match self {
            EventType::ChatStarted => "chat.started",
            EventType::ChatAssigned => "chat.assigned",
            EventType::ChatTransferred => "chat.transferred",
            EventType::ChatEnded => "chat.ended",
            EventType::MessageCreated => "message.created",
            EventType::SurveyAnswered => "survey.answered",
            EventType::MessageLeft => "message_left.created",
            EventType::InvitationAnswered => "invitation.answered",
            EventType::Test => "webhook.test",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EventType::ChatStarted => "A chat started",
            EventType::ChatAssigned => "A chat was assigned to an agent",
            EventType::ChatTransferred => {
                "A transfer step (offered, accepted, declined, expired, cancelled, completed)"
            }
            EventType::ChatEnded => "A chat ended",
            EventType::MessageCreated => "A message in a chat (visitor or agent; notes are not sent)",
            EventType::SurveyAnswered => "A visitor rated a chat",
            EventType::MessageLeft => "A visitor left a message",
            EventType::InvitationAnswered => "A visitor answered a proactive invitation",
            EventType::Test => "A test from the endpoint's page",
        }
    }

    pub fn from_code(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().chain([EventType::Test]).find(|e| e.code() == s)
    }
}

/// An endpoint: where a site's events are posted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: u64,
    pub site: SiteId,
    pub url: String,
    /// What it is for (shown on the page).
    #[serde(default)]
    pub description: String,
    pub events: Vec<EventType>,
    /// The signing secret (`whsec_` and 64 hex digits): kept, as signing needs it; shown on
    /// the page once, when made or rotated.
    pub secret: String,
    pub created_at: Millis,
    /// Since when every delivery has failed (none succeeded since); `None`: working.
    #[serde(default)]
    pub failing_since: Option<Millis>,
    /// Paused (by an admin, or after failing for `[webhooks] pause_after_hours`): nothing is
    /// posted until it is resumed; its deliveries wait.
    #[serde(default)]
    pub paused_at: Option<Millis>,
    /// Paused because it kept failing (not by hand).
    #[serde(default)]
    pub paused_by_failures: bool,
    #[serde(default)]
    pub last_success_at: Option<Millis>,
}

impl Endpoint {
    pub fn wants(&self, e: EventType) -> bool {
        self.events.contains(&e)
    }

    /// `active`, `failing` or `paused`.
    pub fn status(&self) -> &'static str {
        match (self.paused_at, self.failing_since) {
            (Some(_), _) => "paused",
            (None, Some(_)) => "failing",
            (None, None) => "active",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Given up after `[webhooks] give_up_hours` of failures (can be retried by hand).
    Failed,
}

impl DeliveryStatus {
    pub fn code(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One event for one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: u64,
    pub site: SiteId,
    pub endpoint: u64,
    /// The event's id, the same in every delivery of it and every retry: receivers drop what
    /// they have seen (`Parley-Webhook-Id`).
    pub event_id: String,
    pub event: EventType,
    /// The JSON posted.
    pub body: String,
    /// Whose data it carries (for erasure).
    #[serde(default)]
    pub visitor: Option<VisitorId>,
    pub created_at: Millis,
    pub status: DeliveryStatus,
    #[serde(default)]
    pub attempts: u32,
    pub next_at: Millis,
    #[serde(default)]
    pub done_at: Option<Millis>,
    /// The last attempt's HTTP status, or its error (connection refused, timeout, refused
    /// address).
    #[serde(default)]
    pub last_code: Option<u16>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub last_attempt_at: Option<Millis>,
}

/// A failed delivery waits as a failed mail does: the first wait, doubling, at most hourly.
pub use super::mail::backoff_ms;

/// An event to deliver: its type, id, whose data, when, and `data` of the body.
pub struct Hook {
    pub site: SiteId,
    pub event: EventType,
    pub event_id: String,
    pub visitor: Option<VisitorId>,
    /// When the event happened (Unix ms).
    pub at: Millis,
    pub data: Value,
}

impl Hook {
    /// The body posted: `{id, type, version, created_at, site, data}`.
    pub fn body(&self) -> String {
        json!({
            "id": self.event_id,
            "type": self.event.code(),
            "version": VERSION,
            "created_at": self.at,
            "site": self.site.0,
            "data": self.data,
        })
        .to_string()
    }
}

fn code<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A chat as webhooks describe it (the JSON API's `Chat` fields).
pub fn chat_json(c: &ChatRecord) -> Value {
    let (ended_at, ended_by) = match c.state {
        ChatState::Ended { at, by, .. } => (Some(at), code(&by)),
        _ => (None, Value::Null),
    };
    let agent = match c.state {
        ChatState::WaitingFor(a) => Some(a.0),
        _ => c.agent().map(|a| a.0),
    };
    let status = match c.status() {
        super::chat::ChatStatus::Queued => "queued",
        super::chat::ChatStatus::Active => "active",
        super::chat::ChatStatus::Ended => "ended",
    };
    json!({
        "id": c.id.0,
        "site": c.site.0,
        "campaign": c.campaign.0,
        "visitor": c.visitor.0,
        "department": c.department.map(|d| d.0),
        "status": status,
        "agent": agent,
        "started_at": c.created_at,
        "assigned_at": c.assigned_at,
        "ended_at": ended_at,
        "ended_by": ended_by,
        "name": c.info.name,
        "email": c.info.email,
        "fields": c.info.fields,
        "page_url": c.info.page_url,
        "page_title": c.info.page_title,
        "from_site": c.origin.as_ref().map(|o| o.site.0),
        "from_chat": c.origin.as_ref().map(|o| o.chat.0),
    })
}

/// A chat's new record (`old`: what was stored before): a chat started.
pub fn chat_record_hook(old: Option<&ChatRecord>, c: &ChatRecord) -> Option<Hook> {
    old.is_none().then(|| Hook {
        site: c.site,
        event: EventType::ChatStarted,
        event_id: format!("{}.{}.started", c.site.0, c.id.0),
        visitor: Some(c.visitor),
        at: c.created_at,
        data: json!({ "chat": chat_json(c) }),
    })
}

/// The event type a chat event is delivered as: notes, system texts and queueing are not.
pub fn event_type_of(kind: &EventKind) -> Option<EventType> {
    Some(match kind {
        EventKind::Message { .. } => EventType::MessageCreated,
        EventKind::Assigned { .. } => EventType::ChatAssigned,
        EventKind::Ended { .. } => EventType::ChatEnded,
        EventKind::Survey { .. } => EventType::SurveyAnswered,
        EventKind::Transfer { .. } => EventType::ChatTransferred,
        EventKind::Note { .. } | EventKind::System { .. } | EventKind::Queued { .. } => return None,
    })
}

/// A chat event's hook, with the chat as the batch that stored the event leaves it. Notes,
/// system texts and queueing have none.
pub fn event_hook(c: &ChatRecord, e: &ChatEvent) -> Option<Hook> {
    let (event, detail) = match &e.kind {
        EventKind::Message { author, text, file } => {
            let (by, agent, name) = match author {
                Author::Visitor => ("visitor", None, None),
                Author::Agent { agent, name } => ("agent", Some(agent.0), Some(name.as_str())),
            };
            let file = file.as_ref().map(
                |f| json!({"name": f.name, "type": f.mime, "size": f.size, "image": f.is_image(), "url": f.path()}),
            );
            let message = json!({
                "seq": e.seq, "at": e.at, "author": by, "agent": agent, "name": name, "text": text, "file": file,
            });
            (EventType::MessageCreated, json!({ "message": message }))
        }
        EventKind::Assigned { agent, name } => {
            (EventType::ChatAssigned, json!({ "agent": {"id": agent.0, "name": name}, "seq": e.seq, "at": e.at }))
        }
        EventKind::Ended { by } => (EventType::ChatEnded, json!({ "ended_by": code(by), "seq": e.seq, "at": e.at })),
        EventKind::Survey { rating, comment } => {
            (EventType::SurveyAnswered, json!({ "rating": rating, "comment": comment, "seq": e.seq, "at": e.at }))
        }
        EventKind::Transfer {
            transfer,
            outcome,
            from,
            to_agent,
            to_department,
            to_site,
            comment,
            replied,
            reason,
            decline_text,
        } => {
            let step = json!({
                "transfer": code(transfer), "outcome": code(outcome), "from": from.0,
                "to_agent": to_agent.map(|a| a.0), "to_department": to_department.map(|d| d.0),
                "to_site": to_site.map(|s| s.0), "comment": comment, "replied": replied,
                "reason": reason.as_ref().map(code), "decline_text": decline_text,
            });
            (EventType::ChatTransferred, json!({ "step": step, "seq": e.seq, "at": e.at }))
        }
        EventKind::Note { .. } | EventKind::System { .. } | EventKind::Queued { .. } => return None,
    };
    let mut data = detail;
    data["chat"] = chat_json(c);
    Some(Hook {
        site: c.site,
        event,
        event_id: format!("{}.{}.{}", c.site.0, c.id.0, e.seq),
        visitor: Some(c.visitor),
        at: e.at,
        data,
    })
}

pub fn left_message_hook(m: &LeftMessage) -> Hook {
    Hook {
        site: m.site,
        event: EventType::MessageLeft,
        event_id: format!("{}.left.{}", m.site.0, m.id),
        visitor: Some(m.visitor),
        at: m.at,
        data: json!({ "message": {
            "id": m.id, "campaign": m.campaign.0, "visitor": m.visitor.0, "name": m.name,
            "email": m.email, "text": m.text, "page": m.page, "at": m.at,
        }}),
    }
}

/// An invitation's new record: answered once it leaves `pending`.
pub fn invitation_hook(old: Option<&InvitationRecord>, i: &InvitationRecord) -> Option<Hook> {
    use super::proactive::InvitationOutcome;
    let was_pending = old.is_none_or(|o| o.outcome == InvitationOutcome::Pending);
    if !was_pending || i.outcome == InvitationOutcome::Pending {
        return None;
    }
    Some(Hook {
        site: i.site,
        event: EventType::InvitationAnswered,
        event_id: format!("{}.invitation.{}", i.site.0, i.id.0),
        visitor: Some(i.visitor),
        at: i.answered_at.unwrap_or(i.sent_at),
        data: json!({ "invitation": {
            "id": i.id.0, "campaign": i.campaign.0, "visitor": i.visitor.0,
            "mode": code(&i.mode), "outcome": i.outcome.as_str(), "chat": i.chat.map(|c| c.0),
            "agent": i.agent.map(|a| a.0), "page_url": i.page_url, "sent_at": i.sent_at,
            "answered_at": i.answered_at,
        }}),
    })
}

/// What the endpoint form submits.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EndpointForm {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
}

impl EndpointForm {
    /// The address (see `check_url`), a description of one line, at least one event.
    pub fn validate(
        &self,
        allow_private: bool,
    ) -> Result<(String, String, Vec<EventType>), super::validate::FormErrors> {
        let mut e = super::validate::FormErrors::default();
        let url = e.take("url", check_url(&self.url, allow_private));
        let description = self.description.trim().to_string();
        if description.chars().count() > 200 || description.contains(['\n', '\r']) {
            e.add("description", "One line of at most 200 characters.");
        }
        let mut events = Vec::new();
        for code in &self.events {
            match EventType::from_code(code).filter(|t| *t != EventType::Test) {
                Some(t) if !events.contains(&t) => events.push(t),
                Some(_) => {}
                None => e.add("events", format!("{code} is not an event: choose among those listed.")),
            }
        }
        if events.is_empty() && e.get("events").is_none() {
            e.add("events", "Choose at least one event.");
        }
        e.finish((url, description, events))
    }
}

/// May a webhook reach `ip`? Never an unspecified, broadcast or multicast address; private,
/// loopback, link-local, shared (CGNAT) and unique-local ones only when allowed.
pub fn reachable(ip: IpAddr, allow_private: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    let (never, private) = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            (
                v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || o[0] == 0,
                v4.is_private()
                    || v4.is_loopback()
                    || v4.is_link_local()
                    || (o[0] == 100 && (64..128).contains(&o[1]))
                    || (o[0] == 192 && o[1] == 0 && o[2] == 0),
            )
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (
                v6.is_unspecified() || v6.is_multicast(),
                v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80,
            )
        }
    };
    !never && (allow_private || !private)
}

/// Check an endpoint's address as an admin typed it: `https://` (or `http://` when private
/// targets are allowed), a host, no credentials; an address given as an IP must be reachable.
pub fn check_url(raw: &str, allow_private: bool) -> Result<String, String> {
    let raw = raw.trim();
    let url = url::Url::parse(raw)
        .map_err(|_| "Enter the receiver's address, like https://crm.example.com/parley.".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err("Use https:// (plain http:// only for a receiver on your own network, with [webhooks] allow_private_targets).".into()),
        _ => return Err("Enter an https:// address.".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Put no user name or password in the address: requests are signed instead.".into());
    }
    let ip = match url.host() {
        None => return Err("The address needs a host.".into()),
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain(d)) => {
            if !allow_private && (d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost"))
            {
                return Err("This address is on this machine: webhooks reach public addresses only.".into());
            }
            None
        }
    };
    if let Some(ip) = ip
        && !reachable(ip, allow_private)
    {
        return Err("This address is private, loopback or link-local: webhooks reach public addresses only.".into());
    }
    if raw.len() > 2000 {
        return Err("The address is too long (2,000 characters at most).".into());
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_targets_are_refused_unless_allowed() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = bad.parse().expect("ip");
            assert!(!reachable(ip, false), "{bad} refused");
            assert!(reachable(ip, true), "{bad} allowed with allow_private_targets");
        }
        for never in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "::"] {
            assert!(!reachable(never.parse().expect("ip"), true), "{never} never");
        }
        for public in ["93.184.216.34", "2606:4700::1111"] {
            assert!(reachable(public.parse().expect("ip"), false), "{public} is public");
        }
        assert!(check_url("https://crm.example.com/hook", false).is_ok());
        assert!(check_url("http://crm.example.com/hook", false).is_err(), "https only");
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(check_url("https://127.0.0.1/hook", false).is_err());
        assert!(check_url("https://[::1]/hook", false).is_err());
        assert!(check_url("https://localhost/hook", false).is_err());
        assert!(check_url("https://user:pw@crm.example.com/", false).is_err());
        assert!(check_url("ftp://crm.example.com/", false).is_err());
        assert!(check_url("not a url", false).is_err());
    }

    #[test]
    fn every_event_type_reads_back_from_its_code() {
        for e in EventType::ALL.into_iter().chain([EventType::Test]) {
            assert_eq!(EventType::from_code(e.code()), Some(e));
            assert_eq!(serde_json::to_value(e).ok(), Some(Value::String(e.code().into())));
        }
        assert_eq!(EventType::from_code("chat.deleted"), None);
    }
}
