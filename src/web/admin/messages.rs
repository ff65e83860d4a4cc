//! Messages visitors left when nobody could chat, newest first.

use super::html;
use crate::domain::chat::LeftMessage;
use crate::web::auth::Admin;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::layout::Layout;
use crate::web::list::{ListQuery, Paged};
use crate::web::state::AppState;
use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};

pub struct MessageRow {
    pub msg: LeftMessage,
    /// "2026-11-22 14:05 UTC"
    pub when: String,
}

#[derive(Template)]
#[template(path = "admin/messages.html")]
struct ListPage {
    l: Layout,
    list: Paged<MessageRow>,
}

/// A UTC timestamp people read, without a date-time dependency.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

#[handler]
pub fn list(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let mut rows: Vec<MessageRow> =
        scope.left_messages()?.into_iter().map(|m| MessageRow { when: utc(m.at), msg: m }).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.msg.at));
    let list = Paged::new(rows, &q, format!("/admin/sites/{site}/messages"), |r| {
        vec![r.msg.name.as_str(), r.msg.email.as_str(), r.msg.text.as_str()]
    });
    let site = scope.site()?;
    html(&ListPage { l: Layout::new("Messages left", &csrf, Some(&p)).in_site(&site).tab("messages"), list })
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_read_as_utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(super::utc(1_795_316_511_436), "2026-11-22 03:01 UTC");
    }
}
