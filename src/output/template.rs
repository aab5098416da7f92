//! kcat-style `--format` templates, parsed once into parts.

use super::headers_text;
use crate::record::ConsumedRecord;

#[derive(Debug, Clone)]
enum Part {
    Lit(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    /// `%T{pattern}`: the timestamp formatted (strftime) in the local zone.
    TimestampAs(String, jiff::tz::TimeZone),
    Headers,
    KeyLen,
    ValueLen,
}

#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// A template, or what is wrong with it (for `--format`'s value parser to report).
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' => {
                    let Some(&t) = b.get(i + 1) else {
                        return Err("ends with a lone '%' (use %% for a literal percent)".into());
                    };
                    let part = match t {
                        b'%' => {
                            lit.push(b'%');
                            i += 2;
                            continue;
                        }
                        b't' => Part::Topic,
                        b'p' => Part::Partition,
                        b'o' => Part::Offset,
                        b'k' => Part::Key,
                        b's' => Part::Value,
                        b'T' => Part::Timestamp,
                        b'h' => Part::Headers,
                        b'K' => Part::KeyLen,
                        b'S' => Part::ValueLen,
                        _ => {
                            let tok: String = s[i..].chars().take(2).collect();
                            return Err(format!(
                                "unknown token {tok} (known: %t %p %o %k %s %T %T{{strftime}} %h %K %S %%)"
                            ));
                        }
                    };
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    i += 2;
                    if matches!(part, Part::Timestamp) && b.get(i) == Some(&b'{') {
                        let Some(len) = s[i + 1..].find('}') else {
                            return Err("%T{ has no closing '}'".into());
                        };
                        let pattern = s[i + 1..i + 1 + len].to_string();
                        let tz = jiff::tz::TimeZone::system();
                        // Refuse a bad pattern now, not on the first record.
                        crate::time::format_ms(0, &pattern, &tz)?;
                        parts.push(Part::TimestampAs(pattern, tz));
                        i += len + 2;
                        continue;
                    }
                    parts.push(part);
                }
                b'\\' if i + 1 < b.len() => {
                    let c = match b[i + 1] {
                        b'n' => Some(b'\n'),
                        b't' => Some(b'\t'),
                        b'r' => Some(b'\r'),
                        b'0' => Some(0),
                        b'\\' => Some(b'\\'),
                        _ => None,
                    };
                    match c {
                        Some(c) => {
                            lit.push(c);
                            i += 2;
                        }
                        None => {
                            lit.push(b'\\');
                            i += 1;
                        }
                    }
                }
                c => {
                    lit.push(c);
                    i += 1;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    pub fn write(&self, r: &ConsumedRecord<'_>, out: &mut Vec<u8>) {
        use std::io::Write;
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.extend_from_slice(l),
                Part::Topic => out.extend_from_slice(r.topic.as_bytes()),
                Part::Partition => {
                    let _ = write!(out, "{}", r.partition);
                }
                Part::Offset => {
                    let _ = write!(out, "{}", r.offset);
                }
                Part::Key => out.extend_from_slice(r.key.unwrap_or(b"")),
                Part::Value => out.extend_from_slice(r.value.unwrap_or(b"")),
                Part::Timestamp => {
                    let _ = write!(out, "{}", r.timestamp);
                }
                Part::TimestampAs(pattern, tz) => {
                    match crate::time::format_ms(r.timestamp, pattern, tz) {
                        Ok(t) => out.extend_from_slice(t.as_bytes()),
                        // Outside what a calendar can show: the number, as %T writes it.
                        Err(_) => {
                            let _ = write!(out, "{}", r.timestamp);
                        }
                    }
                }
                Part::Headers => headers_text(r, out),
                Part::KeyLen => {
                    let _ = write!(out, "{}", r.key.map_or(-1, |k| k.len() as i64));
                }
                Part::ValueLen => {
                    let _ = write!(out, "{}", r.value.map_or(-1, |v| v.len() as i64));
                }
            }
        }
    }
}
