//! Histograms (microseconds), their summaries, and readings of a process from /proc.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub type H = Histogram<u64>;

pub fn hist() -> H {
    // Auto-resizing, 3 significant digits: values are microseconds.
    Histogram::new(3).expect("3 significant digits are valid")
}

/// Record a latency given in nanoseconds (negative ones, from a clock step, count as 0).
pub fn record_ns(h: &mut H, ns: i128) {
    let us = (ns.max(0) / 1000) as u64;
    let _ = h.record(us);
}

/// A histogram on the wire: (value, count) pairs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Hist(pub Vec<(u64, u64)>);

impl Hist {
    pub fn of(h: &H) -> Hist {
        Hist(h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect())
    }

    pub fn add_to(&self, h: &mut H) {
        for &(v, c) in &self.0 {
            let _ = h.record_n(v, c);
        }
    }
}

pub fn merge<'a>(parts: impl IntoIterator<Item = &'a Hist>) -> H {
    let mut h = hist();
    for p in parts {
        p.add_to(&mut h);
    }
    h
}

/// Milliseconds, from a histogram of microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub n: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

pub fn summary(h: &H) -> Summary {
    if h.is_empty() {
        return Summary::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Summary {
        n: h.len(),
        p50_ms: ms(h.value_at_quantile(0.5)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        p999_ms: ms(h.value_at_quantile(0.999)),
        max_ms: ms(h.max()),
        mean_ms: h.mean() / 1000.0,
    }
}

pub fn row(label: &str, s: &Summary) -> String {
    if s.n == 0 {
        return format!("  {label:<34} {:>9}  (no samples)", 0);
    }
    format!("  {label:<34} {:>9}  {:>9.3} {:>9.3} {:>9.3} {:>9.3}", s.n, s.p50_ms, s.p99_ms, s.p999_ms, s.max_ms)
}

pub fn header() -> String {
    format!("  {:<34} {:>9}  {:>9} {:>9} {:>9} {:>9}", "latency (ms)", "samples", "p50", "p99", "p99.9", "max")
}

// ---- /proc ----

pub fn wall_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// VmRSS in KiB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    status_kb(&format!("/proc/{pid}/status"), "VmRSS:")
}

pub fn self_rss_kb() -> u64 {
    status_kb("/proc/self/status", "VmRSS:").unwrap_or(0)
}

fn status_kb(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// utime + stime in clock ticks.
pub fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state(0) ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime(11) stime(12).
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

pub fn clk_tck() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

pub fn fd_count(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

pub fn threads(pid: u32) -> Option<u64> {
    status_kb(&format!("/proc/{pid}/status"), "Threads:")
}

/// The soft limit of open files of this process.
pub fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| b.split(|c| *c == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into()).collect())
        .unwrap_or_default()
}

/// The one running `parley… serve` (any executable named parley*, except this one), if exactly one.
pub fn find_server_pid() -> Result<u32, String> {
    let mut found = vec![];
    for e in std::fs::read_dir("/proc").map_err(|e| e.to_string())?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let args = cmdline(pid);
        let exe = args.first().and_then(|a| a.rsplit('/').next()).unwrap_or("");
        if exe.starts_with("parley") && !exe.starts_with("parley-load") && args.iter().any(|a| a == "serve") {
            found.push(pid);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err("no running `parley serve` process found; give --server-pid".into()),
        more => Err(format!("several `parley serve` processes ({more:?}); give --server-pid")),
    }
}

/// The server's data directory: from its `--config` file's `[storage] data_dir` (relative
/// paths against its working directory), else the default `./parley-data`.
pub fn server_data_dir(pid: u32) -> Option<PathBuf> {
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let args = cmdline(pid);
    let config = args.iter().enumerate().find_map(|(i, a)| {
        if a == "--config" { args.get(i + 1).cloned() } else { a.strip_prefix("--config=").map(str::to_string) }
    });
    let mut dir = PathBuf::from("./parley-data");
    if let Some(c) = config {
        let path = cwd.join(c);
        let text = std::fs::read_to_string(&path).ok()?;
        let table: toml::Table = toml::from_str(&text).ok()?;
        if let Some(d) = table.get("storage").and_then(|s| s.get("data_dir")).and_then(|d| d.as_str()) {
            dir = PathBuf::from(d);
        }
    }
    Some(if dir.is_absolute() { dir } else { cwd.join(dir) })
}

/// Prometheus text -> name (with labels) -> value.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

pub fn path_display(p: &Path) -> String {
    p.display().to_string()
}

/// The whole machine's CPU time from /proc/stat: (busy, all), in clock ticks over every core.
pub fn machine_ticks() -> (u64, u64) {
    let (busy, all, _) = machine_ticks_irq();
    (busy, all)
}

/// (busy, all, irq + softirq) clock ticks of the whole machine.
pub fn machine_ticks_irq() -> (u64, u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().next() else { return (0, 0, 0) };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already)
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    (busy, busy + get(3) + get(4), get(5) + get(6))
}

/// Share of the machine (all cores) busy over `ms` milliseconds, from 0 to 1.
pub async fn machine_busy(ms: u64) -> f64 {
    let a = machine_ticks();
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    let b = machine_ticks();
    let all = b.1.saturating_sub(a.1);
    if all == 0 { 0.0 } else { b.0.saturating_sub(a.0) as f64 / all as f64 }
}

/// Every process's (command, utime+stime ticks), by pid.
pub fn all_processes() -> std::collections::HashMap<u32, (String, u64)> {
    let mut out = std::collections::HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else { continue };
        let comm = text[open + 1..close].to_string();
        let f: Vec<&str> = text[close + 1..].split_whitespace().collect();
        let ticks = f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        out.insert(pid, (comm, ticks));
    }
    out
}
