//! Compressed responses, chosen by the request's `Accept-Encoding` (brotli, then gzip), always
//! with `Vary: Accept-Encoding`:
//! - embedded files (`/static/…`, `/widget.js`) are compressed once, at their first request,
//!   at the highest level, and kept (`packed`);
//! - pages and JSON are compressed as they go out (`Compress`, a middleware), at a fast level.
//!
//! Only text is compressed (HTML, CSS, JavaScript, JSON, SVG, plain text), and only bodies of
//! at least `MIN_BYTES`. Request bodies are never decompressed.

use bytes::Bytes;
use poem::http::{HeaderMap, HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{LazyLock, Mutex};

/// A content coding Parley sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    /// The `Content-Encoding` value, and the suffix of a compressed variant's ETag.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }
}

/// The coding to answer `headers` with: brotli when accepted, else gzip, else none. A coding
/// given `q=0` is refused; `*` accepts both.
pub fn negotiate(headers: &HeaderMap) -> Coding {
    let mut br = None;
    let mut gzip = None;
    let mut star = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match coding.as_str() {
                "br" => br = Some(q > 0.0),
                "gzip" | "x-gzip" => gzip = Some(q > 0.0),
                "*" => star = Some(q > 0.0),
                _ => {}
            }
        }
    }
    if br.or(star).unwrap_or(false) {
        Coding::Brotli
    } else if gzip.or(star).unwrap_or(false) {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// Bodies smaller than this go out as they are: compression would save next to nothing.
const MIN_BYTES: usize = 1024;

/// Is a body of this `Content-Type` worth compressing?
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.starts_with("text/")
        || matches!(essence, "application/json" | "application/problem+json" | "image/svg+xml")
        || essence.ends_with("+json")
}

/// `data` in `coding` at `level` (brotli 0–11; gzip gets `level` scaled to 0–9).
fn encode(data: &[u8], coding: Coding, level: u32) -> Option<Vec<u8>> {
    match coding {
        Coding::Identity => None,
        Coding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new((level * 9 / 11).min(9)));
            e.write_all(data).ok()?;
            e.finish().ok()
        }
        Coding::Brotli => {
            let mut out = Vec::new();
            let params = brotli::enc::BrotliEncoderParams { quality: level as i32, ..Default::default() };
            brotli::BrotliCompress(&mut &data[..], &mut out, &params).ok()?;
            Some(out)
        }
    }
}

/// Embedded files, compressed: (name, coding) → bytes.
static PACKED: LazyLock<Mutex<HashMap<(String, Coding), Bytes>>> = LazyLock::new(Default::default);

/// The embedded file `name` (content `data`) in `coding`, compressed at the highest level the
/// first time and kept; `None` when it goes out as it is (not text, too small, or not
/// accepted).
pub fn packed(name: &str, data: &[u8], content_type: &str, coding: Coding) -> Option<Bytes> {
    if coding == Coding::Identity || data.len() < MIN_BYTES || !compressible(content_type) {
        return None;
    }
    let key = (name.to_string(), coding);
    if let Some(b) = PACKED.lock().ok()?.get(&key) {
        return Some(b.clone());
    }
    let bytes = Bytes::from(encode(data, coding, 11)?);
    PACKED.lock().ok()?.insert(key, bytes.clone());
    Some(bytes)
}

/// The 200 response for the embedded file `name`: compressed when the request accepts it and
/// the file is worth it, with `Vary`, its `Content-Type`, and `etag` naming the variant sent.
pub fn embedded(req: &HeaderMap, name: &str, data: &[u8], content_type: &'static str, etag: &str) -> Response {
    let coding = negotiate(req);
    let varies = data.len() >= MIN_BYTES && compressible(content_type);
    let mut resp = match (packed(name, data, content_type, coding), coding.name()) {
        (Some(bytes), Some(encoding)) => Response::builder()
            .header(header::CONTENT_ENCODING, encoding)
            .header(header::ETAG, variant_etag(etag, coding))
            .body(bytes),
        _ => Response::builder().header(header::ETAG, etag).body(data.to_vec()),
    };
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if varies {
        resp.headers_mut().append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    resp
}

/// Responses of pages and the JSON API, compressed on the way out (fast levels: brotli 4,
/// gzip 5). A response that already has a `Content-Encoding`, that is not a 200, or whose
/// type is not text is left as it is.
pub struct Compress;

impl<E: Endpoint> Middleware<E> for Compress {
    type Output = CompressEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        CompressEndpoint(ep)
    }
}

pub struct CompressEndpoint<E>(E);

impl<E: Endpoint> Endpoint for CompressEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let coding = negotiate(req.headers());
        let resp = self.0.call(req).await?.into_response();
        let candidate = resp.status() == StatusCode::OK
            && !resp.headers().contains_key(header::CONTENT_ENCODING)
            && resp.content_type().is_some_and(compressible);
        if !candidate {
            return Ok(resp);
        }
        let (mut parts, body) = resp.into_parts();
        parts.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
        let Some(name) = coding.name() else {
            return Ok(Response::from_parts(parts, body));
        };
        let data = body.into_bytes().await?;
        if data.len() < MIN_BYTES {
            return Ok(Response::from_parts(parts, data.into()));
        }
        let level = if coding == Coding::Brotli { 4 } else { 6 };
        match encode(&data, coding, level) {
            Some(packed) => {
                parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
                parts.headers.remove(header::CONTENT_LENGTH);
                if let Some(etag) = parts.headers.get(header::ETAG).and_then(|v| v.to_str().ok()) {
                    if let Ok(v) = HeaderValue::from_str(&variant_etag(etag, coding)) {
                        parts.headers.insert(header::ETAG, v);
                    }
                }
                Ok(Response::from_parts(parts, packed.into()))
            }
            None => Ok(Response::from_parts(parts, data.into())),
        }
    }
}

/// The ETag of a compressed variant: `"abc"` → `"abc-br"` (a strong ETag names one
/// representation).
pub fn variant_etag(etag: &str, coding: Coding) -> String {
    match coding.name() {
        Some(name) => format!("{}-{name}\"", etag.trim_end_matches('"')),
        None => etag.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")));
        h
    }

    #[test]
    fn brotli_is_preferred_then_gzip_and_q_zero_refuses() {
        assert_eq!(negotiate(&accept("gzip, deflate, br")), Coding::Brotli);
        assert_eq!(negotiate(&accept("gzip")), Coding::Gzip);
        assert_eq!(negotiate(&accept("br;q=0, gzip;q=0.5")), Coding::Gzip);
        assert_eq!(negotiate(&accept("identity")), Coding::Identity);
        assert_eq!(negotiate(&accept("*")), Coding::Brotli);
        assert_eq!(negotiate(&accept("*, br;q=0")), Coding::Gzip);
        assert_eq!(negotiate(&HeaderMap::new()), Coding::Identity);
    }

    #[test]
    fn compressed_files_decompress_to_the_original() {
        let data = "body { color: #123456; }\n".repeat(200);
        let br = packed("t.css", data.as_bytes(), "text/css", Coding::Brotli).unwrap_or_default();
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap_or_default();
        assert_eq!(back, data.as_bytes());
        assert!(br.len() < data.len() / 10, "{} bytes", br.len());
        let gz = packed("t.css", data.as_bytes(), "text/css", Coding::Gzip).unwrap_or_default();
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back).unwrap_or_default();
        assert_eq!(back, data);
        assert!(packed("t.png", data.as_bytes(), "image/png", Coding::Brotli).is_none(), "images are not recompressed");
        assert!(packed("s.css", b"tiny", "text/css", Coding::Brotli).is_none(), "small files go out as they are");
    }

    #[test]
    fn variant_etags_name_the_coding() {
        assert_eq!(variant_etag("\"abc\"", Coding::Brotli), "\"abc-br\"");
        assert_eq!(variant_etag("\"abc\"", Coding::Identity), "\"abc\"");
    }
}
