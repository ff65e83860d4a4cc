//! Backups (owner): make one now, list and download them. Daily backups come from the
//! `[backup]` settings; restoring is `parley restore FILE` with the server stopped.

use super::{html, see_other};
use crate::backups::{self, BackupFile};
use crate::web::auth::Owner;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::layout::{Layout, Notice};
use crate::web::state::{AppState, now_ms};
use askama::Template;
use poem::http::header;
use poem::web::{Data, Path, Query};
use poem::{IntoResponse, Response, handler};

#[derive(Template)]
#[template(path = "admin/backups.html")]
struct BackupsPage {
    l: Layout,
    files: Vec<BackupFile>,
    dir: String,
    daily: String,
}

#[handler]
pub fn list(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let dir = state.config.backup_dir();
    let b = &state.config.backup;
    let daily = if b.daily {
        format!("every day at {:02}:{:02} UTC, keeping the newest {}", b.at_minute / 60, b.at_minute % 60, b.keep)
    } else {
        "off".to_string()
    };
    let l = Layout::new("Backups", &csrf, Some(&p)).tab("backups").notice(&n);
    html(&BackupsPage { l, files: backups::list(&dir), dir: dir.display().to_string(), daily })
}

#[handler]
pub async fn create(Owner(_p): Owner, state: Data<&AppState>) -> Result<Response, WebError> {
    let path =
        backups::make(&state.store, &state.config.backup_dir(), now_ms(), state.config.backup.bytes_per_sec).await?;
    tracing::info!(file = %path.display(), "backup made from the admin page");
    Ok(see_other("/admin/backups?ok=backup"))
}

#[handler]
pub async fn download(
    Owner(_p): Owner,
    state: Data<&AppState>,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    if !backups::is_backup_name(&name) {
        return Err(WebError::NotFound);
    }
    let bytes = tokio::fs::read(state.config.backup_dir().join(&name)).await.map_err(|_| WebError::NotFound)?;
    Ok(bytes
        .with_content_type("application/octet-stream")
        .with_header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))
        .into_response())
}
