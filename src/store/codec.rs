//! The value encoding: one version byte, then JSON of the value's stored shape. The stored shape
//! belongs to the store: a type implements `Record` to say which shape it is written in, and
//! how every version it was ever written in reads back. So a change to a domain type cannot
//! silently change what is on disk, and an old version keeps its own decoder (see `stored.rs`
//! for the chat records and events, written in their own stored types).
//!
//! Records that still store their domain type as it is (sites, people, campaigns, …) are
//! listed in `json_records!` below, at version 1; fields added later carry serde defaults.

use super::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub const V1: u8 = 1;

/// A value as a table stores it.
pub trait Record: Sized {
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Result<Self, StoreError>;
}

pub fn encode<T: Record>(value: &T) -> Vec<u8> {
    value.encode()
}

pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, StoreError> {
    T::decode(bytes)
}

/// `version`, then the JSON of `value`.
pub fn json_encode<T: Serialize>(version: u8, value: &T) -> Vec<u8> {
    let mut out = vec![version];
    // Serializing plain data structs into a Vec cannot fail.
    serde_json::to_writer(&mut out, value).expect("records serialize");
    out
}

pub fn json_decode<T: DeserializeOwned>(json: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(json).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The version byte and the rest.
pub fn split(bytes: &[u8]) -> Result<(u8, &[u8]), StoreError> {
    bytes.split_first().map(|(v, rest)| (*v, rest)).ok_or_else(|| StoreError::Corrupt("empty record".into()))
}

pub fn unknown_version(v: u8) -> StoreError {
    StoreError::Corrupt(format!("unknown record encoding {v}"))
}

/// Types stored as their own serde shape, at version 1.
macro_rules! json_records {
    ($($t:ty),* $(,)?) => {
        $(
            impl Record for $t {
                fn encode(&self) -> Vec<u8> {
                    json_encode(V1, self)
                }
                fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
                    match split(bytes)? {
                        (V1, json) => json_decode(json),
                        (v, _) => Err(unknown_version(v)),
                    }
                }
            }
        )*
    };
}

json_records!(
    crate::domain::model::Site,
    crate::domain::model::Group,
    crate::domain::model::User,
    crate::domain::model::Department,
    crate::domain::model::Campaign,
    crate::domain::chat::LeftMessage,
    crate::domain::proactive::InvitationRecord,
    crate::domain::proactive::CannedReply,
    crate::domain::mail::Mail,
    crate::domain::mail::AccountLink,
    crate::domain::files::Upload,
    crate::domain::tokens::ApiToken,
    crate::domain::webhooks::Endpoint,
    crate::domain::webhooks::Delivery,
    super::SessionRecord,
    super::VisitorRecord,
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Old {
        a: u32,
    }
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct New {
        a: u32,
        #[serde(default)]
        b: String,
    }
    json_records!(Old, New);

    #[test]
    fn old_records_decode_into_grown_types() {
        let bytes = encode(&Old { a: 7 });
        assert_eq!(decode::<New>(&bytes).ok(), Some(New { a: 7, b: String::new() }));
    }

    /// One record of every type stored in its domain shape, and that shape as it must stay.
    fn records() -> Vec<(&'static str, Vec<u8>)> {
        use crate::domain::chat::LeftMessage;
        use crate::domain::ids::*;
        use crate::domain::model::*;
        use crate::domain::proactive::*;
        let site = Site {
            id: SiteId(1),
            name: "Acme".into(),
            created_at: 5,
            default_campaign: Some(CampaignId(2)),
            transfer: TransferSettings::default(),
            enabled: true,
            mail: Default::default(),
            files: Default::default(),
        };
        let user = User {
            id: UserId(3),
            site: SiteId(1),
            role: Role::Agent,
            name: "Ada".into(),
            email: "ada@example.com".into(),
            password_hash: "$argon2id$x".into(),
            skills: vec!["german".into()],
            max_chats: 4,
            active: true,
            session_epoch: 1,
            created_at: 5,
            prefs: ConsolePrefs::default(),
            away: false,
        };
        let department = Department {
            id: DepartmentId(4),
            site: SiteId(1),
            name: "Desk".into(),
            members: vec![UserId(3)],
            rule: AllocationRule::LeastBusy,
        };
        let mut campaign = Campaign::test(CampaignId(2), SiteId(1));
        campaign.messages.greeting = Some("Hi".into());
        campaign.prechat =
            vec![PrechatField { key: "name".into(), label: "Name".into(), kind: FieldKind::Text, required: true }];
        campaign.department = Some(DepartmentId(4));
        let group = Group { id: GroupId(6), name: "EU".into(), sites: vec![SiteId(1), SiteId(7)] };
        let left = LeftMessage {
            id: 8,
            site: SiteId(1),
            campaign: CampaignId(2),
            visitor: VisitorId(9),
            name: "Vera".into(),
            email: "vera@example.com".into(),
            text: "Call me".into(),
            at: 10,
            page: "https://shop.example/".into(),
            handled_at: Some(12),
            handled_by: "Ann".into(),
        };
        let invitation = InvitationRecord {
            id: InvitationId(11),
            site: SiteId(1),
            campaign: CampaignId(2),
            visitor: VisitorId(9),
            mode: InvitationMode::Manual,
            agent: Some(UserId(3)),
            text: "Hello?".into(),
            page_url: "https://shop.example/".into(),
            sent_at: 12,
            outcome: InvitationOutcome::Accepted,
            answered_at: Some(13),
            chat: Some(ChatId(14)),
        };
        let canned = CannedReply {
            id: CannedId(15),
            site: SiteId(1),
            shortcut: "hi".into(),
            text: "Hello!".into(),
            updated_at: 16,
        };
        vec![
            ("site", encode(&site)),
            ("user", encode(&user)),
            ("department", encode(&department)),
            ("campaign", encode(&campaign)),
            ("group", encode(&group)),
            ("left message", encode(&left)),
            ("invitation", encode(&invitation)),
            ("canned reply", encode(&canned)),
        ]
    }

    /// The records stored in their domain shape keep that shape: a change to one of those
    /// domain types fails here, and must come with its own stored type and version (as
    /// `stored.rs` does for chats and events) so that stored data keeps reading back.
    #[test]
    fn the_stored_shapes_of_domain_records_stay_as_they_are() {
        let expected = [
            r##"{"id":1,"name":"Acme","created_at":5,"default_campaign":2,"transfer":{"warm_timeout_secs":30,"notify_visitor":true,"transcript_cross_site":true},"enabled":true,"mail":{"notify":[],"missed_chats":false,"language":"en"},"files":{"enabled":true,"types":["image","pdf","text","office"]}}"##,
            r##"{"id":3,"site":1,"role":"agent","name":"Ada","email":"ada@example.com","password_hash":"$argon2id$x","skills":["german"],"max_chats":4,"active":true,"session_epoch":1,"created_at":5,"prefs":{"sound":true,"notify":true,"front_on_chat":false,"front_on_message":false},"away":false}"##,
            r##"{"id":4,"site":1,"name":"Desk","members":[3],"rule":"least_busy"}"##,
            r##"{"id":2,"site":1,"name":"c2","language":"en","messages":{"greeting":"Hi","queue":null,"transfer":null,"offline":null},"style":{"title":"","color":"#2f6fde","position":"right"},"prechat":[{"key":"name","label":"Name","kind":"text","required":true}],"postchat":{"enabled":true,"question":"","comment":true},"department":4,"notify_transfer":false,"proactive":{"mode":"disabled","after_secs":0,"url_rules":[],"invitation_text":"","reinvite_after_mins":0},"created_at":0}"##,
            r##"{"id":6,"name":"EU","sites":[1,7]}"##,
            r##"{"id":8,"site":1,"campaign":2,"visitor":9,"name":"Vera","email":"vera@example.com","text":"Call me","at":10,"page":"https://shop.example/","handled_at":12,"handled_by":"Ann"}"##,
            r##"{"id":11,"site":1,"campaign":2,"visitor":9,"mode":"manual","agent":3,"text":"Hello?","page_url":"https://shop.example/","sent_at":12,"outcome":"accepted","answered_at":13,"chat":14}"##,
            r##"{"id":15,"site":1,"shortcut":"hi","text":"Hello!","updated_at":16}"##,
        ];
        for ((what, bytes), want) in records().into_iter().zip(expected) {
            assert_eq!(bytes[0], V1, "{what}");
            let got = std::str::from_utf8(&bytes[1..]).expect("utf-8");
            assert_eq!(got, want, "the stored shape of a {what} changed");
        }
    }

    #[test]
    fn unknown_versions_are_refused() {
        assert!(matches!(decode::<Old>(&[9, b'{', b'}']), Err(StoreError::Corrupt(_))));
        assert!(decode::<Old>(&[]).is_err());
    }
}
