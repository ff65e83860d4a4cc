//! The pre-chat form: checking a visitor's answers against their campaign's form (required
//! fields, lengths, email addresses), pure.

use super::chat::VisitorInfo;
use super::model::{Campaign, FieldKind};
use super::validate;
use std::collections::BTreeMap;

/// Check the pre-chat answers against the campaign's form; `Err((field, message))`.
pub fn answers(c: &Campaign, mut fields: BTreeMap<String, String>) -> Result<VisitorInfo, (String, String)> {
    let mut info = VisitorInfo::default();
    for f in &c.prechat {
        let value = fields.remove(&f.key).unwrap_or_default().trim().to_string();
        if value.is_empty() {
            if f.required {
                return Err((f.key.clone(), format!("“{}” is required.", f.label)));
            }
            continue;
        }
        if value.chars().count() > 1000 {
            return Err((f.key.clone(), format!("“{}” is too long (at most 1000 characters).", f.label)));
        }
        if f.kind == FieldKind::Email && validate::email(&value).is_err() {
            return Err((f.key.clone(), format!("“{}” must be an email address.", f.label)));
        }
        match f.key.as_str() {
            "name" => info.name = value,
            "email" => info.email = value.to_lowercase(),
            _ => {
                info.fields.insert(f.key.clone(), value);
            }
        }
    }
    // Name and email are kept even when the form does not ask for them (cross-site transfers
    // carry them); other unknown answers are dropped.
    for key in ["name", "email"] {
        if let Some(value) = fields.remove(key) {
            let value: String = value.trim().chars().take(200).collect();
            if key == "name" && info.name.is_empty() {
                info.name = value;
            } else if key == "email" && info.email.is_empty() && validate::email(&value).is_ok() {
                info.email = value.to_lowercase();
            }
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{CampaignId, SiteId};
    use crate::domain::model::PrechatField;

    fn form() -> Campaign {
        let mut c = Campaign::test(CampaignId(1), SiteId(1));
        let field = |key: &str, label: &str, kind, required| PrechatField {
            key: key.into(),
            label: label.into(),
            kind,
            required,
        };
        c.prechat = vec![
            field("name", "Your name", FieldKind::Text, true),
            field("email", "Email", FieldKind::Email, false),
            field("order", "Order number", FieldKind::Text, false),
        ];
        c
    }

    fn answers_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn answers_are_trimmed_sorted_into_the_visitors_info_and_unknown_ones_dropped() {
        let got = answers(
            &form(),
            answers_of(&[("name", " Vera "), ("email", "Vera@Example.com"), ("order", "77"), ("x", "y")]),
        );
        let info = got.expect("valid");
        assert_eq!((info.name.as_str(), info.email.as_str()), ("Vera", "vera@example.com"));
        assert_eq!(info.fields, answers_of(&[("order", "77")]));
    }

    #[test]
    fn each_field_rule_names_the_field_and_its_label() {
        let err = |pairs: &[(&str, &str)]| answers(&form(), answers_of(pairs)).err();
        assert_eq!(err(&[]), Some(("name".into(), "“Your name” is required.".into())));
        assert_eq!(err(&[("name", "  ")]), Some(("name".into(), "“Your name” is required.".into())));
        assert_eq!(err(&[("name", "V"), ("email", "not-an-address")]).map(|e| e.0), Some("email".into()));
        let long = "x".repeat(1001);
        assert_eq!(
            err(&[("name", &long)]).map(|e| e.1),
            Some("“Your name” is too long (at most 1000 characters).".into())
        );
    }

    #[test]
    fn name_and_email_are_kept_when_the_form_does_not_ask_for_them() {
        let c = Campaign::test(CampaignId(1), SiteId(1));
        let info = answers(&c, answers_of(&[("name", "Vera"), ("email", "bad"), ("order", "1")])).expect("valid");
        assert_eq!((info.name.as_str(), info.email.as_str()), ("Vera", ""), "an invalid email is dropped");
        assert!(info.fields.is_empty());
    }
}
