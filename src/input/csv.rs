//! CSV rows (`key,value`, or named columns with --csv-header), parsed incrementally with
//! csv-core so memory stays bounded by the longest row.

use super::{InputOptions, InputParser, Sink, parse_timestamp};
use crate::error::{Error, Result};
use crate::record::{Header, RecordRef};
use csv_core::{ReadRecordResult, Reader};

struct Columns {
    key: Option<usize>,
    value: usize,
    partition: Option<usize>,
    timestamp: Option<usize>,
}

pub struct CsvParser {
    rdr: Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    out_len: usize,
    ends_len: usize,
    row: u64,
    /// Newlines consumed so far and the last byte consumed: where a row ends, for messages.
    newlines: u64,
    last: u8,
    want_header: bool,
    columns: Option<Columns>,
    headers: Vec<Header>,
    skip_bad: bool,
    skipped: u64,
}

impl CsvParser {
    pub fn new(o: InputOptions) -> Self {
        CsvParser {
            rdr: Reader::new(),
            out: vec![0; 4096],
            ends: vec![0; 16],
            out_len: 0,
            ends_len: 0,
            row: 0,
            newlines: 0,
            last: 0,
            want_header: o.csv_header,
            columns: None,
            headers: o.headers,
            skip_bad: o.skip_bad,
            skipped: 0,
        }
    }

    fn run(&mut self, mut input: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        loop {
            let (res, nin, nout, nend) = self.rdr.read_record(
                input,
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            if nin > 0 {
                self.newlines += memchr::memchr_iter(b'\n', &input[..nin]).count() as u64;
                self.last = input[nin - 1];
            }
            input = &input[nin..];
            self.out_len += nout;
            self.ends_len += nend;
            match res {
                ReadRecordResult::InputEmpty | ReadRecordResult::End => return Ok(()),
                ReadRecordResult::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    self.row += 1;
                    let r = self.row_done(sink);
                    self.out_len = 0;
                    self.ends_len = 0;
                    super::tolerate(r, self.skip_bad, &mut self.skipped)?;
                }
            }
        }
    }

    fn row_done(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        let row = self.row;
        let ends = &self.ends[..self.ends_len];
        let field = |i: usize| -> &[u8] {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            &self.out[start..ends[i]]
        };
        // csv-core reports no line numbers we can rely on, and a quoted field may span lines:
        // name the row and the input line it ends on.
        let end_line = self.newlines + u64::from(self.last != b'\n');
        let bad = |m: String| Error::BadInput(format!("input row {row} (line {end_line}): {m}"));
        if self.want_header && self.columns.is_none() {
            let mut c = Columns {
                key: None,
                value: usize::MAX,
                partition: None,
                timestamp: None,
            };
            for i in 0..ends.len() {
                let name = String::from_utf8_lossy(field(i));
                match name.trim_start_matches('\u{feff}').trim() {
                    "key" => c.key = Some(i),
                    "value" => c.value = i,
                    "partition" => c.partition = Some(i),
                    "timestamp" => c.timestamp = Some(i),
                    _ => {}
                }
            }
            if c.value == usize::MAX {
                return Err(bad("the header row has no \"value\" column".into()));
            }
            self.columns = Some(c);
            return Ok(());
        }
        let (key, value, partition, timestamp) = match &self.columns {
            None => {
                if ends.len() != 2 {
                    return Err(bad(format!(
                        "expected 2 fields (key,value), found {} (quote fields that contain commas; --csv-header names columns)",
                        ends.len()
                    )));
                }
                (Some(field(0)), field(1), None, None)
            }
            Some(c) => {
                let need = [Some(c.value), c.key, c.partition, c.timestamp]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(0);
                if ends.len() <= need {
                    return Err(bad(format!(
                        "expected at least {} fields, found {}",
                        need + 1,
                        ends.len()
                    )));
                }
                // An empty cell means "not given", so one file can mix rows with and without.
                let text = |i: Option<usize>| {
                    i.map(field)
                        .filter(|b| !b.is_empty())
                        .map(|b| (b, std::str::from_utf8(b).unwrap_or("").trim()))
                };
                let partition = match text(c.partition) {
                    None => None,
                    Some((b, s)) => Some(s.parse::<u32>().map_err(|_| {
                        bad(format!(
                            "partition {:?} is not a non-negative whole number",
                            String::from_utf8_lossy(b)
                        ))
                    })?),
                };
                let timestamp = match text(c.timestamp) {
                    None => None,
                    Some((b, s)) => Some(parse_timestamp(s).ok_or_else(|| {
                        bad(format!(
                            "timestamp {:?} is not milliseconds or an RFC 3339 time",
                            String::from_utf8_lossy(b)
                        ))
                    })?),
                };
                (c.key.map(field), field(c.value), partition, timestamp)
            }
        };
        sink(RecordRef {
            key,
            value: Some(value),
            timestamp,
            headers: &self.headers,
            partition,
            line: row,
        })
    }
}

impl InputParser for CsvParser {
    fn feed(&mut self, data: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        // csv-core takes empty input to mean end of input.
        if data.is_empty() {
            return Ok(());
        }
        self.run(data, sink)
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        self.run(&[], sink)
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::super::*;

    fn kv(rs: &[Rec]) -> Vec<(Option<&[u8]>, &[u8])> {
        rs.iter()
            .map(|r| (r.key.as_deref(), r.value.as_deref().unwrap()))
            .collect()
    }

    fn header_opts() -> InputOptions {
        let mut o = opts(InputFormat::Csv);
        o.csv_header = true;
        o
    }

    #[test]
    fn key_value_rows_at_every_split() {
        let o = opts(InputFormat::Csv);
        let rs = same_at_every_split(
            &o,
            b"k1,v1\n\"k,2\",\"multi\nline \"\"q\"\"\"\n,empty key\r\n\xff\xfe,\0\r\nlast,row",
        );
        assert_eq!(
            kv(&rs),
            vec![
                (Some(&b"k1"[..]), &b"v1"[..]),
                (Some(b"k,2"), b"multi\nline \"q\""),
                (Some(b""), b"empty key"),
                (Some(b"\xff\xfe"), b"\0"),
                (Some(b"last"), b"row"),
            ]
        );
        assert_eq!(
            rs.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert!(rs.iter().all(|r| r.ts.is_none() && r.partition.is_none()));
        assert!(run(&o, b"", 1).unwrap().is_empty());
        assert_eq!(
            kv(&run(&o, b"a,\n", 1).unwrap()),
            vec![(Some(&b"a"[..]), &b""[..])]
        );
    }

    #[test]
    fn header_row_names_columns() {
        let o = header_opts();
        let rs = same_at_every_split(
            &o,
            b"\xef\xbb\xbftimestamp,value,partition,other,key\n5,v,1,x,k\n2023-11-14T22:13:20Z,\"a,b\",,y,\n,w,0,,\"\"\n",
        );
        assert_eq!(
            kv(&rs),
            vec![
                (Some(&b"k"[..]), &b"v"[..]),
                (Some(b""), b"a,b"),
                (Some(b""), b"w")
            ]
        );
        assert_eq!((rs[0].ts, rs[0].partition), (Some(5), Some(1)));
        assert_eq!((rs[1].ts, rs[1].partition), (Some(1_700_000_000_000), None));
        assert_eq!((rs[2].ts, rs[2].partition), (None, Some(0)));
        // The header row is row 1.
        assert_eq!(rs.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3, 4]);
        // Without a key column, keys are null; extra headers are attached.
        let mut o = header_opts();
        o.headers = vec![parse_header_arg("a=b").unwrap()];
        let rs = run(&o, b"value\nx\ny", 2).unwrap();
        assert_eq!(kv(&rs), vec![(None, &b"x"[..]), (None, b"y")]);
        assert_eq!(rs[1].headers, o.headers);
        assert!(run(&o, b"value,key\n", 1).unwrap().is_empty());
    }

    #[test]
    fn long_rows_and_many_columns() {
        let big = vec![b'z'; 100_000];
        let mut input = b"k,\"".to_vec();
        input.extend_from_slice(&big);
        input.extend_from_slice(b"\"\nk2,v\n");
        let rs = run(&opts(InputFormat::Csv), &input, 999).unwrap();
        assert!(kv(&rs) == vec![(Some(&b"k"[..]), &big[..]), (Some(b"k2"), b"v")]);
        let names: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        let cells: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
        let input = format!("{},value\n{},x\n", names.join(","), cells.join(","));
        let rs = run(&header_opts(), input.as_bytes(), 5).unwrap();
        assert_eq!(kv(&rs), vec![(None, &b"x"[..])]);
    }

    #[test]
    fn errors_name_the_row_and_line() {
        for (o, input, needles) in [
            (
                opts(InputFormat::Csv),
                &b"a,b\nc\n"[..],
                &["row 2", "line 2", "2 fields", "found 1"][..],
            ),
            (
                opts(InputFormat::Csv),
                b"a,b\nc,d,e",
                &["row 2", "line 2", "found 3"],
            ),
            // A quoted newline makes row 2 end on line 3.
            (
                opts(InputFormat::Csv),
                b"\"a\nb\",c\nx\n",
                &["row 2", "line 3"],
            ),
            (
                header_opts(),
                b"key,val\n",
                &["row 1", "line 1", "\"value\""],
            ),
            (
                header_opts(),
                b"key,value\nk\n",
                &["row 2", "line 2", "at least 2"],
            ),
            (
                header_opts(),
                b"value,partition\nv,-1\n",
                &["row 2", "partition", "-1"],
            ),
            (
                header_opts(),
                b"value,partition\nv,4294967296\n",
                &["partition"],
            ),
            (
                header_opts(),
                b"value,timestamp\nv,soon\n",
                &["row 2", "timestamp", "soon"],
            ),
        ] {
            let e = run(&o, input, 3).unwrap_err();
            assert_eq!(e.exit_code(), 65);
            let msg = e.to_string();
            for n in needles {
                assert!(msg.contains(n), "{msg:?} lacks {n:?}");
            }
        }
    }
}
