//! Reports: a site's figures over a date range in a time zone, by day or hour (a chart drawn as
//! SVG on the server, a table under it, tables per agent, department and campaign, transfers
//! and invitations), every table as CSV; and the owner's comparison of the sites. The filters
//! are in the URL, so a report can be bookmarked. Figures are read from the statistics cells
//! (`store::stats`), never from the chats; definitions: docs/statistics.md.

use super::html;
use crate::domain::chat::TransferKind;
use crate::domain::model::{Role, Site};
use crate::domain::stats::{Bucketing, Dim, Figures, Granularity, Histogram, InvitationCounts, Resolution};
use crate::store::SiteStore;
use crate::web::auth::{Admin, Owner};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::layout::Layout;
use crate::web::state::{AppState, now_ms};
use askama::Template;
use poem::http::header;
use poem::web::{Data, Path, Query};
use poem::{IntoResponse, Response, handler};
use serde::Deserialize;
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;
const MIN_MS: i64 = 60_000;

/// The filters, as the form in the page sends them (all optional).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (local).
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
    /// The time zone: minutes east of UTC.
    pub tz: Option<String>,
    /// `day` or `hour`.
    pub by: Option<String>,
    /// A table to download as CSV instead of the page.
    pub csv: Option<String>,
}

/// The filters, checked.
#[derive(Debug)]
struct Range {
    from_day: i64,
    to_day: i64,
    tz: i32,
    by: Granularity,
    /// [start, end) in Unix ms.
    start: i64,
    end: i64,
}

fn date_of(days: i64) -> String {
    crate::domain::utc((days.max(0) * DAY_MS) as u64)[..10].to_string()
}

/// The time zones offered: every offset in use, as minutes east of UTC.
const ZONES: [i32; 38] = [
    -720, -660, -600, -570, -540, -480, -420, -360, -300, -240, -210, -180, -120, -60, 0, 60, 120, 180, 210, 240, 270,
    300, 330, 345, 360, 390, 420, 480, 525, 540, 570, 600, 630, 660, 720, 765, 780, 840,
];

fn zone_label(tz: i32) -> String {
    let sign = if tz < 0 { '−' } else { '+' };
    format!("UTC{sign}{:02}:{:02}", tz.abs() / 60, tz.abs() % 60)
}

impl ReportQuery {
    /// Check the filters; the defaults are the last 7 days in UTC, by day.
    fn range(&self, now: u64) -> Result<Range, String> {
        let tz = match self.tz.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => 0,
            Some(s) => match s.parse::<i32>() {
                Ok(v) if ZONES.contains(&v) => v,
                _ => return Err("Choose a time zone from the list.".into()),
            },
        };
        let today = (now as i64 + i64::from(tz) * MIN_MS).div_euclid(DAY_MS);
        let day = |v: &Option<String>, default: i64, what: &str| match v.as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(s) => crate::domain::parse_day(s).ok_or(format!("The {what} date is not a date like 2026-11-22.")),
        };
        let to_day = day(&self.to, today, "last")?;
        let from_day = day(&self.from, to_day - 6, "first")?;
        if from_day > to_day {
            return Err("The first day comes after the last day.".into());
        }
        let by = match self.by.as_deref() {
            None | Some("") | Some("day") => Granularity::Day,
            Some("hour") => Granularity::Hour,
            Some(_) => return Err("Show the figures by day or by hour.".into()),
        };
        if to_day - from_day >= 366 {
            return Err("A report covers at most 366 days.".into());
        }
        if by == Granularity::Hour && to_day - from_day >= 31 {
            return Err("By hour, a report covers at most 31 days.".into());
        }
        let offset = i64::from(tz) * MIN_MS;
        Ok(Range { from_day, to_day, tz, by, start: from_day * DAY_MS - offset, end: (to_day + 1) * DAY_MS - offset })
    }
}

fn dur(h: &Histogram, p: u8) -> String {
    match h.percentile(p) {
        None => "—".into(),
        Some(ms) if ms < 60_000 => format!("{} s", ms.div_ceil(1000)),
        Some(ms) if ms < 3_600_000 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        Some(ms) => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

fn rating(f: &Figures) -> String {
    match f.rating_mean_x100() {
        Some(m) => format!("{}.{:02} ({})", m / 100, m % 100, f.rating_count()),
        None => "—".into(),
    }
}

/// A table as the page and the CSV show it.
pub struct Table {
    pub key: &'static str,
    pub caption: String,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// A sentence saying what the table counts.
    pub note: &'static str,
}

impl Table {
    fn csv(&self) -> String {
        let cell = |s: &str| {
            // Quote every cell; a leading = + - @ could run as a formula in a spreadsheet.
            let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
            format!("\"{}\"", s.replace('"', "\"\""))
        };
        let mut out = String::new();
        for row in std::iter::once(self.head.iter().map(|s| s.to_string()).collect::<Vec<_>>()).chain(self.rows.clone())
        {
            out.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        out
    }
}

fn count(n: u64) -> String {
    n.to_string()
}

fn chat_columns(f: &Figures) -> Vec<String> {
    vec![
        count(f.chats),
        count(f.chats_answered),
        count(f.chats_missed),
        dur(&f.chat_first_response, 50),
        dur(&f.queue_wait, 50),
        dur(&f.queue_wait, 90),
        count(f.abandoned()),
        count(f.transfers_out.total()),
        rating(f),
    ]
}

const CHAT_HEAD: [&str; 9] = [
    "Chats",
    "Answered",
    "Missed",
    "First response (median)",
    "Queue wait (median)",
    "Queue wait (90th pct.)",
    "Abandoned in queue",
    "Transfers out",
    "Rating (count)",
];

fn agent_row(name: String, f: &Figures) -> Vec<String> {
    vec![
        name,
        count(f.offered),
        count(f.accepted),
        count(f.answered),
        count(f.unanswered),
        count(f.last_contacts),
        dur(&f.first_response, 50),
        dur(&f.first_response, 90),
        dur(&f.handle_time, 50),
        dur(&f.handle_time, 90),
        count(f.transfers_out.total()),
        count(f.transfers_in.total()),
        rating(f),
    ]
}

const AGENT_HEAD: [&str; 13] = [
    "Agent",
    "Offered",
    "Accepted",
    "Answered",
    "Unanswered",
    "Last contact",
    "First response (median)",
    "First response (90th pct.)",
    "Handle time (median)",
    "Handle time (90th pct.)",
    "Transfers out",
    "Transfers in",
    "Rating (count)",
];

const KINDS: [(TransferKind, &str); 6] = [
    (TransferKind::Cold, "Cold"),
    (TransferKind::Warm, "Warm"),
    (TransferKind::Queue, "To a queue"),
    (TransferKind::Broadcast, "Broadcast"),
    (TransferKind::Unavailable, "To an unavailable agent"),
    (TransferKind::CrossSite, "To another site"),
];

fn transfer_table(f: &Figures) -> Table {
    let t = &f.transfers_out;
    let rows = KINDS
        .iter()
        .map(|(k, label)| {
            let mut row = vec![label.to_string()];
            row.extend(Resolution::ALL.iter().map(|r| count(t.count(*k, *r))));
            row.push(dur(t.accept_time(*k), 50));
            row
        })
        .collect();
    Table {
        key: "transfers",
        caption: "Transfers by kind and outcome".into(),
        head: vec!["Kind", "Accepted", "Declined", "Timed out", "Cancelled", "Abandoned", "Time to accept (median)"],
        rows,
        note: "Transfers asked for in the range, by how they ended.",
    }
}

fn invitation_row(label: &str, c: &InvitationCounts) -> Vec<String> {
    vec![label.into(), count(c.sent), count(c.accepted), count(c.refused), count(c.ignored), count(c.chats)]
}

fn invitation_table(f: &Figures) -> Table {
    Table {
        key: "invitations",
        caption: "Proactive chat".into(),
        head: vec!["Kind", "Sent", "Accepted", "Refused", "Ignored", "Chats"],
        rows: vec![
            invitation_row("Automatic invitations", &f.invitations_auto),
            invitation_row("Invitations by agents", &f.invitations_manual),
            invitation_row("Alerts to agents (without invitation)", &f.alerts),
        ],
        note: "For alerts, accepted means an agent opened the chat.",
    }
}

/// One bar of the chart: answered and missed chats of a bucket.
pub struct Bar {
    pub x: u32,
    pub w: u32,
    pub answered_y: u32,
    pub answered_h: u32,
    pub missed_y: u32,
    pub missed_h: u32,
    pub label: String,
    pub title: String,
    /// Show the label under the bar (not every one fits).
    pub labelled: bool,
}

pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub plot_top: u32,
    pub plot_bottom: u32,
    pub bars: Vec<Bar>,
    /// (y, label) of the horizontal grid lines.
    pub ticks: Vec<(u32, String)>,
}

fn chart(points: &[(String, Figures)]) -> Chart {
    let (width, height, left, top, bottom) = (760u32, 260u32, 44u32, 10u32, 220u32);
    let max = points.iter().map(|(_, f)| f.chats_answered + f.chats_missed).max().unwrap_or(0).max(1);
    // A round top: 1, 2 or 5 times a power of ten.
    let mut top_value = 1u64;
    while top_value < max {
        top_value = match top_value.to_string().chars().next() {
            Some('1') => top_value * 2,
            Some('2') => top_value / 2 * 5,
            _ => top_value * 2,
        };
    }
    let plot_h = bottom - top;
    let scale = |v: u64| (v * u64::from(plot_h) / top_value) as u32;
    let n = points.len().max(1) as u32;
    let slot = (width - left - 8) / n;
    let w = (slot * 7 / 10).max(1);
    let every = (n / 12).max(1) as usize;
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, (label, f))| {
            let (a, m) = (f.chats_answered, f.chats_missed);
            let answered_h = scale(a);
            let missed_h = scale(a + m) - answered_h;
            Bar {
                x: left + i as u32 * slot + (slot - w) / 2,
                w,
                answered_y: bottom - answered_h,
                answered_h,
                missed_y: bottom - answered_h - missed_h,
                missed_h,
                label: label.clone(),
                title: format!("{label}: {a} answered, {m} missed"),
                labelled: i % every == 0,
            }
        })
        .collect();
    // Four steps, or one per unit when the top is below 4 (no repeated labels).
    let steps = top_value.min(4) as u32;
    let ticks = (0..=steps)
        .map(|k| (bottom - plot_h * k / steps, (top_value * u64::from(k) / u64::from(steps)).to_string()))
        .collect();
    Chart { width, height, plot_top: top, plot_bottom: bottom, bars, ticks }
}

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct ReportPage {
    l: Layout,
    site: Option<Site>,
    action: String,
    from: String,
    to: String,
    tz: i32,
    by_hour: bool,
    zones: Vec<(i32, String)>,
    error: Option<String>,
    chart: Option<Chart>,
    tables: Vec<Table>,
    csv_base: String,
}

impl ReportPage {
    fn csv_url(&self, table: &str) -> String {
        format!("{}&csv={table}", self.csv_base)
    }
}

fn csv_response(t: &Table, name: &str) -> Response {
    t.csv()
        .with_content_type("text/csv; charset=utf-8")
        .with_header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}-{}.csv\"", t.key))
        .into_response()
}

fn query_string(r: &Range) -> String {
    format!(
        "from={}&to={}&tz={}&by={}",
        date_of(r.from_day),
        date_of(r.to_day),
        r.tz,
        if r.by == Granularity::Hour { "hour" } else { "day" }
    )
}

/// One table's rows: the dimensions of a kind that exist (`known`, with their names) and any
/// other with figures in the range (deleted since: "`former` #id"), each through `row`.
fn dim_rows(
    scope: &SiteStore,
    kind: &str,
    known: Vec<(Dim, String)>,
    former: &str,
    start: u64,
    end: u64,
    row: impl Fn(String, &Figures) -> Vec<String>,
) -> Result<Vec<Vec<String>>, WebError> {
    let mut dims: Vec<Dim> = known.iter().map(|(d, _)| *d).chain(scope.stats_dims(kind)?).collect();
    dims.sort();
    dims.dedup();
    let name = |d: Dim| {
        known.iter().find(|(k, _)| *k == d).map(|(_, n)| n.clone()).unwrap_or_else(|| {
            let id = match d {
                Dim::Agent(a) => a.0,
                Dim::Campaign(c) => c.0,
                Dim::Department(d) => d.map(|d| d.0).unwrap_or(0),
                Dim::Site => 0,
            };
            format!("{former} #{id}")
        })
    };
    Ok(scope.stats_totals(&dims, start, end)?.into_iter().map(|(d, f)| row(name(d), &f)).collect())
}

/// The figures of a site for the range: the over-time table and chart, then the tables.
fn site_tables(scope: &SiteStore, r: &Range) -> Result<(Chart, Vec<Table>), WebError> {
    let bucketing = Bucketing::new(r.tz, r.by);
    let series: BTreeMap<_, _> =
        scope.stats_series(Dim::Site, r.start as u64, r.end as u64, bucketing)?.into_iter().collect();
    let step = if r.by == Granularity::Hour { 3_600_000 } else { DAY_MS };
    let mut points = Vec::new();
    let mut at = r.start;
    while at < r.end {
        let b = bucketing.bucket(at as u64);
        points.push((bucketing.label(b), series.get(&b).cloned().unwrap_or_default()));
        at += step;
    }
    let mut over_time = Table {
        key: "over-time",
        caption: format!("Chats by {}", if r.by == Granularity::Hour { "hour" } else { "day" }),
        head: std::iter::once(if r.by == Granularity::Hour { "Hour" } else { "Day" }).chain(CHAT_HEAD).collect(),
        rows: vec![],
        note: "Chats are counted when they started; answered: some agent wrote to the visitor.",
    };
    for (label, f) in &points {
        let mut row = vec![label.clone()];
        row.extend(chat_columns(f));
        over_time.rows.push(row);
    }
    let graph = chart(&points);

    let (start, end) = (r.start as u64, r.end as u64);
    let users = scope.users()?;
    let people = users
        .iter()
        .filter(|u| matches!(u.role, Role::Agent | Role::Admin))
        .map(|u| (Dim::Agent(u.id), u.name.clone()))
        .collect();
    let agents = Table {
        key: "agents",
        caption: "Agents".into(),
        head: AGENT_HEAD.to_vec(),
        rows: dim_rows(scope, "agent", people, "Former agent", start, end, agent_row)?,
        note: "Unanswered: the agent had the chat and it left them before they wrote to the visitor. \
               Last contact: chats credited to the agent who handled them last. A rating counts for every agent of the chat.",
    };
    let chat_row = |name: String, f: &Figures| {
        let mut row = vec![name];
        row.extend(chat_columns(f));
        row
    };
    let departments = std::iter::once((Dim::Department(None), "Any agent".to_string()))
        .chain(scope.departments()?.into_iter().map(|d| (Dim::Department(Some(d.id)), d.name)))
        .collect();
    let departments_table = Table {
        key: "departments",
        caption: "Departments (queues)".into(),
        head: std::iter::once("Department").chain(CHAT_HEAD).collect(),
        rows: dim_rows(scope, "department", departments, "Former department", start, end, chat_row)?,
        note: "A chat counts for the department it first waited in.",
    };
    let campaigns = scope.campaigns()?.into_iter().map(|c| (Dim::Campaign(c.id), c.name)).collect();
    let campaign_row = |name: String, f: &Figures| {
        let mut row = chat_row(name, f);
        let sent = f.invitations_auto.sent + f.invitations_manual.sent;
        let accepted = f.invitations_auto.accepted + f.invitations_manual.accepted;
        let chats = f.invitations_auto.chats + f.invitations_manual.chats + f.alerts.chats;
        row.extend([count(sent), count(accepted), count(chats)]);
        row
    };
    let campaigns_table = Table {
        key: "campaigns",
        caption: "Campaigns".into(),
        head: std::iter::once("Campaign")
            .chain(CHAT_HEAD)
            .chain(["Invitations sent", "Invitations accepted", "Chats from invitations"])
            .collect(),
        rows: dim_rows(scope, "campaign", campaigns, "Former campaign", start, end, campaign_row)?,
        note: "Chats that came by a cross-site transfer count under the site's cross-site campaign.",
    };
    let total = scope.stats_totals(&[Dim::Site], start, end)?.pop().map(|(_, f)| f).unwrap_or_default();
    Ok((
        graph,
        vec![over_time, agents, departments_table, campaigns_table, transfer_table(&total), invitation_table(&total)],
    ))
}

/// A site's report as data (for the JSON API): the checked range and the page's tables; a
/// filter that is not valid is `Ok(Err(what to fix))`.
pub struct SiteReport {
    pub from: String,
    pub to: String,
    pub tz: i32,
    pub by: &'static str,
    pub tables: Vec<Table>,
}

pub fn site_report(scope: &SiteStore, q: &ReportQuery, now: u64) -> Result<Result<SiteReport, String>, WebError> {
    let r = match q.range(now) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let (_, tables) = site_tables(scope, &r)?;
    Ok(Ok(SiteReport {
        from: date_of(r.from_day),
        to: date_of(r.to_day),
        tz: r.tz,
        by: if r.by == Granularity::Hour { "hour" } else { "day" },
        tables,
    }))
}

fn zones() -> Vec<(i32, String)> {
    ZONES.iter().map(|z| (*z, zone_label(*z))).collect()
}

/// `/admin/sites/:site/reports`: one site's report (its admins and the owner).
#[handler]
pub fn site(
    Admin(p): Admin,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(site): Path<u64>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, WebError> {
    let scope = p.admin_scope(&state, site)?;
    let site = scope.site()?;
    let action = format!("/admin/sites/{}/reports", site.id);
    let l = Layout::new(format!("Reports — {}", site.name), &csrf, Some(&p)).in_site(&site).tab("reports");
    let mut page = ReportPage {
        l,
        site: Some(site),
        csv_base: String::new(),
        action,
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        tz: q.tz.as_deref().and_then(|t| t.trim().parse().ok()).unwrap_or(0),
        by_hour: q.by.as_deref() == Some("hour"),
        zones: zones(),
        error: None,
        chart: None,
        tables: vec![],
    };
    match q.range(now_ms()) {
        Err(e) => {
            page.error = Some(e);
            Ok(html(&page)?.with_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY).into_response())
        }
        Ok(r) => {
            let (graph, tables) = site_tables(&scope, &r)?;
            if let Some(which) = q.csv.as_deref() {
                let t = tables.iter().find(|t| t.key == which).ok_or(WebError::NotFound)?;
                return Ok(csv_response(t, &format!("site-{}", scope.id())));
            }
            page.from = date_of(r.from_day);
            page.to = date_of(r.to_day);
            page.tz = r.tz;
            page.csv_base = format!("{}?{}", page.action, query_string(&r));
            page.chart = Some(graph);
            page.tables = tables;
            html(&page)
        }
    }
}

/// `/admin/reports`: the owner's comparison of every site over the range.
#[handler]
pub fn organization(
    Owner(p): Owner,
    csrf: CsrfToken,
    state: Data<&AppState>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, WebError> {
    let l = Layout::new("Reports", &csrf, Some(&p)).tab("reports");
    let mut page = ReportPage {
        l,
        site: None,
        csv_base: String::new(),
        action: "/admin/reports".into(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        tz: q.tz.as_deref().and_then(|t| t.trim().parse().ok()).unwrap_or(0),
        by_hour: q.by.as_deref() == Some("hour"),
        zones: zones(),
        error: None,
        chart: None,
        tables: vec![],
    };
    let r = match q.range(now_ms()) {
        Ok(r) => r,
        Err(e) => {
            page.error = Some(e);
            return Ok(html(&page)?.with_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY).into_response());
        }
    };
    let mut rows = Vec::new();
    for each in state.store.list_sites()? {
        let scope = state.store.site(each.id);
        let f =
            scope.stats_totals(&[Dim::Site], r.start as u64, r.end as u64)?.pop().map(|(_, f)| f).unwrap_or_default();
        let mut row = vec![each.name.clone()];
        row.extend(chat_columns(&f));
        row.push(count(f.invitations_auto.sent + f.invitations_manual.sent + f.alerts.sent));
        rows.push(row);
    }
    let table = Table {
        key: "sites",
        caption: "Sites compared".into(),
        head: std::iter::once("Site").chain(CHAT_HEAD).chain(["Invitations and alerts"]).collect(),
        rows,
        note: "Each site's own figures; a chat moved to another site counts on both.",
    };
    if q.csv.as_deref() == Some("sites") {
        return Ok(csv_response(&table, "organization"));
    }
    if q.csv.is_some() {
        return Err(WebError::NotFound);
    }
    page.from = date_of(r.from_day);
    page.to = date_of(r.to_day);
    page.tz = r.tz;
    page.csv_base = format!("/admin/reports?{}", query_string(&r));
    page.tables = vec![table];
    html(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_whole_local_days_and_bad_filters_are_explained() {
        // 2026-11-22 03:01 UTC.
        let now = 1_795_316_511_436;
        let q = |from: &str, to: &str, tz: &str, by: &str| ReportQuery {
            from: Some(from.into()),
            to: Some(to.into()),
            tz: Some(tz.into()),
            by: Some(by.into()),
            csv: None,
        };
        let r = ReportQuery::default().range(now).expect("defaults");
        assert_eq!((date_of(r.from_day), date_of(r.to_day)), ("2026-11-16".into(), "2026-11-22".into()));
        // New York is still on the 21st; its day starts at 05:00 UTC.
        let r = ReportQuery { tz: Some("-300".into()), ..Default::default() }.range(now).expect("ny");
        assert_eq!(date_of(r.to_day), "2026-11-21");
        assert_eq!(crate::domain::utc(r.end as u64), "2026-11-22 05:00 UTC");
        assert!(q("2026-11-22", "2026-11-01", "0", "day").range(now).unwrap_err().contains("comes after"));
        assert!(q("2026-01-01", "2026-12-31", "0", "hour").range(now).unwrap_err().contains("31 days"));
        assert!(q("2026-01-01", "2026-01-02", "17", "day").range(now).unwrap_err().contains("time zone"));
        assert!(q("2026-01-01", "2026-01-02", "0", "week").range(now).is_err());
        assert!(q("2024-01-01", "2026-01-02", "0", "day").range(now).unwrap_err().contains("366"));
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        let t = Table {
            key: "x",
            caption: String::new(),
            head: vec!["Agent", "Chats"],
            rows: vec![vec!["=HYPERLINK(\"x\")".into(), "3".into()], vec!["Ann \"A\"".into(), "1".into()]],
            note: "",
        };
        assert_eq!(t.csv(), "\"Agent\",\"Chats\"\r\n\"'=HYPERLINK(\"\"x\"\")\",\"3\"\r\n\"Ann \"\"A\"\"\",\"1\"\r\n");
    }

    #[test]
    fn the_chart_scales_to_a_round_top_and_bars_stack_answered_under_missed() {
        let f = |a, m| Figures { chats_answered: a, chats_missed: m, ..Default::default() };
        let c = chart(&[("a".into(), f(3, 1)), ("b".into(), f(0, 0)), ("c".into(), f(7, 0))]);
        assert_eq!(c.ticks.last().map(|t| t.1.as_str()), Some("10"));
        let b = &c.bars[0];
        assert_eq!(b.answered_y + b.answered_h, c.plot_bottom);
        assert_eq!(b.missed_y + b.missed_h, b.answered_y);
        assert_eq!(c.bars[1].answered_h + c.bars[1].missed_h, 0);
        assert!(c.bars[2].answered_h > c.bars[0].answered_h);
    }
}
