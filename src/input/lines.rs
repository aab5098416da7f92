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
                    emit(
                        &self.carry,
                        self.line,
                        &self.key_sep,
                        self.key_sep_len,
                        self.key_optional,
                        &self.headers,
                        sink,
                    )?;
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
            emit(
                &rest[..i],
                self.line,
                &self.key_sep,
                self.key_sep_len,
                self.key_optional,
                &self.headers,
                sink,
            )?;
            rest = &rest[i + d..];
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        if !self.carry.is_empty() {
            self.line += 1;
            let carry = std::mem::take(&mut self.carry);
            emit(
                &carry,
                self.line,
                &self.key_sep,
                self.key_sep_len,
                self.key_optional,
                &self.headers,
                sink,
            )?;
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

    #[test]
    fn newline_records_at_every_split() {
        let o = opts(InputFormat::Lines);
        let input = b"a\n\nbc\r\n\xff\xfe\nlast";
        let rs = same_at_every_split(&o, input);
        assert_eq!(
            values(&rs),
            vec![&b"a"[..], b"", b"bc\r", b"\xff\xfe", b"last"]
        );
        assert_eq!(
            rs.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert!(run(&o, b"", 1).unwrap().is_empty());
        assert_eq!(run(&o, b"x\n", 1).unwrap().len(), 1);
        assert_eq!(run(&o, b"\n", 1).unwrap().len(), 1);
    }

    #[test]
    fn multibyte_delimiter_across_chunks() {
        let mut o = opts(InputFormat::Lines);
        o.delimiter = b"<|>".to_vec();
        let rs = same_at_every_split(&o, b"one<|>two<<|>|>three<|");
        assert_eq!(values(&rs), vec![&b"one"[..], b"two<", b"|>three<|"]);
    }

    #[test]
    fn key_separator_and_optional_keys() {
        let mut o = opts(InputFormat::Lines);
        o.key_separator = Some(b"::".to_vec());
        let rs = same_at_every_split(&o, b"k1::v1\n::empty key\nk3::v::3\n");
        assert_eq!(rs[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(rs[1].key.as_deref(), Some(&b""[..]));
        assert_eq!(rs[2].value.as_deref(), Some(&b"v::3"[..]));
        let e = run(&o, b"a::b\nnokey\n", 3).unwrap_err();
        assert_eq!(e.exit_code(), 65);
        assert!(e.to_string().contains("line 2"), "{e}");
        o.key_optional = true;
        let rs = run(&o, b"a::b\nnokey\n", 3).unwrap();
        assert_eq!(rs[1].key, None);
    }

    #[test]
    fn headers_are_attached() {
        let mut o = opts(InputFormat::Lines);
        o.headers = vec![parse_header_arg("a=1").unwrap()];
        let rs = run(&o, b"x\n", 1).unwrap();
        assert_eq!(rs[0].headers[0].key, "a");
    }
}
