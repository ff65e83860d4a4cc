//! Small HTTP helpers: cookies, client addresses, form bodies, safe redirect targets.

use crate::web::error::WebError;
use crate::web::state::AppState;
use poem::http::header;
use poem::web::RemoteAddr;
use poem::{FromRequest, Request, RequestBody};
use serde::de::DeserializeOwned;
use std::net::IpAddr;

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path /, Secure under HTTPS. `max_age` None
/// deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_secs: Option<u64>, secure: bool) -> String {
    let age = max_age_secs.unwrap_or(0);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}")
}

/// The client's address: the connecting peer, or the forwarded one when the peer is a
/// configured trusted proxy.
pub fn client_ip(req: &Request, state: &AppState) -> Option<IpAddr> {
    let peer = match req.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(a)) => Some(a.ip()),
        _ => None,
    };
    let trusted = peer.is_some_and(|p| state.config.trusted_proxies.contains(&p));
    if trusted {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .or_else(|| req.headers().get("x-real-ip").and_then(|v| v.to_str().ok()))
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer
}

/// Only a local path may be a redirect target after sign-in (no `//host`, no scheme).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok =
        next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control);
    ok.then_some(next)
}

/// A form body (`application/x-www-form-urlencoded`) decoded with repeated keys as lists.
pub struct HtmlForm<T>(pub T);

impl<'a, T: DeserializeOwned> FromRequest<'a> for HtmlForm<T> {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let limit = req.data::<AppState>().map(|s| s.config.max_body_bytes).unwrap_or(65536);
        let bytes = body.take()?.into_bytes_limit(limit).await.map_err(|_| WebError::TooLarge)?;
        let value = serde_html_form::from_bytes(&bytes)
            .map_err(|e| WebError::BadRequest(format!("The form is malformed: {e}.")))?;
        Ok(HtmlForm(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/admin/sites"), Some("/admin/sites"));
        for bad in ["//evil.example", "https://evil.example", "admin", "/\\evil", "/a\nb"] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cookies_are_found_among_others() {
        let req = Request::builder().header("cookie", "a=1; parley_session=abc; b=2").finish();
        assert_eq!(cookie(&req, "parley_session"), Some("abc"));
        assert_eq!(cookie(&req, "nope"), None);
    }
}

/// Counts events per key (an uploader, an API token) in one-minute windows.
#[derive(Default)]
pub struct PerMinute(std::sync::Mutex<std::collections::HashMap<String, (u64, u32)>>);

impl PerMinute {
    /// Count one event of `key`, at most `limit` a minute; `Err(seconds to wait)` over it.
    pub fn take(&self, key: &str, limit: u32, now: u64) -> Result<(), u64> {
        let mut m = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() > 10_000 {
            m.retain(|_, (start, _)| now.saturating_sub(*start) < 60_000);
        }
        let e = m.entry(key.to_string()).or_insert((now, 0));
        if now.saturating_sub(e.0) >= 60_000 {
            *e = (now, 0);
        }
        if e.1 >= limit {
            return Err((e.0 + 60_000).saturating_sub(now).div_ceil(1000).max(1));
        }
        e.1 += 1;
        Ok(())
    }
}
