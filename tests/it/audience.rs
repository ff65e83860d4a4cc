//! The audience contract, checked on every frame any integration test receives: a visitor's
//! widget never gets agent-only content (notes, transfer comments, decline reasons, agents'
//! emails or ids, `origin`, transfer steps, waiting state), and an agent never gets another
//! site's notes, decline reasons or people's emails in a frame about a chat.
//!
//! What is agent-only is learnt from the tests themselves: every note, transfer comment and
//! decline reason an agent's socket sends, and every person's email created through the admin
//! pages, is recorded here (per server and site) before the server can echo it.

use serde_json::Value;
use std::sync::Mutex;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Secret {
    /// A note or a decline reason: for the agents of its site.
    SiteOnly,
    /// A transfer comment: for agents (of either site of a cross-site transfer).
    AgentsOnly,
    /// A person's email.
    Email,
}

struct Entry {
    server: String,
    site: u64,
    kind: Secret,
    text: String,
}

static SECRETS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// The `host:port` of a URL: secrets are kept per test server.
pub fn server_of(url: &str) -> String {
    url.split("://").nth(1).unwrap_or(url).split('/').next().unwrap_or("").to_string()
}

pub fn record(server: &str, site: u64, kind: Secret, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    let mut s = SECRETS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    s.push(Entry { server: server.to_string(), site, kind, text: text.to_string() });
}

/// Record what an agent's frame carries that only agents may read.
pub fn record_sent(server: &str, site: u64, frame: &Value) {
    match frame["type"].as_str() {
        Some("note") => record(server, site, Secret::SiteOnly, frame["text"].as_str().unwrap_or("")),
        Some("answer_offer") => record(server, site, Secret::SiteOnly, frame["reason"].as_str().unwrap_or("")),
        Some("transfer") => record(server, site, Secret::AgentsOnly, frame["comment"].as_str().unwrap_or("")),
        _ => {}
    }
}

/// Every string of a frame, with the key it is under.
fn strings<'a>(v: &'a Value, key: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
    match v {
        Value::String(s) => out.push((key, s)),
        Value::Array(a) => a.iter().for_each(|x| strings(x, key, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| strings(x, k, out)),
        _ => {}
    }
}

fn keys<'a>(v: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push((k, x));
            keys(x, out)
        }),
        _ => {}
    }
}

/// Does `value` reveal `secret`? Short secrets ("ok") only as a whole value, longer ones anywhere.
fn reveals(value: &str, secret: &str) -> bool {
    if secret.chars().count() < 6 { value.trim() == secret } else { value.contains(secret) }
}

fn leaked(server: &str, frame: &Value, denied: impl Fn(&Entry) -> bool) -> Option<String> {
    let mut found = vec![];
    strings(frame, "", &mut found);
    let secrets = SECRETS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for e in secrets.iter().filter(|e| e.server == server && denied(e)) {
        // The visitor's own email is theirs, not a person's of the organization.
        if let Some((k, v)) = found.iter().find(|(_, v)| reveals(v, &e.text)) {
            return Some(format!("{:?} {:?} under {k:?} in {v:?}", e.kind, e.text));
        }
    }
    None
}

/// Panic if a frame received by a visitor's widget carries anything agents-only.
pub fn check_visitor_frame(server: &str, frame: &Value) {
    let mut found = vec![];
    keys(frame, &mut found);
    for (k, v) in found {
        let denied = matches!(k, "origin" | "waiting_for" | "department" | "email" | "site" | "fields")
            || (k == "agent" && v.is_number())
            || (k == "kind" && (v == "note" || v == "transfer"));
        assert!(!denied, "a visitor received {k:?} ({v}): {frame}");
    }
    if frame["type"] == "event" && frame["kind"] == "survey" {
        return; // the visitor's own words
    }
    if let Some(what) = leaked(server, frame, |_| true) {
        panic!("a visitor received agent-only content: {what}: {frame}");
    }
}

/// Panic if a frame about a chat, received by an agent of `site`, carries another site's
/// notes, decline reasons or people's emails.
pub fn check_agent_frame(server: &str, site: u64, frame: &Value) {
    let about_chats = matches!(
        frame["type"].as_str(),
        Some("event" | "assigned" | "offer" | "history" | "visitor_chats" | "agent_welcome")
    );
    if !about_chats {
        return;
    }
    let other = |e: &Entry| e.site != site && matches!(e.kind, Secret::SiteOnly | Secret::Email);
    if let Some(what) = leaked(server, frame, other) {
        panic!("an agent of site {site} received another site's content: {what}: {frame}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SERVER: &str = "127.0.0.9:1";

    #[test]
    #[should_panic(expected = "a visitor received \"origin\"")]
    fn an_origin_in_a_visitor_frame_is_caught() {
        check_visitor_frame(SERVER, &json!({"type": "chat", "chat": {"id": 2, "origin": {"comment": "x"}}}));
    }

    #[test]
    #[should_panic(expected = "agent-only content")]
    fn a_recorded_comment_in_a_visitor_frame_is_caught() {
        record(SERVER, 1, Secret::AgentsOnly, "VIP, rude last time");
        check_visitor_frame(SERVER, &json!({"type": "event", "kind": "system", "text": "note: VIP, rude last time"}));
    }

    #[test]
    #[should_panic(expected = "another site's content")]
    fn another_sites_note_in_an_agents_history_is_caught() {
        record(SERVER, 1, Secret::SiteOnly, "check the refund twice");
        let h = json!({"type": "history", "events": [{"kind": "message", "text": "check the refund twice"}]});
        check_agent_frame(SERVER, 1, &h);
        check_agent_frame(SERVER, 2, &h);
    }

    #[test]
    fn what_a_visitor_may_read_passes() {
        record(SERVER, 1, Secret::SiteOnly, "ok");
        let f = json!({"type": "event", "kind": "message", "author": {"by": "agent", "name": "Ada"}, "text": "ok, looking"});
        check_visitor_frame(SERVER, &f);
        check_visitor_frame(SERVER, &json!({"type": "invitation", "agent": "Ada", "text": "Hi"}));
    }
}
