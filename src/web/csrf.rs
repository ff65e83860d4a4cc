//! CSRF protection, checked in one place so no handler can forget it: a signed double-submit
//! token. Every browser gets a random `parley_csrf` cookie; forms carry
//! `HMAC(server secret, cookie)` in the field `csrf_token` (or the header `X-CSRF-Token` for
//! scripts). Every POST/PUT/PATCH/DELETE without the right token is refused with 403 before any
//! handler runs. Combined with SameSite cookies this also covers the sign-in form.

use crate::web::error::WebError;
use crate::web::http::{cookie, set_cookie};
use crate::web::state::{AppState, hex, random_hex};
use hmac::{Hmac, KeyInit, Mac};
use poem::http::{Method, header};
use poem::{Endpoint, FromRequest, IntoResponse, Request, RequestBody, Response};
use sha2::Sha256;
use std::sync::Arc;

pub const COOKIE: &str = "parley_csrf";
pub const FIELD: &str = "csrf_token";
const HEADER: &str = "x-csrf-token";

/// The token to put in this request's forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl<'a> FromRequest<'a> for CsrfToken {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        req.extensions()
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(|| WebError::Internal("csrf middleware missing".into()).into())
    }
}

fn mac(secret: &[u8; 32], cookie_value: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(cookie_value.as_bytes());
    m
}

fn token_for(secret: &[u8; 32], cookie_value: &str) -> String {
    hex(&mac(secret, cookie_value).finalize().into_bytes())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Constant-time check of a submitted token against the cookie.
fn valid(secret: &[u8; 32], cookie_value: &str, submitted: &str) -> bool {
    match unhex(submitted) {
        Some(bytes) if !submitted.is_empty() => mac(secret, cookie_value).verify_slice(&bytes).is_ok(),
        _ => false,
    }
}

/// Is every name and value of a URL-encoded form body, once percent-decoded, UTF-8?
fn form_is_utf8(body: &[u8]) -> bool {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    body.split(|b| *b == b'&' || *b == b'=').all(|part| {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match (part[i], part.get(i + 1).copied().and_then(hex), part.get(i + 2).copied().and_then(hex)) {
                (b'%', Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                (b'+', ..) => {
                    out.push(b' ');
                    i += 1;
                }
                (b, ..) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        std::str::from_utf8(&out).is_ok()
    })
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware (`.around(csrf::guard)`).
pub async fn guard<E: Endpoint>(next: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let state = req.data::<AppState>().cloned().ok_or_else(|| WebError::Internal("no app state".into()))?;
    let existing = cookie(&req, COOKIE).filter(|v| v.len() == 64 && unhex(v).is_some()).map(str::to_string);
    let fresh = existing.is_none();
    let value = existing.unwrap_or_else(|| random_hex(32));
    // `/api/local/` is authenticated by a proof derived from the server secret, `/api/visitor/`
    // by the visitor's token in `Authorization`, and a JSON API request with a bearer token is
    // that token's (the API takes the token over any cookie): none by cookies, which a page of
    // another site could make a browser send. Such a page cannot set `Authorization`.
    let path = req.uri().path();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("bearer ")));
    let cookie_free = path.starts_with("/api/local/")
        || path.starts_with("/api/visitor/")
        || (path.starts_with("/api/v1/") && bearer);
    if is_unsafe(req.method()) && !cookie_free {
        let from_header = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let submitted = match from_header {
            Some(t) => t,
            // Only a form carries the token in its body; anything else needs the header.
            None if !is_form => String::new(),
            None => {
                let body = req
                    .take_body()
                    .into_bytes_limit(state.config.max_body_bytes)
                    .await
                    .map_err(|_| WebError::TooLarge)?;
                // Text that is not UTF-8 would be stored with replacement characters: refused.
                if !form_is_utf8(&body) {
                    return Err(WebError::BadRequest("The form's text is not valid UTF-8.".into()).into());
                }
                let fields: Vec<(String, String)> = serde_html_form::from_bytes(&body).unwrap_or_default();
                req.set_body(body);
                fields.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v).unwrap_or_default()
            }
        };
        if fresh || !valid(&state.secret, &value, &submitted) {
            tracing::info!(path = %req.uri().path(), "refused a request without a valid CSRF token");
            return Err(WebError::Csrf.into());
        }
    }
    req.extensions_mut().insert(CsrfToken(token_for(&state.secret, &value)));
    let mut resp = next.call(req).await?.into_response();
    if fresh {
        let c = set_cookie(COOKIE, &value, Some(365 * 24 * 3600), state.https());
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_with_text_that_is_not_utf8_are_told_apart() {
        assert!(form_is_utf8(b"name=Ren%C3%A9e+Dupont&csrf_token=abc"));
        assert!(form_is_utf8(b"text=%E2%82%AC100&empty=&flag"));
        assert!(form_is_utf8(b"odd=100%+sure"), "a lone % is a percent sign");
        assert!(!form_is_utf8(b"name=%FF%FE"));
        assert!(!form_is_utf8(b"name=Ren%C3e"), "a cut sequence");
        assert!(!form_is_utf8(b"%C3=x"), "names too");
    }

    #[test]
    fn tokens_verify_only_for_their_cookie_and_secret() {
        let secret = [7u8; 32];
        let t = token_for(&secret, "cookie-a");
        assert!(valid(&secret, "cookie-a", &t));
        assert!(!valid(&secret, "cookie-b", &t));
        assert!(!valid(&[8u8; 32], "cookie-a", &t));
        assert!(!valid(&secret, "cookie-a", ""));
        assert!(!valid(&secret, "cookie-a", "zz"));
        assert!(!valid(&secret, "cookie-a", &t[..10]));
    }
}
