//! The value encoding: one version byte, then JSON. Records evolve by adding fields with serde
//! defaults (old bytes still decode); a change that defaults cannot express bumps the version
//! byte and gets a decoder branch here.

use super::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

const V1: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![V1];
    // Serializing plain data structs into a Vec cannot fail.
    serde_json::to_writer(&mut out, value).expect("records serialize");
    out
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&V1, rest)) => serde_json::from_slice(rest).map_err(|e| StoreError::Corrupt(e.to_string())),
        Some((v, _)) => Err(StoreError::Corrupt(format!("unknown record encoding {v}"))),
        None => Err(StoreError::Corrupt("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Old {
        a: u32,
    }
    #[derive(Deserialize, Debug, PartialEq)]
    struct New {
        a: u32,
        #[serde(default)]
        b: String,
    }

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
