//! Delimited records. The hot path: records are slices of the input chunk; only a record that
//! spans two chunks is copied (into `carry`).

use super::{InputOptions, InputParser, Sink};
use crate::error::{Error, Result};
use crate::record::{Header, RecordRef};
use memchr::memmem::Finder;

pub struct LinesParser {
    delim: Vec<u8>,
    finder: Finder<'static>,
    key_sep: Option<Finder<'static>>,
    key_sep_len: usize,
    key_optional: bool,
    headers: Vec<Header>,
    carry: Vec<u8>,
    line: u64,
    skip_bad: bool,
    skipped: u64,
}

impl LinesParser {
    pub fn new(o: InputOptions) -> Self {
        let key_sep_len = o.key_separator.as_ref().map_or(0, |s| s.len());
        LinesParser {
            finder: Finder::new(&o.delimiter).into_owned(),
            delim: o.delimiter,
            key_sep: o
                .key_separator
                .as_ref()
                .map(|s| Finder::new(s).into_owned()),
            key_sep_len,
            key_optional: o.key_optional,
            headers: o.headers,
            carry: Vec::new(),
            line: 0,
            skip_bad: o.skip_bad,
            skipped: 0,
        }
    }

    #[inline]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        if self.delim.len() == 1 {
            memchr::memchr(self.delim[0], hay)
        } else {
            self.finder.find(hay)
        }
    }
}

#[inline]
fn emit(
    rec: &[u8],
    line: u64,
    key_sep: &Option<Finder<'static>>,
    sep_len: usize,
    key_optional: bool,
    headers: &[Header],
    sink: &mut Sink<'_>,
) -> Result<()> {
    let (key, value) = match key_sep {
        None => (None, rec),
        Some(f) => match f.find(rec) {
            Some(i) => (Some(&rec[..i]), &rec[i + sep_len..]),
            None if key_optional => (None, rec),
            None => {
                return Err(Error::BadInput(format!(
                    "input line {line}: no key separator {:?} (use --key-optional to allow records without a key)",
                    String::from_utf8_lossy(f.needle())
                )));
            }
        },
    };
    sink(RecordRef {
        key,
        value: Some(value),
        timestamp: None,
        headers,
        partition: None,
        line,
    })
}

impl InputParser for LinesParser {
    fn feed(&mut self, data: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        let d = self.delim.len();
        let mut start = 0;
        if !self.carry.is_empty() {
            // Where does the record in `carry` end? A multi-byte delimiter may straddle the
            // boundary, so search the carry's last d-1 bytes together with the new data.
            let k = (d - 1).min(self.carry.len());
            let mut window = self.carry[self.carry.len() - k..].to_vec();
            window.extend_from_slice(&data[..(d - 1).min(data.len())]);
            let end_in_data = match self.find(&window) {
                Some(j) if j < k => {
                    let cut = self.carry.len() - k + j;
                    self.carry.truncate(cut);
                    Some(j + d - k)
                }
                _ => self.find(data).map(|i| {
                    self.carry.extend_from_slice(&data[..i]);
                    i + d
                }),
            };
            match end_in_data {
                Some(next) => {
                    self.line += 1;
                    let r = emit(
                        &self.carry,
                        self.line,
                        &self.key_sep,
                        self.key_sep_len,
                        self.key_optional,
                        &self.headers,
                        sink,
                    );
                    super::tolerate(r, self.skip_bad, &mut self.skipped)?;
                    self.carry.clear();
                    start = next;
                }
                None => {
                    self.carry.extend_from_slice(data);
                    return Ok(());
                }
            }
        }
        let mut rest = &data[start..];
        while let Some(i) = self.find(rest) {
            self.line += 1;
            let r = emit(
                &rest[..i],
                self.line,
                &self.key_sep,
                self.key_sep_len,
                self.key_optional,
                &self.headers,
                sink,
            );
            super::tolerate(r, self.skip_bad, &mut self.skipped)?;
            rest = &rest[i + d..];
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        if !self.carry.is_empty() {
            self.line += 1;
            let carry = std::mem::take(&mut self.carry);
            let r = emit(
                &carry,
                self.line,
                &self.key_sep,
                self.key_sep_len,
                self.key_optional,
                &self.headers,
                sink,
            );
            super::tolerate(r, self.skip_bad, &mut self.skipped)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::super::*;

    fn values(rs: &[Rec]) -> Vec<&[u8]> {
        rs.iter().map(|r| r.value.as_deref().unwrap()).collect()
    }

    fn with_delim(d: &[u8]) -> InputOptions {
        let mut o = opts(InputFormat::Lines);
        o.delimiter = d.to_vec();
        o
    }

    #[test]
    fn newline_records_at_every_split() {
        let o = opts(InputFormat::Lines);
        let rs = same_at_every_split(&o, b"a\n\nbc\r\n\xff\xfe\0\nlast");
        assert_eq!(
            values(&rs),
            vec![&b"a"[..], b"", b"bc\r", b"\xff\xfe\0", b"last"]
        );
        assert_eq!(
            rs.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        for r in &rs {
            assert_eq!((r.key.as_ref(), r.ts, r.partition), (None, None, None));
            assert!(r.headers.is_empty());
        }
    }

    #[test]
    fn trailing_delimiter_and_empty_input() {
        let o = opts(InputFormat::Lines);
        assert!(run(&o, b"", 1).unwrap().is_empty());
        assert!(run_pieces(&o, &[b"", b""]).unwrap().is_empty());
        assert_eq!(values(&run(&o, b"x\n", 1).unwrap()), vec![&b"x"[..]]);
        assert_eq!(values(&run(&o, b"x", 1).unwrap()), vec![&b"x"[..]]);
        assert_eq!(values(&run(&o, b"\n", 1).unwrap()), vec![&b""[..]]);
        assert_eq!(
            values(&same_at_every_split(&o, b"\n\n\n")),
            vec![&b""[..], b"", b""]
        );
    }

    #[test]
    fn nul_delimiter_keeps_newlines() {
        let rs = same_at_every_split(&with_delim(b"\0"), b"a\nb\0\r\n\0\0c");
        assert_eq!(values(&rs), vec![&b"a\nb"[..], b"\r\n", b"", b"c"]);
    }

    #[test]
    fn multibyte_delimiter_across_chunks() {
        let o = with_delim(b"<|>");
        let rs = same_at_every_split(&o, b"one<|>two<<|>|>three<|");
        assert_eq!(values(&rs), vec![&b"one"[..], b"two<", b"|>three<|"]);
        let rs = same_at_every_split(&o, b"<|><|>x<|><|>");
        assert_eq!(values(&rs), vec![&b""[..], b"", b"x", b""]);
        // Self-overlapping delimiters: the first complete occurrence ends the record.
        let rs = same_at_every_split(&with_delim(b"aab"), b"xaaabaabaaab");
        assert_eq!(values(&rs), vec![&b"xa"[..], b"", b"a"]);
        let rs = same_at_every_split(&with_delim(b"\r\n"), b"a\rb\r\n\r\r\n\n\r\n");
        assert_eq!(values(&rs), vec![&b"a\rb"[..], b"\r", b"\n"]);
        let rs = same_at_every_split(&with_delim(b"abcd"), b"abcdabcabcd");
        assert_eq!(values(&rs), vec![&b""[..], b"abc"]);
    }

    #[test]
    fn record_spanning_many_chunks() {
        let o = with_delim(b"--");
        let big: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut input = big.clone();
        input.extend_from_slice(b"--small--");
        input.extend_from_slice(&big);
        for step in [1, 7, 1000, 4096] {
            let rs = run(&o, &input, step).unwrap();
            assert!(
                values(&rs) == vec![&big[..], b"small", &big[..]],
                "step {step}"
            );
        }
    }

    #[test]
    fn key_separator_and_optional_keys() {
        let mut o = opts(InputFormat::Lines);
        o.key_separator = Some(b"::".to_vec());
        let rs = same_at_every_split(&o, b"k1::v1\n::empty key\nk3::v::3\nk4::\n");
        let kv: Vec<_> = rs
            .iter()
            .map(|r| (r.key.as_deref().unwrap(), r.value.as_deref().unwrap()))
            .collect();
        assert_eq!(
            kv,
            vec![
                (&b"k1"[..], &b"v1"[..]),
                (b"", b"empty key"),
                (b"k3", b"v::3"),
                (b"k4", b""),
            ]
        );

        let e = run(&o, b"a::b\nnokey\n", 3).unwrap_err();
        assert_eq!(e.exit_code(), 65);
        let msg = e.to_string();
        assert!(
            msg.contains("line 2") && msg.contains("--key-optional"),
            "{msg}"
        );
        // The record without a delimiter is only seen in finish; it still has its number.
        let e = run(&o, b"a::b\n\n", 2).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = run(&o, b"a::b\nc:", 4).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");

        o.key_optional = true;
        let rs = same_at_every_split(&o, b"a::b\nnokey\n\n");
        assert_eq!(rs[1].key, None);
        assert_eq!(rs[1].value.as_deref(), Some(&b"nokey"[..]));
        assert_eq!(
            (rs[2].key.as_ref(), rs[2].value.as_deref()),
            (None, Some(&b""[..]))
        );
    }

    #[test]
    fn key_separator_with_multibyte_delimiter() {
        let mut o = with_delim(b"\r\n");
        o.key_separator = Some(b"\t".to_vec());
        let rs = same_at_every_split(&o, b"k\tv\r\n\xff\t\t\r\n");
        assert_eq!(rs[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(rs[1].key.as_deref(), Some(&b"\xff"[..]));
        assert_eq!(rs[1].value.as_deref(), Some(&b"\t"[..]));
    }

    #[test]
    fn headers_are_attached() {
        let mut o = opts(InputFormat::Lines);
        o.headers = vec![
            parse_header_arg("a=1").unwrap(),
            parse_header_arg("b=").unwrap(),
        ];
        let rs = same_at_every_split(&o, b"x\ny");
        assert_eq!(rs[1].headers, o.headers);
    }

    #[test]
    fn sink_error_stops_the_parser() {
        let mut p = parser(opts(InputFormat::Lines));
        let mut seen = 0;
        let mut sink = |_: RecordRef<'_>| {
            seen += 1;
            if seen == 2 {
                Err(Error::Other("full".into()))
            } else {
                Ok(())
            }
        };
        let e = p.feed(b"a\nb\nc\n", &mut sink).unwrap_err();
        assert_eq!(e.to_string(), "full");
        assert_eq!(seen, 2);
    }
}

#[cfg(test)]
mod bench {
    use super::super::*;

    /// Throughput sanity check, not a test; run by hand:
    /// `cargo test --release --lib input::lines::bench -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput() {
        for (name, delim, sep) in [
            ("\\n", &b"\n"[..], None),
            ("\\n -K", b"\n", Some(b"=".to_vec())),
            ("\\r\\n", b"\r\n", None),
            ("<|>", b"<|>", None),
        ] {
            let mut line: Vec<u8> = (0..100 - delim.len())
                .map(|i| b'a' + (i % 26) as u8)
                .collect();
            line[10] = b'=';
            line.extend_from_slice(delim);
            let input = line.repeat(2_000_000);
            let mut p = parser(InputOptions {
                format: InputFormat::Lines,
                delimiter: delim.to_vec(),
                key_separator: sep,
                key_optional: false,
                headers: vec![],
                csv_header: false,
                skip_bad: false,
            });
            let (mut n, mut bytes) = (0u64, 0usize);
            let t = std::time::Instant::now();
            let mut sink = |r: RecordRef<'_>| {
                n += 1;
                bytes += r.value.map_or(0, |v| v.len());
                Ok(())
            };
            // 64 KiB is what a pipe read typically returns.
            for c in input.chunks(64 << 10) {
                p.feed(c, &mut sink).unwrap();
            }
            p.finish(&mut sink).unwrap();
            let s = t.elapsed().as_secs_f64();
            assert_eq!(n, 2_000_000);
            std::hint::black_box(bytes);
            eprintln!(
                "{name:>6}: 2M x 100 B in {:.3}s = {:.2} GB/s",
                s,
                input.len() as f64 / s / 1e9
            );
        }
    }
}
