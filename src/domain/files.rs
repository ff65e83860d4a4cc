//! Files in chat: what a file is as a chat event references it, the types a site allows, and
//! the checks of an upload — its type read from its content (never from the client), its name
//! cleaned, its extension matching its content.

use super::Millis;
use super::ids::{ChatId, SiteId, UserId, VisitorId};
use serde::{Deserialize, Serialize};

/// A family of file types a site may allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum FileCategory {
    /// PNG, JPEG, GIF, WebP: shown inline.
    Image,
    Pdf,
    /// UTF-8 text (plain, CSV, logs; HTML and SVG too, but only ever as downloads).
    Text,
    /// Word, Excel, PowerPoint (old and new formats), OpenDocument.
    Office,
    /// ZIP archives.
    Archive,
}

impl FileCategory {
    pub const ALL: [FileCategory; 5] =
        [FileCategory::Image, FileCategory::Pdf, FileCategory::Text, FileCategory::Office, FileCategory::Archive];
    /// What a new site allows.
    pub const DEFAULT: [FileCategory; 4] =
        [FileCategory::Image, FileCategory::Pdf, FileCategory::Text, FileCategory::Office];

    pub fn code(self) -> &'static str {
        match self {
            FileCategory::Image => "image",
            FileCategory::Pdf => "pdf",
            FileCategory::Text => "text",
            FileCategory::Office => "office",
            FileCategory::Archive => "archive",
        }
    }

    pub fn from_code(s: &str) -> Option<FileCategory> {
        FileCategory::ALL.into_iter().find(|c| c.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            FileCategory::Image => "Images (PNG, JPEG, GIF, WebP)",
            FileCategory::Pdf => "PDF documents",
            FileCategory::Text => "Text files (plain text, CSV, logs)",
            FileCategory::Office => "Office documents (Word, Excel, PowerPoint, OpenDocument)",
            FileCategory::Archive => "ZIP archives",
        }
    }
}

/// A site's file settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteFiles {
    /// Visitors and agents may send files at all.
    pub enabled: bool,
    pub types: Vec<FileCategory>,
}

impl Default for SiteFiles {
    fn default() -> Self {
        SiteFiles { enabled: true, types: FileCategory::DEFAULT.to_vec() }
    }
}

/// A file as a chat event carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// The site that holds it (the chat's).
    pub site: SiteId,
    /// The upload's id in its site.
    pub id: u64,
    /// The secret part of its address (32 hex digits).
    pub key: String,
    pub name: String,
    /// The type read from the content.
    pub mime: String,
    pub size: u64,
}

impl FileRef {
    /// Shown inline (an allowed image type); everything else is a download.
    pub fn is_image(&self) -> bool {
        is_inline_image(&self.mime)
    }

    /// Where it is served (relative to the server): `/files/{site}/{id}/{key}/{name}`.
    pub fn path(&self) -> String {
        format!("/files/{}/{}/{}/{}", self.site.0, self.id, self.key, url_segment(&self.name))
    }
}

pub fn is_inline_image(mime: &str) -> bool {
    matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// Who uploaded a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "id")]
pub enum Uploader {
    Visitor(VisitorId),
    Agent(UserId),
}

/// An upload as the store keeps it (its bytes are in chunks beside it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub id: u64,
    pub site: SiteId,
    pub by: Uploader,
    /// The chat it was uploaded for: it can only be sent there.
    pub chat: ChatId,
    pub key: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub chunks: u32,
    pub created_at: Millis,
    /// All its bytes are stored.
    pub complete: bool,
    /// The event that sent it: (seq, the sender's client id).
    #[serde(default)]
    pub sent: Option<(u64, String)>,
}

impl Upload {
    pub fn file_ref(&self) -> FileRef {
        FileRef {
            site: self.site,
            id: self.id,
            key: self.key.clone(),
            name: self.name.clone(),
            mime: self.mime.clone(),
            size: self.size,
        }
    }
}

/// Why an upload is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    /// The content's type is not one this site takes (`detected`: what it is).
    NotAllowed {
        detected: String,
    },
    /// The name says one type, the content another.
    Mismatch {
        extension: String,
        detected: String,
    },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty_file",
            Refusal::NotAllowed { .. } => "type_not_allowed",
            Refusal::Mismatch { .. } => "type_mismatch",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::Empty => "The file is empty.".into(),
            Refusal::NotAllowed { detected } => format!("Files of this type ({detected}) cannot be sent here."),
            Refusal::Mismatch { extension, detected } => {
                format!("The file's name ends in .{extension} but its content is {detected}.")
            }
        }
    }
}

/// The longest file name kept (in characters).
pub const NAME_MAX: usize = 200;

/// A file name safe to store, show and put in a header: no path (only what follows the last `/`
/// or `\`), no control characters, no quotes, trimmed, at most `NAME_MAX` characters (the
/// extension kept), never empty.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() || matches!(c, '"' | '<' | '>' | '*' | '?' | '|' | ':') { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').trim().to_string();
    let cleaned = if cleaned.is_empty() { "file".to_string() } else { cleaned };
    if cleaned.chars().count() <= NAME_MAX {
        return cleaned;
    }
    let ext: String = match cleaned.rsplit_once('.') {
        Some((_, e)) if !e.is_empty() && e.chars().count() <= 10 => format!(".{e}"),
        _ => String::new(),
    };
    let keep = NAME_MAX - ext.chars().count();
    cleaned.chars().take(keep).chain(ext.chars()).collect()
}

/// The name as one URL path segment.
fn url_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The type of a file from its first bytes (`head`, a few KiB), and its family.
pub fn detect(head: &[u8], complete_utf8: bool) -> (String, Option<FileCategory>) {
    if let Some(t) = infer::get(head) {
        let mime = t.mime_type().to_string();
        let cat = match mime.as_str() {
            m if is_inline_image(m) => Some(FileCategory::Image),
            "application/pdf" => Some(FileCategory::Pdf),
            "application/msword"
            | "application/vnd.ms-excel"
            | "application/vnd.ms-powerpoint"
            | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            | "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            | "application/vnd.oasis.opendocument.text"
            | "application/vnd.oasis.opendocument.spreadsheet"
            | "application/vnd.oasis.opendocument.presentation" => Some(FileCategory::Office),
            "application/zip" => Some(FileCategory::Archive),
            "text/html" | "text/xml" | "image/svg+xml" if complete_utf8 => Some(FileCategory::Text),
            _ => None,
        };
        return (mime, cat);
    }
    if complete_utf8 && !head.contains(&0) {
        let lower: String = String::from_utf8_lossy(&head[..head.len().min(512)]).to_lowercase();
        let trimmed = lower.trim_start();
        let mime = if trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html") {
            "text/html"
        } else if trimmed.starts_with("<svg") || (trimmed.starts_with("<?xml") && lower.contains("<svg")) {
            "image/svg+xml"
        } else {
            "text/plain"
        };
        return (mime.into(), Some(FileCategory::Text));
    }
    ("application/octet-stream".into(), None)
}

/// The family a name's extension claims, if it is one Parley knows.
fn claimed(ext: &str) -> Option<&'static [&'static str]> {
    Some(match ext {
        "png" => &["image/png"],
        "jpg" | "jpeg" | "jfif" => &["image/jpeg"],
        "gif" => &["image/gif"],
        "webp" => &["image/webp"],
        "pdf" => &["application/pdf"],
        "txt" | "text" | "csv" | "log" | "md" => &["text/plain"],
        "html" | "htm" => &["text/html", "text/plain"],
        "svg" => &["image/svg+xml"],
        "doc" => &["application/msword"],
        "xls" => &["application/vnd.ms-excel"],
        "ppt" => &["application/vnd.ms-powerpoint"],
        "docx" => &["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
        "xlsx" => &["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
        "pptx" => &["application/vnd.openxmlformats-officedocument.presentationml.presentation"],
        "odt" => &["application/vnd.oasis.opendocument.text"],
        "ods" => &["application/vnd.oasis.opendocument.spreadsheet"],
        "odp" => &["application/vnd.oasis.opendocument.presentation"],
        "zip" => &["application/zip"],
        _ => return None,
    })
}

/// Judge an upload: its size, its detected type against the site's allowed families, and its
/// name's extension against its content. Returns the type to store.
pub fn judge(name: &str, size: u64, head: &[u8], utf8: bool, allowed: &[FileCategory]) -> Result<String, Refusal> {
    if size == 0 {
        return Err(Refusal::Empty);
    }
    let (mime, cat) = detect(head, utf8);
    if !cat.is_some_and(|c| allowed.contains(&c)) {
        return Err(Refusal::NotAllowed { detected: mime });
    }
    if let Some((_, ext)) = name.rsplit_once('.') {
        let ext = ext.to_ascii_lowercase();
        if let Some(types) = claimed(&ext)
            && !types.contains(&mime.as_str())
        {
            return Err(Refusal::Mismatch { extension: ext, detected: mime });
        }
    }
    Ok(mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

    #[test]
    fn the_type_comes_from_the_content_and_must_match_the_name() {
        let all = FileCategory::DEFAULT;
        assert_eq!(judge("shot.png", 12, PNG, false, &all), Ok("image/png".into()));
        assert_eq!(judge("Shot.PNG", 12, PNG, false, &all), Ok("image/png".into()));
        assert_eq!(judge("no-extension", 12, PNG, false, &all), Ok("image/png".into()));
        assert_eq!(judge("notes.txt", 5, b"hello", true, &all), Ok("text/plain".into()));
        assert_eq!(judge("page.html", 20, b"<!DOCTYPE html><p>", true, &all), Ok("text/html".into()));
        assert_eq!(
            judge("invoice.png", 18, PDF, false, &all),
            Err(Refusal::Mismatch { extension: "png".into(), detected: "application/pdf".into() })
        );
        assert_eq!(
            judge("x.exe", 4, b"MZ\x90\0", false, &all),
            Err(Refusal::NotAllowed { detected: "application/vnd.microsoft.portable-executable".into() })
        );
        assert_eq!(judge("a.txt", 0, b"", true, &all), Err(Refusal::Empty));
        assert!(matches!(judge("a.png", 12, PNG, false, &[FileCategory::Pdf]), Err(Refusal::NotAllowed { .. })));
        assert!(matches!(judge("bin.dat", 3, b"\0\x01\x02", false, &all), Err(Refusal::NotAllowed { .. })));
    }

    #[test]
    fn names_lose_paths_control_characters_and_length_but_keep_their_extension() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\me\\photo.jpg"), "photo.jpg");
        assert_eq!(clean_name("a\r\nb\"c.txt"), "a__b_c.txt");
        assert_eq!(clean_name("   "), "file");
        let long = format!("{}.pdf", "x".repeat(10_000));
        let cleaned = clean_name(&long);
        assert_eq!(cleaned.chars().count(), NAME_MAX);
        assert!(cleaned.ends_with(".pdf"));
        let f = FileRef {
            site: SiteId(2),
            id: 3,
            key: "k".into(),
            name: "my photo é.png".into(),
            mime: "image/png".into(),
            size: 1,
        };
        assert_eq!(f.path(), "/files/2/3/k/my%20photo%20%C3%A9.png");
    }
}
