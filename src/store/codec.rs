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

    #[test]
    fn unknown_versions_are_refused() {
        assert!(matches!(decode::<Old>(&[9, b'{', b'}']), Err(StoreError::Corrupt(_))));
        assert!(decode::<Old>(&[]).is_err());
    }
}
