//! Produce input parsers: `lines` (the hot path), `json`, `csv`. Each is fed chunks that may
//! split anywhere and calls a sink once per complete record, in order.

mod csv;
pub mod derive;
mod json;
mod lines;

use crate::error::{Error, Result};
use crate::record::{Header, RecordRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Lines,
    Json,
    Csv,
}

/// What `produce` does with a record it cannot take (malformed, or over max.message.bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnError {
    /// Stop with exit 65 naming the input line (records before it are kept)
    Stop,
    /// Drop the record, say so on stderr, go on
    Skip,
    /// Cut an oversized record to the limit; drop a malformed one; go on
    Truncate,
}

#[derive(Debug, Clone)]
pub struct InputOptions {
    pub format: InputFormat,
    pub delimiter: Vec<u8>,
    pub key_separator: Option<Vec<u8>>,
    pub key_optional: bool,
    pub headers: Vec<Header>,
    pub csv_header: bool,
    /// Drop a malformed record (counted, said on stderr) instead of stopping the input
    /// (`produce --on-error skip|truncate`).
    pub skip_bad: bool,
}

/// A record-level result under `skip_bad`: bad input data is dropped and counted, anything else
/// (I/O, a sink's failure) still stops the parser.
pub(crate) fn tolerate(r: Result<()>, skip_bad: bool, skipped: &mut u64) -> Result<()> {
    match r {
        Err(Error::BadInput(m)) if skip_bad => {
            *skipped += 1;
            // Said for the first few; the total is reported at the end (`skipped()`).
            if *skipped <= 10 {
                eprintln!("chute: skipped: {m}");
            }
            Ok(())
        }
        r => r,
    }
}

/// Where parsed records go; an error from it stops the parser and is returned as is.
pub type Sink<'s> = dyn FnMut(RecordRef<'_>) -> Result<()> + 's;

pub trait InputParser {
    /// Feed the next chunk of input (chunks split anywhere, even inside a delimiter or a UTF-8
    /// char). Calls `sink` once per complete record, in input order. Stops at the first error.
    fn feed(&mut self, data: &[u8], sink: &mut Sink<'_>) -> Result<()>;
    /// End of input: emit a final record that had no trailing delimiter, validate leftovers.
    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<()>;
    /// Malformed records dropped under `skip_bad`.
    fn skipped(&self) -> u64;
}

pub fn parser(opts: InputOptions) -> Box<dyn InputParser> {
    match opts.format {
        InputFormat::Lines => Box::new(lines::LinesParser::new(opts)),
        InputFormat::Json => Box::new(json::JsonParser::new(opts)),
        InputFormat::Csv => Box::new(csv::CsvParser::new(opts)),
    }
}

/// `\n \t \r \0 \\ \xHH` escapes in a user-given separator; other characters are literal.
pub fn parse_escapes(s: &str) -> Result<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let c = match b[i + 1] {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                b'\\' => b'\\',
                b'x' => {
                    let hex = s
                        .get(i + 2..i + 4)
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(v) => {
                            out.push(v);
                            i += 4;
                            continue;
                        }
                        None => {
                            return Err(Error::Usage(format!(
                                "separator {s:?}: \\x needs two hex digits"
                            )));
                        }
                    }
                }
                _ => {
                    out.push(b'\\');
                    i += 1;
                    continue;
                }
            };
            out.push(c);
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    if out.is_empty() {
        return Err(Error::Usage(
            "a separator or delimiter cannot be empty".into(),
        ));
    }
    Ok(out)
}

/// Milliseconds since the epoch (JSON and CSV input): the CLI's one time parser.
fn parse_timestamp(s: &str) -> Option<i64> {
    crate::time::parse_instant(s)
}

/// `-H K=V`, split at the first `=`.
pub fn parse_header_arg(s: &str) -> Result<Header> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok(Header {
            key: k.to_string(),
            value: Some(v.as_bytes().to_vec()),
        }),
        _ => Err(Error::Usage(format!("-H {s:?}: expected KEY=VALUE"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    pub struct Rec {
        pub key: Option<Vec<u8>>,
        pub value: Option<Vec<u8>>,
        pub ts: Option<i64>,
        pub headers: Vec<Header>,
        pub partition: Option<u32>,
        pub line: u64,
    }

    pub fn opts(format: InputFormat) -> InputOptions {
        InputOptions {
            format,
            delimiter: b"\n".to_vec(),
            key_separator: None,
            key_optional: false,
            headers: vec![],
            csv_header: false,
            skip_bad: false,
        }
    }

    /// Parse `input` fed in pieces of `step` bytes.
    pub fn run(o: &InputOptions, input: &[u8], step: usize) -> Result<Vec<Rec>> {
        let pieces: Vec<&[u8]> = input.chunks(step.max(1)).collect();
        run_pieces(o, &pieces)
    }

    /// Every split point (into two, three, and equal pieces) gives the same records as one
    /// chunk; returns them.
    pub fn same_at_every_split(o: &InputOptions, input: &[u8]) -> Vec<Rec> {
        let whole = run(o, input, input.len().max(1)).unwrap();
        for step in 1..input.len() {
            assert_eq!(run(o, input, step).unwrap(), whole, "step {step}");
        }
        // All pairs of cuts would be quadratic in runs; a stride keeps long inputs quick.
        let stride = (input.len() / 60).max(1);
        for a in (0..=input.len()).step_by(stride) {
            for b in a..=input.len() {
                let pieces = [&input[..a], &input[a..b], &input[b..]];
                assert_eq!(run_pieces(o, &pieces).unwrap(), whole, "cuts {a} {b}");
            }
        }
        whole
    }

    pub fn run_pieces(o: &InputOptions, pieces: &[&[u8]]) -> Result<Vec<Rec>> {
        let mut p = parser(o.clone());
        let mut out = Vec::new();
        let mut sink = |r: RecordRef<'_>| {
            out.push(Rec {
                key: r.key.map(|k| k.to_vec()),
                value: r.value.map(|v| v.to_vec()),
                ts: r.timestamp,
                headers: r.headers.to_vec(),
                partition: r.partition,
                line: r.line,
            });
            Ok(())
        };
        for c in pieces {
            p.feed(c, &mut sink)?;
        }
        p.finish(&mut sink)?;
        Ok(out)
    }

    #[test]
    fn escapes() {
        assert_eq!(parse_escapes("\\t").unwrap(), b"\t");
        assert_eq!(parse_escapes("a\\x00b\\\\").unwrap(), b"a\0b\\");
        assert_eq!(parse_escapes(";;").unwrap(), b";;");
        assert!(parse_escapes("").is_err());
        assert!(parse_escapes("\\xZZ").is_err());
        assert_eq!(parse_header_arg("a=b=c").unwrap().value.unwrap(), b"b=c");
        assert!(parse_header_arg("=x").is_err());
        assert!(parse_header_arg("nox").is_err());
    }
}
