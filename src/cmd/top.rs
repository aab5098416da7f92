//! `chute top [--once] [--json]`: the operator's view of the whole cluster (src/snapshot.rs):
//! partitions with offsets, size, produce rate and replica health; groups with lag in records
//! and in time, consume rate and time to catch up; mirrors with state and lag; brokers and the
//! controller. `--once` (and
//! any stdout that is not a terminal) prints one snapshot, as a table or JSON. On a terminal
//! it is a live view (ratatui) refreshed every `--interval`: `q` quits, `s` changes the sort,
//! `/` filters by topic or group.

use super::{print, print_json, table, topic::human_bytes};
use crate::cli::TopArgs;
use chute::cluster::Cluster;
use chute::cluster::brokers::State;
use chute::error::{Error, Result};
use chute::snapshot::Snapshot;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub fn run(cluster: &Cluster, a: TopArgs) -> Result<i32> {
    if a.once || a.json || !std::io::stdout().is_terminal() {
        let s = chute::snapshot::take(cluster)?;
        for u in &s.unreadable {
            eprintln!("chute: warning: {u}");
        }
        if a.json {
            print_json(&s)?;
        } else {
            print(&render(&s, None))?;
        }
        return Ok(0);
    }
    chute::signals::install()?;
    let mut term = ratatui::init();
    let r = live(&mut term, cluster, a.interval);
    ratatui::restore();
    r.map(|_| 0)
}

/// Records per second between two snapshots, per key.
fn rates<K: std::hash::Hash + Eq>(
    now: impl Iterator<Item = (K, u64)>,
    before: impl Iterator<Item = (K, u64)>,
    secs: f64,
) -> HashMap<K, f64> {
    let before: HashMap<K, u64> = before.collect();
    now.filter_map(|(k, v)| {
        let b = *before.get(&k)?;
        (secs > 0.0).then(|| (k, v.saturating_sub(b) as f64 / secs))
    })
    .collect()
}

/// One partition's line, with what it sorts by.
struct PartRow {
    topic: String,
    size: u64,
    rate: f64,
    trouble: u8,
    cells: Vec<String>,
}

/// One group partition's line.
struct GroupRow {
    group: String,
    topic: String,
    lag: u64,
    rate: f64,
    cells: Vec<String>,
}

const PART_HEADER: [&str; 9] = [
    "TOPIC",
    "PARTITION",
    "LEADER",
    "ISR",
    "LOG-END",
    "HW",
    "SIZE",
    "PRODUCE",
    "STATE",
];
const GROUP_HEADER: [&str; 9] = [
    "GROUP",
    "MEMBERS",
    "TOPIC",
    "PARTITION",
    "COMMITTED",
    "LAG",
    "LAG-TIME",
    "CONSUME",
    "CATCH-UP",
];

const MIRROR_HEADER: [&str; 8] = [
    "MIRROR",
    "DIRECTION",
    "CLUSTER",
    "STATE",
    "LAG",
    "COPIED",
    "LAST-COMMIT",
    "ERROR",
];

/// One line per mirror (its partitions are in `--json` and `metrics`).
fn mirror_rows(s: &Snapshot) -> Vec<Vec<String>> {
    s.mirrors
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.direction.to_string(),
                m.cluster.clone(),
                m.state.to_string(),
                num(m.lag),
                m.records.to_string(),
                m.last_commit_ms.map_or("-".into(), |t| {
                    format!(
                        "{} ago",
                        chute::time::format_age(s.taken_ms.saturating_sub(t).max(0) as u64)
                    )
                }),
                m.error.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect()
}

fn num(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn rows(s: &Snapshot, prev: Option<&Snapshot>) -> (Vec<PartRow>, Vec<GroupRow>) {
    let secs = prev.map_or(0.0, |p| (s.taken_ms - p.taken_ms) as f64 / 1000.0);
    let ends = |x: &Snapshot| {
        x.partitions
            .iter()
            .filter_map(|p| Some(((p.topic.clone(), p.partition), p.log_end_offset?)))
            .collect::<Vec<_>>()
    };
    let produce = prev.map(|p| rates(ends(s).into_iter(), ends(p).into_iter(), secs));
    let commits = |x: &Snapshot| {
        x.groups
            .iter()
            .flat_map(|g| {
                g.partitions.iter().filter_map(|r| {
                    Some((
                        (g.group.clone(), r.topic.clone(), r.partition),
                        r.committed?,
                    ))
                })
            })
            .collect::<Vec<_>>()
    };
    let consume = prev.map(|p| rates(commits(s).into_iter(), commits(p).into_iter(), secs));
    let parts = s
        .partitions
        .iter()
        .map(|p| {
            let (state, trouble) = if p.offline {
                ("OFFLINE", 2)
            } else if p.under_replicated {
                ("under-replicated", 1)
            } else {
                ("ok", 0)
            };
            let rate = produce
                .as_ref()
                .and_then(|r| r.get(&(p.topic.clone(), p.partition)))
                .copied();
            PartRow {
                topic: p.topic.clone(),
                size: p.size_bytes.unwrap_or(0),
                rate: rate.unwrap_or(0.0),
                trouble,
                cells: vec![
                    p.topic.clone(),
                    p.partition.to_string(),
                    p.leader.map_or("-".into(), |l| l.to_string()),
                    format!("{:?}", p.isr),
                    num(p.log_end_offset),
                    num(p.high_watermark),
                    p.size_bytes.map_or("-".into(), human_bytes),
                    rate.map_or("-".into(), |r| format!("{r:.0}/s")),
                    state.to_string(),
                ],
            }
        })
        .collect();
    let mut groups = Vec::new();
    for g in &s.groups {
        for r in &g.partitions {
            let rate = consume
                .as_ref()
                .and_then(|c| c.get(&(g.group.clone(), r.topic.clone(), r.partition)))
                .copied();
            // Time to catch up at the present consume rate, when it is catching up.
            let eta = match rate {
                Some(c) if c > 0.0 && r.lag > 0 => {
                    chute::time::format_age((r.lag as f64 / c * 1000.0) as u64)
                }
                _ => "-".into(),
            };
            groups.push(GroupRow {
                group: g.group.clone(),
                topic: r.topic.clone(),
                lag: r.lag,
                rate: rate.unwrap_or(0.0),
                cells: vec![
                    g.group.clone(),
                    g.members.to_string(),
                    r.topic.clone(),
                    r.partition.to_string(),
                    num(r.committed),
                    r.lag.to_string(),
                    if r.lag == 0 {
                        "-".into()
                    } else {
                        chute::time::format_age(r.lag_ms)
                    },
                    rate.map_or("-".into(), |c| format!("{c:.0}/s")),
                    eta,
                ],
            });
        }
    }
    (parts, groups)
}

/// The two summary lines: controller and brokers; partition counts.
fn summary(s: &Snapshot) -> [String; 2] {
    let ctl = match &s.controller {
        Some(c) => format!("pid {} on {} (epoch {})", c.pid, c.host, c.epoch),
        None => "none".into(),
    };
    let brokers: Vec<String> = s
        .brokers
        .iter()
        .map(|b| match b.state {
            State::Up => format!("{} up", b.id),
            State::Down => format!("{} DOWN ({})", b.id, b.reason),
        })
        .collect();
    let offline = s.partitions.iter().filter(|p| p.offline).count();
    let under = s.partitions.iter().filter(|p| p.under_replicated).count();
    [
        format!(
            "controller: {ctl}   brokers: {}",
            if brokers.is_empty() {
                "none".into()
            } else {
                brokers.join(", ")
            }
        ),
        format!(
            "partitions: {}   offline: {offline}   under-replicated: {under}",
            s.partitions.len()
        ),
    ]
}

/// The snapshot as text (`--once`).
pub fn render(s: &Snapshot, prev: Option<&Snapshot>) -> String {
    let (parts, groups) = rows(s, prev);
    let [a, b] = summary(s);
    let mut out = format!("{a}\n{b}\n\n");
    out += &table::render(&PART_HEADER, parts.into_iter().map(|r| r.cells).collect());
    if !groups.is_empty() {
        out.push('\n');
        out += &table::render(&GROUP_HEADER, groups.into_iter().map(|r| r.cells).collect());
    }
    if !s.mirrors.is_empty() {
        out.push('\n');
        out += &table::render(&MIRROR_HEADER, mirror_rows(s));
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    Name,
    Trouble,
    Rate,
    Size,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Name => Sort::Trouble,
            Sort::Trouble => Sort::Rate,
            Sort::Rate => Sort::Size,
            Sort::Size => Sort::Name,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Trouble => "trouble/lag",
            Sort::Rate => "rate",
            Sort::Size => "size",
        }
    }
}

/// The live view: a snapshot every `interval`, redrawn on each key; never takes a lock.
fn live(term: &mut ratatui::DefaultTerminal, cluster: &Cluster, interval: Duration) -> Result<()> {
    use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    let io = |e: std::io::Error| Error::stream("terminal", e);
    let mut prev: Option<Snapshot> = None;
    let mut snap = chute::snapshot::take(cluster)?;
    let mut taken = Instant::now();
    let (mut sort, mut filter, mut editing) = (Sort::Name, String::new(), false);
    loop {
        if taken.elapsed() >= interval {
            let s = chute::snapshot::take(cluster)?;
            prev = Some(std::mem::replace(&mut snap, s));
            taken = Instant::now();
        }
        term.draw(|f| draw(f, &snap, prev.as_ref(), sort, &filter, editing))
            .map_err(io)?;
        if chute::signals::stop_requested() {
            return Ok(());
        }
        let wait = interval
            .saturating_sub(taken.elapsed())
            .min(Duration::from_millis(200));
        if !event::poll(wait).map_err(io)? {
            continue;
        }
        let Event::Key(k) = event::read().map_err(io)? else {
            continue;
        };
        if k.kind != KeyEventKind::Press {
            continue;
        }
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return Ok(());
        }
        match (editing, k.code) {
            (true, KeyCode::Enter) => editing = false,
            (true, KeyCode::Esc) => {
                editing = false;
                filter.clear();
            }
            (true, KeyCode::Backspace) => {
                filter.pop();
            }
            (true, KeyCode::Char(c)) => filter.push(c),
            (false, KeyCode::Char('q') | KeyCode::Esc) => return Ok(()),
            (false, KeyCode::Char('s')) => sort = sort.next(),
            (false, KeyCode::Char('/')) => {
                editing = true;
                filter.clear();
            }
            _ => {}
        }
    }
}

fn draw(
    f: &mut ratatui::Frame,
    s: &Snapshot,
    prev: Option<&Snapshot>,
    sort: Sort,
    filter: &str,
    editing: bool,
) {
    use ratatui::layout::{Constraint, Layout};
    use ratatui::style::{Modifier, Style};
    use ratatui::text::Line;
    use ratatui::widgets::{Block, Paragraph, Row, Table};
    let (mut parts, mut groups) = rows(s, prev);
    parts.retain(|r| r.topic.contains(filter));
    groups.retain(|r| r.group.contains(filter) || r.topic.contains(filter));
    match sort {
        Sort::Name => {}
        Sort::Trouble => {
            parts.sort_by_key(|r| std::cmp::Reverse(r.trouble));
            groups.sort_by_key(|r| std::cmp::Reverse(r.lag));
        }
        Sort::Rate => {
            parts.sort_by(|a, b| b.rate.total_cmp(&a.rate));
            groups.sort_by(|a, b| b.rate.total_cmp(&a.rate));
        }
        Sort::Size => parts.sort_by_key(|r| std::cmp::Reverse(r.size)),
    }
    let [a, b] = summary(s);
    let mut mirrors = mirror_rows(s);
    mirrors.retain(|r| r[0].contains(filter));
    // The mirrors' box only when there are any: a line each, borders and header.
    let mirror_lines = if s.mirrors.is_empty() {
        0
    } else {
        mirrors.len().min(6) as u16 + 3
    };
    let areas = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Length(mirror_lines),
        Constraint::Length(1),
    ])
    .split(f.area());
    f.render_widget(Paragraph::new(vec![Line::from(a), Line::from(b)]), areas[0]);
    let widths = |rows: &[Vec<String>], header: &[&str]| -> Vec<Constraint> {
        (0..header.len())
            .map(|i| {
                let w = rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(1);
                Constraint::Length(w as u16)
            })
            .collect()
    };
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let table = |rows: Vec<Vec<String>>, header: &[&str], title: String| {
        let w = widths(&rows, header);
        Table::new(rows.into_iter().map(Row::new), w)
            .header(Row::new(header.iter().map(|h| h.to_string())).style(bold))
            .block(Block::bordered().title(title))
    };
    let n = parts.len();
    f.render_widget(
        table(
            parts.into_iter().map(|r| r.cells).collect(),
            &PART_HEADER,
            format!(" partitions ({n}) "),
        ),
        areas[1],
    );
    let n = groups.len();
    f.render_widget(
        table(
            groups.into_iter().map(|r| r.cells).collect(),
            &GROUP_HEADER,
            format!(" groups ({n}) "),
        ),
        areas[2],
    );
    if mirror_lines > 0 {
        let n = mirrors.len();
        f.render_widget(
            table(mirrors, &MIRROR_HEADER, format!(" mirrors ({n}) ")),
            areas[3],
        );
    }
    let footer = if editing {
        format!("filter: {filter}_   (Enter keeps it, Esc clears it)")
    } else {
        format!(
            "q quit   s sort: {}   / filter{}",
            sort.name(),
            if filter.is_empty() {
                String::new()
            } else {
                format!(": {filter}")
            }
        )
    };
    f.render_widget(Paragraph::new(footer), areas[4]);
}
