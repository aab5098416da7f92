//! CSV rows (`key,value`, or named columns with --csv-header), parsed incrementally with
//! csv-core so memory stays bounded by the longest row.

use super::{InputOptions, InputParser, Sink};
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
    want_header: bool,
    columns: Option<Columns>,
    headers: Vec<Header>,
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
            want_header: o.csv_header,
            columns: None,
            headers: o.headers,
        }
    }

    fn run(&mut self, mut input: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        loop {
            let (res, nin, nout, nend) = self.rdr.read_record(
                input,
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
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
                    r?;
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
        let bad = |m: String| Error::BadInput(format!("input line {row} (CSV row {row}): {m}"));
        if self.want_header && self.columns.is_none() {
            let mut c = Columns {
                key: None,
                value: usize::MAX,
                partition: None,
                timestamp: None,
            };
            for i in 0..ends.len() {
                match std::str::from_utf8(field(i)).unwrap_or("").trim() {
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
                        "expected 2 fields (key,value), found {}",
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
                let num = |i: Option<usize>, what: &str| -> Result<Option<i64>> {
                    match i.map(field) {
                        None | Some(b"") => Ok(None),
                        Some(b) => std::str::from_utf8(b)
                            .ok()
                            .and_then(|s| s.trim().parse::<i64>().ok())
                            .map(Some)
                            .ok_or_else(|| {
                                bad(format!(
                                    "{what} {:?} is not a number",
                                    String::from_utf8_lossy(b)
                                ))
                            }),
                    }
                };
                let p = num(c.partition, "partition")?;
                if p.is_some_and(|p| p < 0 || p > u32::MAX as i64) {
                    return Err(bad("partition must not be negative".into()));
                }
                (
                    c.key.map(field),
                    field(c.value),
                    p.map(|p| p as u32),
                    num(c.timestamp, "timestamp")?,
                )
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
        self.run(data, sink)
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        self.run(&[], sink)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::super::*;

    #[test]
    fn rows_quotes_and_headers() {
        let o = opts(InputFormat::Csv);
        let rs = same_at_every_split(
            &o,
            b"k1,v1\n\"k,2\",\"multi\nline \"\"q\"\"\"\n,empty key\r\nlast,row",
        );
        assert_eq!(rs.len(), 4);
        assert_eq!(rs[1].key.as_deref(), Some(&b"k,2"[..]));
        assert_eq!(rs[1].value.as_deref(), Some(&b"multi\nline \"q\""[..]));
        assert_eq!(rs[2].key.as_deref(), Some(&b""[..]));
        assert_eq!(rs[3].value.as_deref(), Some(&b"row"[..]));
        let mut o = opts(InputFormat::Csv);
        o.csv_header = true;
        let rs = same_at_every_split(&o, b"timestamp,value,partition,other\n5,v,1,x\n");
        assert_eq!(
            (rs[0].ts, rs[0].partition, rs[0].key.clone()),
            (Some(5), Some(1), None)
        );
        let e = run(&opts(InputFormat::Csv), b"a,b\nc\n", 2).unwrap_err();
        assert!(e.to_string().contains("row 2"), "{e}");
        assert!(run(&o, b"key\nk\n", 2).is_err());
    }
}
