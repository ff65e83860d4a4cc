//! The stored shapes of chats (`CHATS`) and chat events (`CHAT_EVENTS`): the store's own types,
//! converted to and from the domain's at the table boundary, with every version ever written
//! kept readable.
//!
//! - chat record, version 1: `StoredChat`.
//! - chat event, version 1: a transfer step's `reason` was English prose ("no answer", "chat
//!   ended", "unavailable", or the declining agent's words). Version 2 stores the reason as a
//!   code and the agent's words apart (`decline_text`). Version 1 events read back as version 2
//!   (`KindV1::upgrade`).

use super::StoreError;
use super::codec::{Record, json_decode, json_encode, split, unknown_version};
use crate::domain::Millis;
use crate::domain::chat::{
    Author, ChatEvent, ChatRecord, ChatState, ChatStatus, EndedBy, EventKind, Origin, StopReason, Survey, TransferKind,
    TransferOutcome, VisitorInfo,
};
use crate::domain::ids::{CampaignId, ChatId, DepartmentId, SiteId, UserId, VisitorId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stored code enum and its domain twin, converted both ways by name.
macro_rules! codes {
    ($stored:ident <-> $domain:ident { $($v:ident),* $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum $stored { $($v),* }
        impl From<$domain> for $stored {
            fn from(d: $domain) -> $stored {
                match d { $($domain::$v => $stored::$v),* }
            }
        }
        impl From<$stored> for $domain {
            fn from(s: $stored) -> $domain {
                match s { $($stored::$v => $domain::$v),* }
            }
        }
    };
}

codes!(Status <-> ChatStatus { Queued, Active, Ended });
codes!(Ended <-> EndedBy { Visitor, Agent, NoAgent, Transfer });
codes!(Kind <-> TransferKind { Cold, Warm, Unavailable, Queue, Broadcast, CrossSite });
codes!(Outcome <-> TransferOutcome { Offered, Accepted, Declined, Expired, Cancelled, Completed, Waiting });
codes!(Stop <-> StopReason { Declined, NoAnswer, ChatEnded, Unavailable, Restart });

const CHAT_V1: u8 = 1;
const EVENT_V1: u8 = 1;
const EVENT_V2: u8 = 2;

#[derive(Serialize, Deserialize)]
struct Info {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    page_url: String,
    #[serde(default)]
    page_title: String,
}

#[derive(Serialize, Deserialize)]
struct Rating {
    rating: u8,
    #[serde(default)]
    comment: String,
}

#[derive(Serialize, Deserialize)]
struct From_ {
    site: SiteId,
    site_name: String,
    chat: ChatId,
    agent: UserId,
    agent_name: String,
    at: Millis,
    comment: String,
    with_transcript: bool,
    #[serde(default)]
    copied: u64,
}

/// A chat's summary, version 1.
#[derive(Serialize, Deserialize)]
struct StoredChat {
    id: ChatId,
    site: SiteId,
    campaign: CampaignId,
    visitor: VisitorId,
    department: Option<DepartmentId>,
    status: Status,
    agent: Option<UserId>,
    info: Info,
    created_at: Millis,
    queued_at: Millis,
    assigned_at: Option<Millis>,
    ended_at: Option<Millis>,
    ended_by: Option<Ended>,
    last_seq: u64,
    #[serde(default)]
    survey: Option<Rating>,
    #[serde(default)]
    waiting_for: Option<UserId>,
    #[serde(default)]
    origin: Option<From_>,
}

impl Record for ChatRecord {
    fn encode(&self) -> Vec<u8> {
        let (status, agent, ended_at, ended_by, waiting_for) =
            (self.status(), self.agent(), self.ended_at(), self.ended_by(), self.waiting_for());
        let c = self.clone();
        let i = c.info;
        let stored = StoredChat {
            id: c.id,
            site: c.site,
            campaign: c.campaign,
            visitor: c.visitor,
            department: c.department,
            status: status.into(),
            agent,
            info: Info {
                name: i.name,
                email: i.email,
                fields: i.fields,
                page_url: i.page_url,
                page_title: i.page_title,
            },
            created_at: c.created_at,
            queued_at: c.queued_at,
            assigned_at: c.assigned_at,
            ended_at,
            ended_by: ended_by.map(Into::into),
            last_seq: c.last_seq,
            survey: c.survey.map(|s| Rating { rating: s.rating, comment: s.comment }),
            waiting_for,
            origin: c.origin.map(|o| From_ {
                site: o.site,
                site_name: o.site_name,
                chat: o.chat,
                agent: o.agent,
                agent_name: o.agent_name,
                at: o.at,
                comment: o.comment,
                with_transcript: o.with_transcript,
                copied: o.copied,
            }),
        };
        json_encode(CHAT_V1, &stored)
    }

    fn decode(bytes: &[u8]) -> Result<ChatRecord, StoreError> {
        let c: StoredChat = match split(bytes)? {
            (CHAT_V1, json) => json_decode(json)?,
            (v, _) => return Err(unknown_version(v)),
        };
        let state = match (c.status, c.agent, c.waiting_for) {
            (Status::Ended, agent, _) => {
                let (Some(at), Some(by)) = (c.ended_at, c.ended_by) else {
                    return Err(StoreError::Corrupt(format!("chat {} ended with no end recorded", c.id)));
                };
                ChatState::Ended { at, by: by.into(), agent }
            }
            (Status::Active, Some(agent), _) => ChatState::Active(agent),
            (_, _, Some(agent)) => ChatState::WaitingFor(agent),
            // Queued, or (never written so) active without an agent: it waits in its queue.
            _ => ChatState::Queued,
        };
        let i = c.info;
        Ok(ChatRecord {
            id: c.id,
            site: c.site,
            campaign: c.campaign,
            visitor: c.visitor,
            department: c.department,
            state,
            info: VisitorInfo {
                name: i.name,
                email: i.email,
                fields: i.fields,
                page_url: i.page_url,
                page_title: i.page_title,
            },
            created_at: c.created_at,
            queued_at: c.queued_at,
            assigned_at: c.assigned_at,
            last_seq: c.last_seq,
            survey: c.survey.map(|s| Survey { rating: s.rating, comment: s.comment }),
            origin: c.origin.map(|o| Origin {
                site: o.site,
                site_name: o.site_name,
                chat: o.chat,
                agent: o.agent,
                agent_name: o.agent_name,
                at: o.at,
                comment: o.comment,
                with_transcript: o.with_transcript,
                copied: o.copied,
            }),
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
enum Writer {
    Visitor,
    Agent { agent: UserId, name: String },
}

/// A file sent in a message, as stored (added to version 2 messages: absent in the older ones).
#[derive(Serialize, Deserialize)]
struct File2 {
    site: SiteId,
    id: u64,
    key: String,
    name: String,
    mime: String,
    size: u64,
}

/// The kinds of event as version 2 stores them.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Kind2 {
    Message {
        author: Writer,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<File2>,
    },
    Note {
        agent: UserId,
        name: String,
        text: String,
    },
    System {
        text: String,
    },
    Queued {
        department: Option<DepartmentId>,
    },
    Assigned {
        agent: UserId,
        name: String,
    },
    Ended {
        by: Ended,
    },
    Survey {
        rating: u8,
        comment: String,
    },
    Transfer {
        transfer: Kind,
        outcome: Outcome,
        from: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_agent: Option<UserId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_department: Option<DepartmentId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_site: Option<SiteId>,
        #[serde(default)]
        comment: String,
        #[serde(default)]
        replied: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Stop>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        decline_text: String,
    },
}

/// Version 1 of the transfer step (the other kinds are as in version 2).
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Kind1 {
    Transfer {
        transfer: Kind,
        outcome: Outcome,
        from: UserId,
        #[serde(default)]
        to_agent: Option<UserId>,
        #[serde(default)]
        to_department: Option<DepartmentId>,
        #[serde(default)]
        to_site: Option<SiteId>,
        #[serde(default)]
        comment: String,
        #[serde(default)]
        replied: bool,
        /// "no answer", "chat ended", "unavailable", or a declining agent's words.
        #[serde(default)]
        reason: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Serialize, Deserialize)]
struct StoredEvent<K> {
    chat: ChatId,
    seq: u64,
    at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(flatten)]
    kind: K,
}

impl Record for ChatEvent {
    fn encode(&self) -> Vec<u8> {
        let kind = match self.kind.clone() {
            EventKind::Message { author, text, file } => Kind2::Message {
                author: match author {
                    Author::Visitor => Writer::Visitor,
                    Author::Agent { agent, name } => Writer::Agent { agent, name },
                },
                text,
                file: file.map(|f| File2 {
                    site: f.site,
                    id: f.id,
                    key: f.key,
                    name: f.name,
                    mime: f.mime,
                    size: f.size,
                }),
            },
            EventKind::Note { agent, name, text } => Kind2::Note { agent, name, text },
            EventKind::System { text } => Kind2::System { text },
            EventKind::Queued { department } => Kind2::Queued { department },
            EventKind::Assigned { agent, name } => Kind2::Assigned { agent, name },
            EventKind::Ended { by } => Kind2::Ended { by: by.into() },
            EventKind::Survey { rating, comment } => Kind2::Survey { rating, comment },
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
            } => Kind2::Transfer {
                transfer: transfer.into(),
                outcome: outcome.into(),
                from,
                to_agent,
                to_department,
                to_site,
                comment,
                replied,
                reason: reason.map(Into::into),
                decline_text,
            },
        };
        let stored =
            StoredEvent { chat: self.chat, seq: self.seq, at: self.at, client_id: self.client_id.clone(), kind };
        json_encode(EVENT_V2, &stored)
    }

    fn decode(bytes: &[u8]) -> Result<ChatEvent, StoreError> {
        let e: StoredEvent<Kind2> = match split(bytes)? {
            (EVENT_V2, json) => json_decode(json)?,
            (EVENT_V1, json) => {
                let old: StoredEvent<Kind1> = json_decode(json)?;
                match upgrade(old.kind) {
                    Some(kind) => {
                        StoredEvent { chat: old.chat, seq: old.seq, at: old.at, client_id: old.client_id, kind }
                    }
                    // Every other kind is stored as in version 2.
                    None => json_decode(json)?,
                }
            }
            (v, _) => return Err(unknown_version(v)),
        };
        Ok(ChatEvent { chat: e.chat, seq: e.seq, at: e.at, client_id: e.client_id, kind: e.kind.into() })
    }
}

/// A version 1 transfer step as version 2: its prose reason becomes a code, and a declining
/// agent's own words go to `decline_text`. `None` for the other kinds (unchanged in version 2).
fn upgrade(kind: Kind1) -> Option<Kind2> {
    let Kind1::Transfer { transfer, outcome, from, to_agent, to_department, to_site, comment, replied, reason } = kind
    else {
        return None;
    };
    let (reason, decline_text) = match (reason.as_str(), outcome) {
        ("no answer", _) => (Some(Stop::NoAnswer), String::new()),
        ("chat ended", _) => (Some(Stop::ChatEnded), String::new()),
        ("unavailable", _) => (Some(Stop::Unavailable), String::new()),
        (_, Outcome::Declined) => (Some(Stop::Declined), reason),
        _ => (None, String::new()),
    };
    Some(Kind2::Transfer {
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
    })
}

impl From<Kind2> for EventKind {
    fn from(k: Kind2) -> EventKind {
        match k {
            Kind2::Message { author, text, file } => EventKind::Message {
                author: match author {
                    Writer::Visitor => Author::Visitor,
                    Writer::Agent { agent, name } => Author::Agent { agent, name },
                },
                text,
                file: file.map(|f| crate::domain::files::FileRef {
                    site: f.site,
                    id: f.id,
                    key: f.key,
                    name: f.name,
                    mime: f.mime,
                    size: f.size,
                }),
            },
            Kind2::Note { agent, name, text } => EventKind::Note { agent, name, text },
            Kind2::System { text } => EventKind::System { text },
            Kind2::Queued { department } => EventKind::Queued { department },
            Kind2::Assigned { agent, name } => EventKind::Assigned { agent, name },
            Kind2::Ended { by } => EventKind::Ended { by: by.into() },
            Kind2::Survey { rating, comment } => EventKind::Survey { rating, comment },
            Kind2::Transfer {
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
            } => EventKind::Transfer {
                transfer: transfer.into(),
                outcome: outcome.into(),
                from,
                to_agent,
                to_department,
                to_site,
                comment,
                replied,
                reason: reason.map(Into::into),
                decline_text,
            },
        }
    }
}

/// The JSON of a stored chat and its events, as the visitor's export shows everything stored.
pub fn export_chat(c: &ChatRecord, events: &[ChatEvent]) -> Result<serde_json::Value, StoreError> {
    let json = |bytes: &[u8]| -> Result<serde_json::Value, StoreError> { json_decode(split(bytes)?.1) };
    let events: Vec<serde_json::Value> = events.iter().map(|e| json(&e.encode())).collect::<Result<_, _>>()?;
    Ok(serde_json::json!({ "chat": json(&c.encode())?, "events": events }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(json: &str) -> Vec<u8> {
        let mut b = vec![EVENT_V1];
        b.extend_from_slice(json.as_bytes());
        b
    }

    fn stop(e: &ChatEvent) -> (Option<StopReason>, &str) {
        match &e.kind {
            EventKind::Transfer { reason, decline_text, .. } => (*reason, decline_text.as_str()),
            other => panic!("not a transfer step: {other:?}"),
        }
    }

    #[test]
    fn version_1_transfer_reasons_read_back_as_codes_and_the_decliners_words() {
        let step = |reason: &str, outcome: &str| {
            v1(&format!(
                r#"{{"chat":3,"seq":9,"at":5,"kind":"transfer","transfer":"warm","outcome":"{outcome}","from":2,"to_agent":4,"comment":"VIP","replied":true,"reason":"{reason}"}}"#
            ))
        };
        let read = |b: Vec<u8>| ChatEvent::decode(&b).expect("decodes");
        assert_eq!(stop(&read(step("no answer", "expired"))), (Some(StopReason::NoAnswer), ""));
        assert_eq!(stop(&read(step("chat ended", "cancelled"))), (Some(StopReason::ChatEnded), ""));
        assert_eq!(stop(&read(step("unavailable", "declined"))), (Some(StopReason::Unavailable), ""));
        assert_eq!(stop(&read(step("in a meeting", "declined"))), (Some(StopReason::Declined), "in a meeting"));
        assert_eq!(stop(&read(step("", "declined"))), (Some(StopReason::Declined), ""));
        assert_eq!(stop(&read(step("", "completed"))), (None, ""));
        let e = read(step("", "completed"));
        assert_eq!((e.chat, e.seq, e.at), (ChatId(3), 9, 5));
    }

    #[test]
    fn version_1_events_of_other_kinds_read_as_they_were() {
        let msg = v1(
            r#"{"chat":3,"seq":1,"at":5,"client_id":"m1","kind":"message","author":{"by":"agent","agent":2,"name":"Ada"},"text":"Hi"}"#,
        );
        let e = ChatEvent::decode(&msg).expect("decodes");
        assert_eq!(e.client_id.as_deref(), Some("m1"));
        assert_eq!(
            e.kind,
            EventKind::Message {
                file: None,
                author: Author::Agent { agent: UserId(2), name: "Ada".into() },
                text: "Hi".into()
            }
        );
    }

    #[test]
    fn a_stored_chat_reads_back_into_its_state() {
        let chat = |fields: &str| {
            let json = format!(
                r#"{{"id":1,"site":2,"campaign":3,"visitor":4,"department":null,"info":{{}},"created_at":5,"queued_at":5,"assigned_at":null,"last_seq":2,{fields}}}"#
            );
            let mut b = vec![CHAT_V1];
            b.extend_from_slice(json.as_bytes());
            ChatRecord::decode(&b)
        };
        let state = |fields: &str| chat(fields).map(|c| c.state).ok();
        assert_eq!(
            state(r#""status":"active","agent":7,"ended_at":null,"ended_by":null"#),
            Some(ChatState::Active(UserId(7)))
        );
        assert_eq!(
            state(r#""status":"queued","agent":null,"ended_at":null,"ended_by":null,"waiting_for":8"#),
            Some(ChatState::WaitingFor(UserId(8)))
        );
        assert_eq!(state(r#""status":"queued","agent":null,"ended_at":null,"ended_by":null"#), Some(ChatState::Queued));
        assert_eq!(
            state(r#""status":"ended","agent":7,"ended_at":9,"ended_by":"no_agent""#),
            Some(ChatState::Ended { at: 9, by: EndedBy::NoAgent, agent: Some(UserId(7)) })
        );
        assert!(matches!(
            chat(r#""status":"ended","agent":7,"ended_at":null,"ended_by":null"#),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn events_and_chats_read_back_what_was_written() {
        let e = ChatEvent {
            chat: ChatId(1),
            seq: 4,
            at: 9,
            client_id: None,
            kind: EventKind::Transfer {
                transfer: TransferKind::Warm,
                outcome: TransferOutcome::Declined,
                from: UserId(1),
                to_agent: Some(UserId(2)),
                to_department: None,
                to_site: None,
                comment: "note".into(),
                replied: false,
                reason: Some(StopReason::Declined),
                decline_text: "busy".into(),
            },
        };
        assert_eq!(ChatEvent::decode(&e.encode()).ok(), Some(e));
        let mut c =
            ChatRecord::queued(ChatId(1), SiteId(2), CampaignId(3), VisitorId(4), None, VisitorInfo::default(), 5);
        c.state = ChatState::Ended { at: 9, by: EndedBy::Transfer, agent: Some(UserId(6)) };
        assert_eq!(ChatRecord::decode(&c.encode()).ok(), Some(c));
        assert!(ChatEvent::decode(&[7, b'{', b'}']).is_err(), "an unknown version is refused");
    }

    #[test]
    fn a_message_with_a_file_reads_back_and_one_without_keeps_its_old_shape() {
        let file = crate::domain::files::FileRef {
            site: SiteId(2),
            id: 7,
            key: "k".into(),
            name: "a.png".into(),
            mime: "image/png".into(),
            size: 5,
        };
        let kind = EventKind::Message { author: Author::Visitor, text: String::new(), file: Some(file) };
        let e = ChatEvent { chat: ChatId(1), seq: 2, at: 3, client_id: Some("v1".into()), kind };
        assert_eq!(ChatEvent::decode(&e.encode()).ok(), Some(e));
        let plain = ChatEvent {
            chat: ChatId(1),
            seq: 2,
            at: 3,
            client_id: None,
            kind: EventKind::Message { author: Author::Visitor, text: "hi".into(), file: None },
        };
        let json = String::from_utf8_lossy(&plain.encode()[1..]).to_string();
        assert!(!json.contains("file"), "{json}");
    }
}
