//! `GET /widget.js`: the visitor widget, embedded in the binary (`static/widget.js`), loaded by
//! the organization's web sites with one `<script>` tag. Any origin may load it (it is public),
//! and browsers that enforce `Cross-Origin-Resource-Policy` on other sites' pages accept it. A
//! short cache keeps upgrades reaching visitors within minutes.

use crate::web::assets::Assets;
use crate::web::error::WebError;
use crate::web::state::hex;
use poem::http::header;
use poem::{IntoResponse, Request, Response, handler};

#[handler]
pub fn script(req: &Request) -> Result<Response, WebError> {
    let file = Assets::get("widget.js").ok_or(WebError::NotFound)?;
    let current = hex(&file.metadata.sha256_hash()[..8]);
    let etag = format!("\"{current}\"");
    // Any variant's ETag (compressed or not) names the current script.
    let fresh = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|t| t.trim().trim_start_matches("W/").trim_matches('"').split('-').next() == Some(&current))
    });
    let resp = if fresh {
        Response::builder().status(poem::http::StatusCode::NOT_MODIFIED).header(header::ETAG, etag).finish()
    } else {
        crate::web::compress::embedded(req.headers(), "widget.js", &file.data, "text/javascript; charset=utf-8", &etag)
    };
    Ok(resp
        .with_header(header::CACHE_CONTROL, "public, max-age=300")
        .with_header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .with_header("cross-origin-resource-policy", "cross-origin")
        .into_response())
}
