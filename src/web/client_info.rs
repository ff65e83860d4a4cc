//! What a visitor's connection says of them: the browser, system and device from the
//! `User-Agent` header (read with `woothee`), and the first language of `Accept-Language`.

use crate::domain::switchboard::ClientInfo;

/// The most a header's text is read; longer is cut.
const MAX_HEADER: usize = 512;

pub fn client_info(user_agent: &str, accept_language: &str) -> ClientInfo {
    let ua: String = user_agent.chars().take(MAX_HEADER).collect();
    let mut info = ClientInfo { language: language(accept_language), ..ClientInfo::default() };
    let Some(r) = woothee::parser::Parser::new().parse(&ua) else { return info };
    let known = |s: &str| !s.is_empty() && s != "UNKNOWN";
    if known(r.name) {
        let major = r.version.split('.').next().filter(|v| known(v)).unwrap_or_default();
        info.browser = if major.is_empty() { r.name.to_string() } else { format!("{} {major}", r.name) };
    }
    let version = if known(&r.os_version) { r.os_version.to_string() } else { String::new() };
    let with = |name: &str| if version.is_empty() { name.to_string() } else { format!("{name} {version}") };
    info.os = match r.os {
        "Mac OSX" => with("macOS"),
        "iPhone" | "iPod" => with("iOS"),
        "iPad" => with("iPadOS"),
        "Android" => with("Android"),
        os if known(os) => os.to_string(),
        _ => String::new(),
    };
    // An iPad, or an Android device without "Mobile", is a tablet.
    let tablet = r.os == "iPad" || (r.os == "Android" && !ua.contains("Mobile"));
    info.device = match r.category {
        _ if tablet => "tablet",
        "pc" => "desktop",
        "smartphone" | "mobilephone" => "phone",
        "crawler" => "bot",
        _ => "",
    }
    .to_string();
    info
}

/// A time zone name as a browser reports it ("Europe/Paris", "America/Argentina/Buenos_Aires",
/// "Etc/GMT+5"), if it looks like one.
pub fn time_zone(zone: &str) -> String {
    let z = zone.trim();
    let ok = !z.is_empty()
        && z.len() <= 64
        && z.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
        && !z.starts_with('/')
        && !z.contains("..");
    if ok { z.to_string() } else { String::new() }
}

/// The first language tag of an `Accept-Language` header ("fr-FR,fr;q=0.9" → "fr-FR"), if it
/// looks like one.
fn language(header: &str) -> String {
    let first = header.split(',').next().unwrap_or_default().split(';').next().unwrap_or_default().trim();
    let ok = !first.is_empty() && first.len() <= 35 && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok && first != "*" { first.to_string() } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_browsers_systems_and_devices_are_told_apart() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                ("Chrome 124", "Windows 10", "desktop"),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
                ("Firefox 128", "Windows 10", "desktop"),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
                ("Edge 124", "Windows 10", "desktop"),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                ("Safari 17", "macOS 10.15.7", "desktop"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                ("Safari 17", "iOS 17.4", "phone"),
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                ("Safari 17", "iPadOS 17.4", "tablet"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
                ("Chrome 124", "Android 14", "phone"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                ("Chrome 124", "Android 13", "tablet"),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                ("Chrome 131", "Linux", "desktop"),
            ),
        ];
        for (ua, (browser, os, device)) in cases {
            let got = client_info(ua, "");
            assert_eq!((got.browser.as_str(), got.os.as_str(), got.device.as_str()), (browser, os, device), "{ua}");
        }
        let nothing = client_info("", "");
        assert_eq!(nothing, ClientInfo::default());
        assert_eq!(client_info(&"x".repeat(100_000), "").browser, "", "a huge header is cut, not parsed whole");
    }

    #[test]
    fn the_first_language_is_kept_when_it_looks_like_one() {
        assert_eq!(language("fr-FR,fr;q=0.9,en;q=0.8"), "fr-FR");
        assert_eq!(language("de"), "de");
        assert_eq!(language("en-US;q=0.8"), "en-US");
        assert_eq!(language("*"), "");
        assert_eq!(language("<script>"), "");
        assert_eq!(language(""), "");
        assert_eq!(time_zone("Europe/Paris"), "Europe/Paris");
        assert_eq!(time_zone("Etc/GMT+5"), "Etc/GMT+5");
        assert_eq!(time_zone("<b>Paris</b>"), "");
        assert_eq!(time_zone(&"A".repeat(65)), "");
    }
}
