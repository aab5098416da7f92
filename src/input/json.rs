//! One JSON object per line; reads back exactly what `consume --format json` writes.
//!
//! serde_json checks the syntax of each line, then a small cursor walks the (now known to be
//! well-formed) text. We do not go through `serde_json::Value` because its maps sort their keys
//! (no `preserve_order` feature here): header order and the text of object values would change.

use super::{InputOptions, InputParser, Sink, parse_timestamp};
use crate::error::{Error, Result};
use crate::record::{Header, RecordRef};
use base64::Engine;
use std::borrow::Cow;

pub struct JsonParser {
    carry: Vec<u8>,
    line: u64,
    extra: Vec<Header>,
    /// Reused across records so the common case allocates only the header strings themselves.
    headers: Vec<Header>,
    skip_bad: bool,
    skipped: u64,
}

impl JsonParser {
    pub fn new(o: InputOptions) -> Self {
        JsonParser {
            carry: Vec::new(),
            line: 0,
            extra: o.headers,
            headers: Vec::new(),
            skip_bad: o.skip_bad,
            skipped: 0,
        }
    }

    fn parse_line(&mut self, raw: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        let line = self.line;
        let bad = |what: String| Error::BadInput(format!("input line {line}: {what}"));
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(bad(
                "blank line (each line must be one JSON object, e.g. {\"value\": \"...\"})".into(),
            ));
        }
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
            return Err(bad(format!(
                "invalid JSON at column {}: {}",
                e.column(),
                without_position(&e)
            )));
        }
        let mut top = Cursor::new(raw);
        top.ws();
        if top.peek() != Some(b'{') {
            return Err(bad(format!(
                "expected a JSON object, found {}",
                kind(&raw[top.i..])
            )));
        }

        let mut f = Fields::default();
        for (k, v) in Members::new(&raw[top.i..]) {
            match json_str(k)
                .map_err(|e| bad(format!("field name: {e}")))?
                .as_ref()
            {
                "key" => f.key = Some(v),
                "value" => f.value = Some(v),
                "key_encoding" => f.key_encoding = Some(v),
                "value_encoding" => f.value_encoding = Some(v),
                "headers" => f.headers = Some(v),
                "timestamp" => f.timestamp = Some(v),
                "partition" => f.partition = Some(v),
                // The consume envelope's `topic` and `offset`, and anything a user adds.
                _ => {}
            }
        }

        let Some(value) = f.value else {
            return Err(bad(
                "no \"value\" field (use \"value\": null for a tombstone)".into(),
            ));
        };
        let key = bytes(
            "key",
            f.key,
            encoding("key_encoding", f.key_encoding).map_err(&bad)?,
        )
        .map_err(&bad)?;
        let value = bytes(
            "value",
            Some(value),
            encoding("value_encoding", f.value_encoding).map_err(&bad)?,
        )
        .map_err(&bad)?;

        let timestamp = timestamp(f.timestamp).map_err(&bad)?;
        let partition = partition(f.partition).map_err(&bad)?;

        let mut headers = std::mem::take(&mut self.headers);
        headers.clear();
        record_headers(f.headers, &mut headers).map_err(&bad)?;
        headers.extend(self.extra.iter().cloned());
        let r = sink(RecordRef {
            key: key.as_deref(),
            value: value.as_deref(),
            timestamp,
            headers: &headers,
            partition,
            line,
        });
        self.headers = headers;
        r
    }
}

impl InputParser for JsonParser {
    fn feed(&mut self, data: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        let mut rest = data;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.line += 1;
            if self.carry.is_empty() {
                let r = self.parse_line(&rest[..i], sink);
                super::tolerate(r, self.skip_bad, &mut self.skipped)?;
            } else {
                // Only a line that spans chunks is copied; the buffer is kept for the next one.
                let mut l = std::mem::take(&mut self.carry);
                l.extend_from_slice(&rest[..i]);
                let r = self.parse_line(&l, sink);
                l.clear();
                self.carry = l;
                super::tolerate(r, self.skip_bad, &mut self.skipped)?;
            }
            rest = &rest[i + 1..];
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        if !self.carry.is_empty() {
            self.line += 1;
            let l = std::mem::take(&mut self.carry);
            let r = self.parse_line(&l, sink);
            super::tolerate(r, self.skip_bad, &mut self.skipped)?;
        }
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// Raw JSON text of the fields we read; `None` when absent. Last one wins, as in serde_json.
#[derive(Default)]
struct Fields<'a> {
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    key_encoding: Option<&'a [u8]>,
    value_encoding: Option<&'a [u8]>,
    headers: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    partition: Option<&'a [u8]>,
}

/// `true` for base64. Errors are messages without the line prefix.
fn encoding(field: &str, v: Option<&[u8]>) -> Result<bool, String> {
    let Some(v) = v else { return Ok(false) };
    if v == b"null" {
        return Ok(false);
    }
    let s = if v[0] == b'"' { json_str(v).ok() } else { None };
    match s.as_deref() {
        Some("base64") => Ok(true),
        Some("utf8" | "utf-8") => Ok(false),
        _ => Err(format!(
            "\"{field}\" must be \"base64\" or \"utf8\", not {}",
            show(v)
        )),
    }
}

/// Key, value or header value: null, a string (UTF-8 or base64), or any other JSON value as its
/// compact text.
fn bytes<'a>(field: &str, v: Option<&'a [u8]>, b64: bool) -> Result<Option<Cow<'a, [u8]>>, String> {
    let Some(v) = v else { return Ok(None) };
    if v == b"null" {
        return Ok(None);
    }
    if v[0] == b'"' {
        let s = json_str(v).map_err(|e| format!("\"{field}\": {e}"))?;
        if b64 {
            return base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map(|b| Some(Cow::Owned(b)))
                .map_err(|e| format!("\"{field}\" is not valid base64 ({e})"));
        }
        return Ok(Some(match s {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        }));
    }
    if b64 {
        return Err(format!(
            "\"{field}\" must be a base64 string, not {}",
            show(v)
        ));
    }
    Ok(Some(Cow::Owned(minify(v))))
}

/// Milliseconds (what consume writes) or an RFC 3339 string.
fn timestamp(v: Option<&[u8]>) -> Result<Option<i64>, String> {
    let t = match v {
        None | Some(b"null") => return Ok(None),
        Some(t) => t,
    };
    let parsed = if t[0] == b'"' {
        parse_timestamp(&json_str(t).map_err(|e| format!("\"timestamp\": {e}"))?)
    } else {
        std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
    };
    parsed.map(Some).ok_or_else(|| {
        format!(
            "\"timestamp\" must be whole milliseconds since the epoch or an RFC 3339 time, not {}",
            show(t)
        )
    })
}

fn partition(v: Option<&[u8]>) -> Result<Option<u32>, String> {
    let p = match v {
        None | Some(b"null") => return Ok(None),
        Some(p) => p,
    };
    std::str::from_utf8(p)
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .map(Some)
        .ok_or_else(|| {
            format!(
                "\"partition\" must be a non-negative whole number, not {}",
                show(p)
            )
        })
}

/// The record's own headers: `[{"key": k, "value": v, "value_encoding": e}, ...]` (what consume
/// writes) or `{"k": v, ...}`, in input order.
fn record_headers(v: Option<&[u8]>, out: &mut Vec<Header>) -> Result<(), String> {
    let Some(v) = v else { return Ok(()) };
    match v[0] {
        b'n' => Ok(()),
        b'[' => {
            for (i, item) in Elements::new(v).enumerate() {
                if item[0] != b'{' {
                    return Err(format!(
                        "headers[{i}] must be an object like {{\"key\": \"k\", \"value\": \"v\"}}, not {}",
                        show(item)
                    ));
                }
                let (mut key, mut value, mut enc) = (None, None, None);
                for (k, hv) in Members::new(item) {
                    match json_str(k)?.as_ref() {
                        "key" => key = Some(hv),
                        "value" => value = Some(hv),
                        "value_encoding" => enc = Some(hv),
                        _ => {}
                    }
                }
                let key = match key {
                    Some(k) if k[0] == b'"' => json_str(k)
                        .map_err(|e| format!("headers[{i}].key: {e}"))?
                        .into_owned(),
                    Some(k) => {
                        return Err(format!(
                            "headers[{i}].key must be a string, not {}",
                            show(k)
                        ));
                    }
                    None => return Err(format!("headers[{i}] has no \"key\"")),
                };
                let b64 = encoding(&format!("headers[{i}].value_encoding"), enc)?;
                let value = header_value(&format!("headers[{i}].value"), value, b64)?;
                out.push(Header { key, value });
            }
            Ok(())
        }
        b'{' => {
            for (k, hv) in Members::new(v) {
                let key = json_str(k)
                    .map_err(|e| format!("header name: {e}"))?
                    .into_owned();
                let value = header_value(&format!("header {key:?}"), Some(hv), false)?;
                out.push(Header { key, value });
            }
            Ok(())
        }
        _ => Err(format!(
            "\"headers\" must be an array or an object, not {}",
            show(v)
        )),
    }
}

/// Header values are strings or null: consume never writes anything else, and guessing a text
/// form for numbers would not round-trip.
fn header_value(field: &str, v: Option<&[u8]>, b64: bool) -> Result<Option<Vec<u8>>, String> {
    match v {
        Some(v) if v[0] != b'"' && v != b"null" => {
            Err(format!("{field} must be a string or null, not {}", show(v)))
        }
        v => Ok(bytes(field, v, b64)?.map(Cow::into_owned)),
    }
}

/// The text of a JSON string literal, borrowed when it has no escapes.
fn json_str(lit: &[u8]) -> Result<Cow<'_, str>, String> {
    let inner = &lit[1..lit.len() - 1];
    if memchr::memchr(b'\\', inner).is_none() {
        return std::str::from_utf8(inner).map(Cow::Borrowed).map_err(|_| {
            "a string is not valid UTF-8 (use base64 with an _encoding field)".into()
        });
    }
    serde_json::from_slice::<String>(lit)
        .map(Cow::Owned)
        .map_err(|e| without_position(&e))
}

/// Compact text of a well-formed JSON value: whitespace outside strings removed, everything
/// else (key order, number spelling, escapes) kept as written.
fn minify(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut c = Cursor::new(v);
    while let Some(b) = c.peek() {
        if b == b'"' {
            let s = c.i;
            c.string();
            out.extend_from_slice(&v[s..c.i]);
        } else {
            if !is_ws(b) {
                out.push(b);
            }
            c.i += 1;
        }
    }
    out
}

fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn kind(v: &[u8]) -> &'static str {
    match v.first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A JSON fragment for an error message, cut short.
fn show(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.into_owned(),
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// A position in JSON text that serde_json has already accepted, so the walk can assume
/// well-formed input; on anything unexpected it stops rather than panics.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cursor { b, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    /// Past the string literal that starts at the cursor.
    fn string(&mut self) {
        self.i += 1;
        while let Some(j) = memchr::memchr2(b'"', b'\\', &self.b[self.i.min(self.b.len())..]) {
            let c = self.b[self.i + j];
            // After a backslash, one byte is enough: `\uXXXX` digits are never quotes.
            self.i += j + if c == b'\\' { 2 } else { 1 };
            if c == b'"' {
                return;
            }
        }
        self.i = self.b.len();
    }

    /// The text of the value at the cursor (after whitespace); iterative so depth is no risk.
    fn value(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let start = self.i;
        match self.peek()? {
            b'"' => self.string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                while let Some(b) = self.peek() {
                    match b {
                        b'"' => {
                            self.string();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while self
                    .peek()
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !is_ws(b))
                {
                    self.i += 1;
                }
            }
        }
        (self.i > start).then(|| &self.b[start..self.i.min(self.b.len())])
    }

    /// Steps to the next item of the array or object whose opening bracket is at the cursor
    /// (`first`) or that has had items already; `false` at its end.
    fn next_item(&mut self, first: &mut bool, close: u8) -> bool {
        self.ws();
        if std::mem::take(first) {
            self.i += 1;
            self.ws();
            return self.peek().is_some_and(|b| b != close);
        }
        if self.peek() != Some(b',') {
            return false;
        }
        self.i += 1;
        true
    }
}

/// `(name literal, value text)` of each member of an object, in order.
struct Members<'a>(Cursor<'a>, bool);

impl<'a> Members<'a> {
    fn new(obj: &'a [u8]) -> Self {
        Members(Cursor::new(obj), true)
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let c = &mut self.0;
        if !c.next_item(&mut self.1, b'}') {
            return None;
        }
        let name = c.value()?;
        c.ws();
        if c.peek() != Some(b':') {
            return None;
        }
        c.i += 1;
        let v = c.value()?;
        Some((name, v))
    }
}

/// The text of each element of an array, in order.
struct Elements<'a>(Cursor<'a>, bool);

impl<'a> Elements<'a> {
    fn new(arr: &'a [u8]) -> Self {
        Elements(Cursor::new(arr), true)
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<Self::Item> {
        if !self.0.next_item(&mut self.1, b']') {
            return None;
        }
        self.0.value()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::super::*;

    fn one(line: &str) -> Rec {
        let mut rs = run(&opts(InputFormat::Json), line.as_bytes(), 1 << 20).unwrap();
        assert_eq!(rs.len(), 1);
        rs.pop().unwrap()
    }

    fn err(input: &[u8]) -> String {
        let e = run(&opts(InputFormat::Json), input, 3).unwrap_err();
        assert_eq!(e.exit_code(), 65, "{e}");
        e.to_string()
    }

    fn h(key: &str, value: Option<&[u8]>) -> Header {
        Header {
            key: key.into(),
            value: value.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn fields_and_encodings_at_every_split() {
        let o = opts(InputFormat::Json);
        let input = br#"{"key":"k","value":"v","headers":[{"key":"h","value":"x"},{"key":"b","value":"/w==","value_encoding":"base64"},{"key":"n","value":null}],"timestamp":5,"partition":2}
{"value":null}
{"value":{"a":[1,2]},"key":7,"headers":{"x":"y"},"timestamp":"2020-01-01T00:00:00Z"}
{"value":"AAE=","value_encoding":"base64","topic":"ignored","offset":9}"#;
        let rs = same_at_every_split(&o, input);
        assert_eq!(rs.len(), 4);
        assert_eq!(rs[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(
            rs[0].headers,
            vec![h("h", Some(b"x")), h("b", Some(b"\xff")), h("n", None)]
        );
        assert_eq!((rs[0].ts, rs[0].partition), (Some(5), Some(2)));
        assert_eq!((rs[1].key.as_ref(), rs[1].value.as_ref()), (None, None));
        assert_eq!(rs[2].value.as_deref(), Some(&br#"{"a":[1,2]}"#[..]));
        assert_eq!(rs[2].key.as_deref(), Some(&b"7"[..]));
        assert_eq!(rs[2].ts, Some(1577836800000));
        assert_eq!(rs[3].value.as_deref(), Some(&[0u8, 1][..]));
        assert_eq!(
            rs.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
    }

    #[test]
    fn reads_back_the_consume_envelope() {
        // What `consume --format json` writes, including escapes and base64 for non-UTF-8.
        let lines = [
            r#"{"topic":"t","partition":0,"offset":5,"timestamp":1700000000000,"key":"k","value":"v","headers":[{"key":"h","value":"v"}]}"#,
            r#"{"topic":"t","partition":3,"offset":6,"timestamp":1,"key":null,"value":"/wA=","value_encoding":"base64","headers":[]}"#,
            r#"{"topic":"t","partition":0,"offset":7,"timestamp":2,"key":"gA==","key_encoding":"base64","value":null,"headers":[{"key":"b","value":"gA==","value_encoding":"base64"},{"key":"n","value":null}]}"#,
            r#"{"topic":"t","partition":0,"offset":8,"timestamp":3,"key":"q\"\\\n\t\u0001é","value":"","headers":[{"key":"k\"","value":"\r"}]}"#,
        ];
        let input = lines.join("\n") + "\n";
        let rs = same_at_every_split(&opts(InputFormat::Json), input.as_bytes());
        assert_eq!(rs[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(rs[0].value.as_deref(), Some(&b"v"[..]));
        assert_eq!(rs[0].headers, vec![h("h", Some(b"v"))]);
        assert_eq!((rs[0].ts, rs[0].partition), (Some(1700000000000), Some(0)));
        assert_eq!(rs[1].key, None);
        assert_eq!(rs[1].value.as_deref(), Some(&b"\xff\0"[..]));
        assert_eq!(rs[1].partition, Some(3));
        assert!(rs[1].headers.is_empty());
        assert_eq!(rs[2].key.as_deref(), Some(&b"\x80"[..]));
        assert_eq!(rs[2].value, None);
        assert_eq!(rs[2].headers, vec![h("b", Some(b"\x80")), h("n", None)]);
        assert_eq!(rs[3].key.as_deref(), Some("q\"\\\n\t\u{1}é".as_bytes()));
        assert_eq!(rs[3].value.as_deref(), Some(&b""[..]));
        assert_eq!(rs[3].headers, vec![h("k\"", Some(b"\r"))]);
    }

    #[test]
    fn round_trip_through_the_json_output() {
        use crate::output::OutputFormat;
        use crate::record::ConsumedRecord;
        let values: [&[u8]; 6] = [
            b"plain",
            b"",
            b"\xff\xfe\0",
            "é\"\\\u{7f}".as_bytes(),
            b"\r\n",
            b"{\"a\":1}",
        ];
        let fmt = OutputFormat::parse("json", b"\n".to_vec()).unwrap();
        let mut text = Vec::new();
        let mut want = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let key = (i % 2 == 0).then_some(values[(i + 1) % values.len()]);
            let headers = vec![("h", Some(*v)), ("n", None)];
            fmt.write(
                &ConsumedRecord {
                    topic: "t",
                    partition: i as u32,
                    offset: i as u64,
                    timestamp: 1_700_000_000_000 + i as i64,
                    key,
                    value: if i == 5 { None } else { Some(v) },
                    headers,
                },
                &mut text,
            );
            want.push((
                key.map(<[u8]>::to_vec),
                if i == 5 { None } else { Some(v.to_vec()) },
                vec![h("h", Some(v)), h("n", None)],
                Some(1_700_000_000_000 + i as i64),
                Some(i as u32),
            ));
        }
        let rs = run(&opts(InputFormat::Json), &text, 7).unwrap();
        let got: Vec<_> = rs
            .into_iter()
            .map(|r| (r.key, r.value, r.headers, r.ts, r.partition))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn values_keep_their_text() {
        // Object values keep key order and number spelling; only whitespace goes.
        let r = one(r#"{ "value" : { "z" : 1.50, "a" : [ true , null, "x y" ] } , "key" : -0 }"#);
        assert_eq!(
            r.value.as_deref(),
            Some(&br#"{"z":1.50,"a":[true,null,"x y"]}"#[..])
        );
        assert_eq!(r.key.as_deref(), Some(&b"-0"[..]));
        assert_eq!(
            one(r#"{"value":false}"#).value.as_deref(),
            Some(&b"false"[..])
        );
        assert_eq!(one(r#"{"value":[]}"#).value.as_deref(), Some(&b"[]"[..]));
        assert_eq!(
            one(r#"{"value":"{\"not\": \"parsed\"}"}"#).value.as_deref(),
            Some(&br#"{"not": "parsed"}"#[..])
        );
        // Escaped field names, the last duplicate wins, utf8 encoding is explicit.
        let r = one(r#"{"\u0076alue":"a","value":"b","key":"k","key_encoding":"utf8"}"#);
        assert_eq!(
            (r.key.as_deref(), r.value.as_deref()),
            (Some(&b"k"[..]), Some(&b"b"[..]))
        );
        // CRLF line endings are JSON whitespace.
        let rs = run(
            &opts(InputFormat::Json),
            b"{\"value\":\"a\"}\r\n{\"value\":\"b\"}\r\n",
            5,
        )
        .unwrap();
        assert_eq!(rs[1].value.as_deref(), Some(&b"b"[..]));
    }

    #[test]
    fn header_forms_keep_order_and_extra_headers_come_last() {
        let mut o = opts(InputFormat::Json);
        o.headers = vec![parse_header_arg("cli=1").unwrap()];
        let rs = run(
            &o,
            br#"{"value":"v","headers":{"z":"1","a":null,"m":"3"}}
{"value":"v","headers":[{"value":"2","key":"z"},{"key":"a","extra":1},{"key":"z","value":"3"}]}
{"value":"v","headers":null}
{"value":"v"}"#,
            4,
        )
        .unwrap();
        let cli = h("cli", Some(b"1"));
        assert_eq!(
            rs[0].headers,
            vec![
                h("z", Some(b"1")),
                h("a", None),
                h("m", Some(b"3")),
                cli.clone()
            ]
        );
        assert_eq!(
            rs[1].headers,
            vec![
                h("z", Some(b"2")),
                h("a", None),
                h("z", Some(b"3")),
                cli.clone()
            ]
        );
        assert_eq!(rs[2].headers, vec![cli.clone()]);
        assert_eq!(rs[3].headers, vec![cli]);
    }

    #[test]
    fn timestamps_and_partitions() {
        assert_eq!(one(r#"{"value":1,"timestamp":-5}"#).ts, Some(-5));
        assert_eq!(one(r#"{"value":1,"timestamp":null}"#).ts, None);
        assert_eq!(
            one(r#"{"value":1,"timestamp":"2023-11-14T22:13:20.5+00:00"}"#).ts,
            Some(1_700_000_000_500)
        );
        assert_eq!(
            one(r#"{"value":1,"partition":4294967295}"#).partition,
            Some(u32::MAX)
        );
    }

    #[test]
    fn long_lines_span_chunks() {
        let big = "x".repeat(300_000);
        let input = format!("{{\"value\":\"{big}\"}}\n{{\"value\":\"{big}\",\"key\":\"k\"}}");
        for step in [1000, 4096, 65536] {
            let rs = run(&opts(InputFormat::Json), input.as_bytes(), step).unwrap();
            assert_eq!(rs.len(), 2);
            assert!(
                rs.iter()
                    .all(|r| r.value.as_deref() == Some(big.as_bytes()))
            );
            assert_eq!(rs[1].line, 2);
        }
    }

    #[test]
    fn errors_name_the_line_and_field() {
        assert!(run(&opts(InputFormat::Json), b"", 1).unwrap().is_empty());
        for (input, needles) in [
            (&b"{\"value\":1}\nnope\n"[..], &["line 2", "invalid JSON"][..]),
            (b"{\"value\":1}\n\n{\"value\":1}\n", &["line 2", "blank line"]),
            (b"{\"value\":1}\n \t\r\n", &["line 2", "blank line"]),
            (b"\n", &["line 1", "blank"]),
            (b"{\"key\":\"k\"}\n", &["line 1", "no \"value\" field", "tombstone"]),
            (b"[1]\n", &["line 1", "object", "array"]),
            (b"\"s\"", &["line 1", "object", "string"]),
            (b"{\"value\":1} x\n", &["line 1", "invalid JSON"]),
            (b"{\"value\":1,}\n", &["line 1", "invalid JSON"]),
            (b"{\"value\":\"\xff\"}\n", &["line 1"]),
            (b"{\"value\":\"x\",\"partition\":-1}\n", &["line 1", "\"partition\"", "-1"]),
            (b"{\"value\":\"x\",\"partition\":1.0}\n", &["\"partition\""]),
            (b"{\"value\":\"x\",\"partition\":\"1\"}\n", &["\"partition\""]),
            (b"{\"value\":\"x\",\"partition\":4294967296}\n", &["\"partition\""]),
            (b"{\"value\":\"x\",\"timestamp\":\"soon\"}\n", &["\"timestamp\"", "soon"]),
            (b"{\"value\":\"x\",\"timestamp\":1.5}\n", &["\"timestamp\""]),
            (b"{\"value\":\"x\",\"timestamp\":[]}\n", &["\"timestamp\""]),
            (b"{\"value\":\"!\",\"value_encoding\":\"base64\"}\n", &["\"value\"", "base64"]),
            (b"{\"value\":1,\"value_encoding\":\"base64\"}\n", &["\"value\"", "base64 string"]),
            (b"{\"value\":\"x\",\"key_encoding\":\"hex\"}\n", &["\"key_encoding\"", "hex"]),
            (b"{\"value\":\"x\",\"key_encoding\":1}\n", &["\"key_encoding\""]),
            (b"{\"value\":\"x\",\"headers\":\"h\"}\n", &["\"headers\""]),
            (b"{\"value\":\"x\",\"headers\":[1]}\n", &["headers[0]"]),
            (b"{\"value\":\"x\",\"headers\":[{\"value\":\"v\"}]}\n", &["headers[0]", "\"key\""]),
            (b"{\"value\":\"x\",\"headers\":[{\"key\":1}]}\n", &["headers[0].key"]),
            (b"{\"value\":\"x\",\"headers\":[{\"key\":\"a\",\"value\":2}]}\n", &["headers[0].value"]),
            (
                b"{\"value\":\"x\",\"headers\":[{\"key\":\"a\",\"value\":\"x\",\"value_encoding\":\"b\"}]}\n",
                &["headers[0].value_encoding"],
            ),
            (b"{\"value\":\"x\",\"headers\":{\"a\":{}}}\n", &["header \"a\""]),
            (b"{\"value\":1}\n{\"value\":1}\n{\"value\"", &["line 3", "invalid JSON"]),
        ] {
            let msg = err(input);
            for n in needles {
                assert!(msg.contains(n), "{msg:?} lacks {n:?}");
            }
            assert!(msg.starts_with("input line "), "{msg}");
        }
    }
}

#[cfg(test)]
mod bench {
    use super::super::*;

    /// Throughput sanity check, not a test; run by hand:
    /// `cargo test --release --lib input::json::bench -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput() {
        let line = br#"{"topic":"t","partition":0,"offset":5,"timestamp":1700000000000,"key":"key-123","value":"some value text that is about this long","headers":[{"key":"h","value":"v"}]}
"#;
        let input = line.repeat(500_000);
        let mut p = parser(InputOptions {
            format: InputFormat::Json,
            delimiter: b"\n".to_vec(),
            key_separator: None,
            key_optional: false,
            headers: vec![],
            csv_header: false,
            skip_bad: false,
        });
        let mut n = 0u64;
        let t = std::time::Instant::now();
        let mut sink = |_: RecordRef<'_>| {
            n += 1;
            Ok(())
        };
        for c in input.chunks(64 << 10) {
            p.feed(c, &mut sink).unwrap();
        }
        p.finish(&mut sink).unwrap();
        let s = t.elapsed().as_secs_f64();
        assert_eq!(n, 500_000);
        eprintln!(
            "json: {n} envelopes in {s:.3}s = {:.0} MB/s",
            input.len() as f64 / s / 1e6
        );
    }
}
