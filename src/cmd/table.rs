//! Human tables: aligned columns, no borders, like `kafka-topics --describe` or `ps`.

use comfy_table::{Table, presets::NOTHING};

pub fn render(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_preset(NOTHING);
    t.set_header(header.iter().map(|h| h.to_string()));
    for r in rows {
        t.add_row(r);
    }
    let s = t.to_string();
    let mut out: String = s
        .lines()
        .map(|l| l.trim_end().trim_start_matches(' ').to_string() + "\n")
        .collect();
    if out.is_empty() {
        out.push('\n');
    }
    out
}
