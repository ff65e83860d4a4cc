use super::*;
use crate::domain::chat::{
    Author, ChatEvent, ChatRecord, ChatState, EventKind, Origin, TransferKind, TransferOutcome, VisitorInfo,
};
use crate::domain::ids::{CampaignId, ChatId, ConnId, DepartmentId, SiteId, UserId, VisitorId};
use crate::domain::switchboard::sim::{AGENTS_ONLY, run_observed};
use crate::domain::switchboard::{Effect, Switchboard};

fn event(chat: u64, seq: u64, kind: EventKind) -> ChatEvent {
    ChatEvent { chat: ChatId(chat), seq, at: 1000, client_id: Some("m1".into()), kind }
}

fn json(f: &Frame) -> serde_json::Value {
    serde_json::from_str(&f.json).expect("json")
}

/// A chat that came from another site, with everything agents-only filled in.
fn transferred_chat() -> ChatRecord {
    let info = VisitorInfo { name: "Vera".into(), email: "vera@example.com".into(), ..Default::default() };
    let mut rec =
        ChatRecord::queued(ChatId(9), SiteId(2), CampaignId(4), VisitorId(5), Some(DepartmentId(3)), info, 1000);
    rec.state = ChatState::WaitingFor(UserId(7));
    rec.origin = Some(Origin {
        site: SiteId(1),
        site_name: "Shop".into(),
        chat: ChatId(8),
        agent: UserId(2),
        agent_name: "Ada".into(),
        at: 900,
        comment: "French speaker, parcel 77 — VIP, rude last time".into(),
        with_transcript: true,
        copied: 3,
    });
    rec
}

/// The words and keys that must never reach a visitor's widget.
fn assert_visitor_safe(json: &str, context: &str) {
    for denied in [
        AGENTS_ONLY,
        "\"origin\"",
        "\"waiting_for\"",
        "\"department\"",
        "\"email\"",
        "\"kind\":\"note\"",
        "\"kind\":\"transfer\"",
        "\"comment\":\"AGENTS",
        "rude last time",
        "\"site\"",
        "\"offer",
    ] {
        assert!(!json.contains(denied), "{context}: a visitor frame carries {denied}: {json}");
    }
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    // Agents are named to visitors, never numbered.
    let mut stack = vec![&v];
    while let Some(x) = stack.pop() {
        if let Some(o) = x.as_object() {
            assert!(!o.get("agent").is_some_and(|a| a.is_number()), "{context}: an agent id reaches a visitor: {json}");
            stack.extend(o.values());
        } else if let Some(a) = x.as_array() {
            stack.extend(a);
        }
    }
}

#[test]
fn event_frames_flatten_the_event_and_remember_its_seq() {
    let e = event(7, 3, EventKind::Message { file: None, author: Author::Visitor, text: "hi".into() });
    let f = render(Target::Agent(UserId(1)), &Out::Event(e)).expect("agents see messages");
    assert_eq!((f.event, f.audience), (Some((ChatId(7), 3)), Audience::Agent));
    let v = json(&f);
    assert_eq!((v["type"].as_str(), v["kind"].as_str()), (Some("event"), Some("message")));
    assert_eq!((v["author"]["by"].as_str(), v["seq"].as_u64()), (Some("visitor"), Some(3)));
    assert_eq!(v["client_id"], "m1");
}

#[test]
fn client_frames_reject_unknown_types_and_fields() {
    assert!(serde_json::from_str::<VisitorIn>(r#"{"type":"hello","v":1,"campaign":3}"#).is_ok());
    assert!(serde_json::from_str::<VisitorIn>(r#"{"type":"shout"}"#).is_err());
    assert!(serde_json::from_str::<VisitorIn>(r#"{"type":"ping","x":1}"#).is_err());
    assert!(serde_json::from_str::<AgentIn>(r#"{"type":"presence","presence":"away"}"#).is_ok());
    assert!(serde_json::from_str::<AgentIn>(r#"{"type":"presence","presence":"asleep"}"#).is_err());
}

#[test]
fn a_visitor_never_receives_notes_transfer_steps_or_agent_ids() {
    let note = event(9, 4, EventKind::Note { agent: UserId(7), name: "Ada".into(), text: "VIP, rude".into() });
    let step = event(
        9,
        5,
        EventKind::Transfer {
            transfer: TransferKind::CrossSite,
            outcome: TransferOutcome::Completed,
            from: UserId(2),
            to_agent: None,
            to_department: None,
            to_site: Some(SiteId(2)),
            comment: "rude last time".into(),
            replied: true,
            reason: None,
            decline_text: String::new(),
        },
    );
    for e in [note, step] {
        assert!(render(Target::Visitor(VisitorId(5)), &Out::Event(e.clone())).is_none());
        assert!(render(Target::VisitorConn(ConnId(1)), &Out::Event(e.clone())).is_none());
        assert!(render(Target::Agent(UserId(7)), &Out::Event(e)).is_some());
    }
    let reply = event(
        9,
        6,
        EventKind::Message {
            file: None,
            author: Author::Agent { agent: UserId(7), name: "Ada".into() },
            text: "Bonjour".into(),
        },
    );
    let f = render(Target::Visitor(VisitorId(5)), &Out::Event(reply)).expect("a visitor sees replies");
    assert_eq!(f.audience, Audience::Visitor);
    let v = json(&f);
    assert_eq!(v["author"], serde_json::json!({"by": "agent", "name": "Ada"}));
    assert!(v.get("client_id").is_none(), "an agent's message id is theirs: {v}");
    assert_visitor_safe(&f.json, "reply");
    let joined = event(9, 7, EventKind::Assigned { agent: UserId(7), name: "Ada".into() });
    let f = render(Target::Visitor(VisitorId(5)), &Out::Event(joined)).expect("a visitor sees who joined");
    assert_eq!(json(&f)["name"], "Ada");
    assert_visitor_safe(&f.json, "assigned");
}

#[test]
fn the_chat_frame_after_a_cross_site_transfer_carries_nothing_of_its_origin() {
    let rec = transferred_chat();
    let f = render(Target::Visitor(VisitorId(5)), &Out::Chat(rec.clone())).expect("chat frame");
    assert_visitor_safe(&f.json, "chat");
    assert_eq!(json(&f)["chat"], serde_json::json!({"id": 9, "status": "queued", "last_seq": 0, "has_email": true}));
    // The receiving agent reads the origin (without the other site's chat id).
    let f = render(Target::Agent(UserId(7)), &Out::Assigned(rec)).expect("assigned frame");
    let v = json(&f);
    assert_eq!(v["chat"]["origin"]["comment"], "French speaker, parcel 77 — VIP, rude last time");
    assert_eq!(v["chat"]["origin"]["site_name"], "Shop");
    assert!(v["chat"]["origin"].get("chat").is_none() && v["chat"]["origin"].get("site").is_none());
}

#[test]
fn agents_frames_never_reach_a_visitor_target() {
    let rec = transferred_chat();
    let outs = [
        Out::Assigned(rec.clone()),
        Out::Offer {
            chat: rec,
            from: UserId(2),
            from_name: "Ada".into(),
            note: "rude".into(),
            expires_at: 1,
            broadcast: false,
        },
        Out::Unassigned { chat: ChatId(9) },
        Out::Typing { chat: ChatId(9), by_agent: false, on: true },
    ];
    for out in &outs {
        assert!(render(Target::Visitor(VisitorId(5)), out).is_none(), "{out:?}");
        assert!(render(Target::VisitorConn(ConnId(3)), out).is_none(), "{out:?}");
    }
    // And the other way: a visitor's frames are not turned into anything for a console.
    let visitors = [
        Out::Chat(transferred_chat()),
        Out::Offline { chat: None },
        Out::Queue { chat: ChatId(9), position: 1, eta_secs: None },
    ];
    for out in &visitors {
        assert!(render(Target::Agent(UserId(7)), out).is_none(), "{out:?}");
    }
}

#[test]
fn every_error_code_is_its_serialized_name() {
    let mut seen = std::collections::BTreeSet::new();
    for e in WireError::ALL {
        let code = e.code();
        assert!(!code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{e:?}");
        assert!(seen.insert(code), "{e:?} twice");
        let f = Frame::error(Audience::Visitor, e, ErrorDetail::default());
        assert_eq!(json(&f)["code"], e.code());
        assert_eq!(json(&f)["message"], e.message());
    }
}

/// The contract, checked over the seeded simulation: every frame the switchboard addresses to
/// a visitor, rendered as it would be sent, carries nothing agents-only and no event of
/// another visitor's chat; every chat-bearing frame to an agent is of a chat of the agent's
/// own site.
#[test]
fn the_simulation_sends_visitors_nothing_agents_only_and_agents_nothing_of_other_sites() {
    let mut visitor_frames = 0;
    let mut dropped = 0;
    let mut check = |sb: &Switchboard, e: &Effect| {
        let Effect::Send(target, out) = e else { return };
        let frame = render(*target, out);
        match (target, frame) {
            (t, Some(f)) if t.is_visitor() => {
                visitor_frames += 1;
                assert_eq!(f.audience, Audience::Visitor);
                assert_visitor_safe(&f.json, &format!("{out:?}"));
                if let (Target::Visitor(v), Out::Event(ev)) = (t, out) {
                    let owner = sb.chat(ev.chat).map(|c| c.visitor);
                    assert_eq!(owner, Some(*v), "another visitor's chat event: {ev:?}");
                }
            }
            (t, None) if t.is_visitor() => dropped += 1,
            (Target::Agent(a), Some(f)) => {
                assert_eq!(f.audience, Audience::Agent);
                let chat = match out {
                    Out::Event(ev) => Some(ev.chat),
                    Out::Assigned(c) | Out::Offer { chat: c, .. } => Some(c.id),
                    _ => None,
                };
                let site = |id: u64| if id < 100 { SiteId(1) } else { SiteId(2) };
                if let Some(chat) = chat.and_then(|c| sb.chat(c)) {
                    assert_eq!(chat.site, site(a.0), "agent {a} got a frame of another site's chat {}", chat.id);
                }
            }
            _ => {}
        }
    };
    for seed in [1, 7, 42] {
        run_observed(seed, 3_000, &mut check);
    }
    assert!(visitor_frames > 1_000, "the simulation sent visitors {visitor_frames} frames only");
    assert!(dropped == 0, "the core addressed {dropped} agents-only outputs to visitors");
}

/// The code of a serializable code enum.
fn code_of(v: impl serde::Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The quoted strings between `start` and the next `end` in `src`.
fn quoted_in<'a>(src: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let Some(from) = src.find(start).map(|i| i + start.len()) else { panic!("{start} not found") };
    let block = &src[from..from + src[from..].find(end).expect("end")];
    block.split('\'').skip(1).step_by(2).collect()
}

/// The keys of the object literal that follows `start`.
fn keys_in<'a>(src: &'a str, start: &str) -> Vec<&'a str> {
    let Some(from) = src.find(start).map(|i| i + start.len()) else { panic!("{start} not found") };
    let block = &src[from..from + src[from..].find("};").expect("end")];
    block.lines().filter_map(|l| l.trim().split_once(':')).map(|(k, _)| k.trim()).filter(|k| !k.is_empty()).collect()
}

/// The widget's and the console's copies of codes: each must be one the server sends, and the
/// word tables must cover exactly the server's reasons. A renamed or added code fails here.
#[test]
fn the_clients_copies_of_codes_match_the_servers() {
    let widget = include_str!("../../../static/widget.js");
    let main = include_str!("../../../static/console-main.js");
    let transfer = include_str!("../../../static/console-transfer.js");
    let chat = include_str!("../../../static/console-chat.js");
    let errors: Vec<String> = WireError::ALL.iter().map(|e| e.code()).collect();
    let mut compared = vec![];
    for src in [widget, main] {
        for piece in src.split("code === '").skip(1) {
            compared.push(piece.split('\'').next().unwrap_or(""));
        }
    }
    compared.extend(quoted_in(transfer, "TRANSFER_ERRORS = new Set([", "]);"));
    assert!(compared.len() >= 15, "the clients compare error codes: {compared:?}");
    for code in compared {
        assert!(errors.iter().any(|e| e == code), "a client expects the unknown error code {code:?}");
    }
    let mut withdrawn = keys_in(transfer, "const WITHDRAWN = {");
    let mut expected: Vec<String> = crate::domain::chat::Withdrawal::ALL.iter().map(code_of).collect();
    withdrawn.sort_unstable();
    expected.sort();
    assert_eq!(withdrawn, expected, "the console's words for withdrawn offers");
    let mut stops = keys_in(chat, "export const STOP_WORDS = {");
    let mut expected: Vec<String> = crate::domain::chat::StopReason::ALL.iter().map(code_of).collect();
    stops.sort_unstable();
    expected.sort();
    assert_eq!(stops, expected, "the console's words for a transfer's reason");
}
