//! Field validators shared by every form: each takes the raw text a person typed and returns
//! the clean value or a message meant for that person. Errors are collected per field so a form
//! can be re-rendered with every problem shown at once.

use std::ops::RangeInclusive;

/// Problems found in a submitted form, by field name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FormErrors(pub Vec<(String, String)>);

impl FormErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_string(), message.into()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The first message for `field`, if any (templates show one message per field).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
    pub fn single(field: &str, message: impl Into<String>) -> FormErrors {
        let mut e = FormErrors::default();
        e.add(field, message);
        e
    }
    /// Record the error of `r` under `field` and return its value, so validators chain.
    pub fn take<T: Default>(&mut self, field: &str, r: Result<T, String>) -> T {
        match r {
            Ok(v) => v,
            Err(m) => {
                self.add(field, m);
                T::default()
            }
        }
    }
    pub fn finish<T>(self, value: T) -> Result<T, FormErrors> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

pub const NAME_MAX: usize = 100;
pub const TEXT_MAX: usize = 1000;
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 1024;

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// A required one-line name: trimmed, 1..=`max` characters, no control characters.
pub fn name(raw: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("Required.".into());
    }
    if s.chars().count() > max {
        return Err(format!("At most {max} characters."));
    }
    if has_control(s) {
        return Err("Must be on one line, without control characters.".into());
    }
    Ok(s.to_string())
}

/// Optional free text (may span lines): `None` when blank.
pub fn optional_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(format!("At most {max} characters."));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err("Contains control characters.".into());
    }
    Ok(Some(s.replace("\r\n", "\n")))
}

/// An email address, lower-cased. Deliberately simple: one `@`, a dot in the domain, no spaces.
pub fn email(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_lowercase();
    if s.is_empty() {
        return Err("Required.".into());
    }
    let bad = || Err("Enter a valid email address, like name@example.com.".to_string());
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    let Some((local, domain)) = s.split_once('@') else {
        return bad();
    };
    if local.is_empty() || domain.contains('@') || !domain.contains('.') {
        return bad();
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return bad();
    }
    Ok(s)
}

/// A new password and its confirmation.
pub fn new_password(password: &str, confirm: &str) -> Result<String, String> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        return Err(format!("At least {PASSWORD_MIN} characters."));
    }
    if n > PASSWORD_MAX {
        return Err(format!("At most {PASSWORD_MAX} characters."));
    }
    if password != confirm {
        return Err("The two passwords differ.".into());
    }
    Ok(password.to_string())
}

/// A whole number typed in a form, within `range`.
pub fn number(raw: &str, range: RangeInclusive<u32>) -> Result<u32, String> {
    let msg = || format!("A whole number from {} to {}.", range.start(), range.end());
    let n: u32 = raw.trim().parse().map_err(|_| msg())?;
    if range.contains(&n) { Ok(n) } else { Err(msg()) }
}

/// `#rrggbb`, lower-cased.
pub fn color(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_lowercase();
    let ok = s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(s) } else { Err("A colour like #2f6fde.".into()) }
}

/// Comma-separated skills: trimmed, de-duplicated (case-insensitively), at most 20 of 40 chars.
pub fn skills(raw: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if s.chars().count() > 40 || has_control(s) {
            return Err("Each skill is one line of at most 40 characters.".into());
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
            out.push(s.to_string());
        }
    }
    if out.len() > 20 {
        return Err("At most 20 skills.".into());
    }
    Ok(out)
}

/// A machine key for a form field: `[a-z0-9_]`, starting with a letter, at most 32.
pub fn field_key(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(s.to_string()) } else { Err("Lower-case letters, digits and _, starting with a letter.".into()) }
}

/// URL rules, one per line: absolute URLs or paths, `*` as wildcard.
pub fn url_rules(raw: &str) -> Result<Vec<String>, String> {
    let rules: Vec<String> = raw.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    if rules.len() > 20 {
        return Err("At most 20 rules.".into());
    }
    for r in &rules {
        if r.len() > 200 || r.chars().any(char::is_whitespace) {
            return Err(format!(
                "“{}”: one URL pattern per line, without spaces, at most 200 characters.",
                r.chars().take(40).collect::<String>()
            ));
        }
    }
    Ok(rules)
}

/// Does `url` match the rule (`*` matches any run of characters, whole-string match)?
pub fn url_rule_matches(rule: &str, url: &str) -> bool {
    let parts: Vec<&str> = rule.split('*').collect();
    if parts.len() == 1 {
        return rule == url;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !url.starts_with(first) || url.len() < first.len() + last.len() || !url.ends_with(last) {
        return false;
    }
    let mut rest = &url[first.len()..url.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_one_line() {
        assert_eq!(name("  Support  ", 10).as_deref(), Ok("Support"));
        assert!(name("   ", 10).is_err());
        assert!(name("a".repeat(11).as_str(), 10).is_err());
        assert!(name("two\nlines", 100).is_err());
        assert_eq!(name("ééééé", 5).as_deref(), Ok("ééééé"), "counts characters, not bytes");
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ann@Example.COM ").as_deref(), Ok("ann@example.com"));
        for bad in
            ["", "ann", "ann@", "@example.com", "ann@example", "a b@example.com", "a@b@c.com", "a@.com", "a@b..com"]
        {
            assert!(email(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passwords_need_length_and_matching_confirmation() {
        assert!(new_password("short", "short").is_err());
        assert!(new_password("longenough1", "longenough2").is_err());
        assert!(new_password("longenough1", "longenough1").is_ok());
    }

    #[test]
    fn numbers_colors_skills_keys() {
        assert_eq!(number(" 30 ", 5..=600), Ok(30));
        assert!(number("4", 5..=600).is_err());
        assert!(number("x", 5..=600).is_err());
        assert_eq!(color("#AABBCC").as_deref(), Ok("#aabbcc"));
        assert!(color("red").is_err());
        assert_eq!(skills("billing, French ,billing,,french").unwrap(), vec!["billing", "French"]);
        assert!(field_key("order_no").is_ok());
        assert!(field_key("Order").is_err());
        assert!(field_key("1st").is_err());
    }

    #[test]
    fn url_rules_match_with_wildcards() {
        assert!(url_rule_matches("https://shop.example/*", "https://shop.example/cart"));
        assert!(url_rule_matches("*/pricing*", "https://a.example/pricing?x=1"));
        assert!(url_rule_matches("https://a.example/", "https://a.example/"));
        assert!(!url_rule_matches("https://a.example/", "https://a.example/x"));
        assert!(!url_rule_matches("*/checkout", "https://a.example/cart"));
        assert!(url_rule_matches("*a*b*", "xxaxxbxx"));
        assert!(!url_rule_matches("*ab*ba*", "xaba"));
        assert!(url_rules("/a\n\n https://x/* ").unwrap().len() == 2);
        assert!(url_rules("has space").is_err());
    }
}
