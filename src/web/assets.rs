//! Static files embedded in the binary (`static/`), served under a fingerprinted path
//! `/static/<hash>/<name>` and cached forever; a stale hash still gets the file, uncached.

use crate::web::error::WebError;
use crate::web::state::hex;
use poem::http::{StatusCode, header};
use poem::web::Path;
use poem::{Response, handler};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
pub struct Assets;

fn fingerprint(name: &str) -> Option<String> {
    Assets::get(name).map(|f| hex(&f.metadata.sha256_hash()[..6]))
}

/// The URL of an embedded file, for templates.
pub fn url(name: &str) -> String {
    format!("/static/{}/{name}", fingerprint(name).unwrap_or_else(|| "missing".into()))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" => "application/json",
        "html" => "text/html; charset=utf-8",
        "ogg" => "audio/ogg",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// A stale or foreign hash (an ES module imported by a relative path from another module's
/// URL) is served with `no-cache`: the browser revalidates and gets a 304 while it is current.
#[handler]
pub fn serve(Path((hash, name)): Path<(String, String)>, req: &poem::Request) -> Result<Response, WebError> {
    let file = Assets::get(&name).ok_or(WebError::NotFound)?;
    let current = hex(&file.metadata.sha256_hash()[..6]);
    let cache = if hash == current { "public, max-age=31536000, immutable" } else { "no-cache" };
    let etag = format!("\"{current}\"");
    // Any variant's ETag (compressed or not) names the current content.
    let unchanged =
        req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains(&current));
    if unchanged {
        return Ok(Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::CACHE_CONTROL, cache)
            .header(header::ETAG, etag)
            .finish());
    }
    let mut resp = crate::web::compress::embedded(req.headers(), &name, &file.data, content_type(&name), &etag);
    resp.headers_mut().insert(header::CACHE_CONTROL, poem::http::HeaderValue::from_static(cache));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_templates_name_exists() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut checked = 0;
        for entry in walk(&dir) {
            let text = std::fs::read_to_string(&entry).unwrap_or_default();
            for part in text.split("url(\"").skip(1) {
                let name = part.split('"').next().unwrap_or_default();
                assert!(Assets::get(name).is_some(), "{} names missing asset {name}", entry.display());
                checked += 1;
            }
        }
        assert!(checked > 0, "no template names an asset through url()");
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = vec![];
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
        out
    }
}
