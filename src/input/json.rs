//! One JSON object per line; reads back exactly what `consume --format json` writes.

use super::{InputOptions, InputParser, Sink};
use crate::error::{Error, Result};
use crate::record::{Header, RecordRef};
use base64::Engine;
use serde_json::Value;

pub struct JsonParser {
    carry: Vec<u8>,
    line: u64,
    extra: Vec<Header>,
}

impl JsonParser {
    pub fn new(o: InputOptions) -> Self {
        JsonParser {
            carry: Vec::new(),
            line: 0,
            extra: o.headers,
        }
    }

    fn parse_line(&self, raw: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        let line = self.line;
        let bad = |what: String| Error::BadInput(format!("input line {line}: {what}"));
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let v: Value =
            serde_json::from_slice(raw).map_err(|e| bad(format!("invalid JSON ({e})")))?;
        let Value::Object(o) = v else {
            return Err(bad("expected a JSON object".into()));
        };
        let encoding = |field: &str| -> Result<bool> {
            match o.get(field) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::String(s)) if s == "base64" => Ok(true),
                Some(Value::String(s)) if s == "utf8" || s == "utf-8" => Ok(false),
                Some(other) => Err(bad(format!(
                    "\"{field}\" must be \"base64\" or \"utf8\", not {other}"
                ))),
            }
        };
        let bytes = |field: &str, v: Option<&Value>, b64: bool| -> Result<Option<Vec<u8>>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if b64 => base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map(Some)
                    .map_err(|e| bad(format!("\"{field}\" is not valid base64 ({e})"))),
                Some(Value::String(s)) => Ok(Some(s.as_bytes().to_vec())),
                Some(other) if b64 => Err(bad(format!(
                    "\"{field}\" must be a base64 string, not {other}"
                ))),
                Some(other) => Ok(Some(
                    serde_json::to_vec(other).expect("JSON value serializes"),
                )),
            }
        };
        if !o.contains_key("value") {
            return Err(bad(
                "no \"value\" field (use \"value\": null for a tombstone)".into(),
            ));
        }
        let key = bytes("key", o.get("key"), encoding("key_encoding")?)?;
        let value = bytes("value", o.get("value"), encoding("value_encoding")?)?;
        let mut headers = Vec::new();
        match o.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, h) in items.iter().enumerate() {
                    let Some(k) = h.get("key").and_then(|k| k.as_str()) else {
                        return Err(bad(format!("headers[{i}] needs a string \"key\"")));
                    };
                    let b64 = match h.get("value_encoding") {
                        None | Some(Value::Null) => false,
                        Some(Value::String(s)) if s == "base64" => true,
                        Some(Value::String(s)) if s == "utf8" => false,
                        Some(o) => {
                            return Err(bad(format!(
                                "headers[{i}].value_encoding must be \"base64\", not {o}"
                            )));
                        }
                    };
                    let value = bytes(&format!("headers[{i}].value"), h.get("value"), b64)?;
                    headers.push(Header {
                        key: k.to_string(),
                        value,
                    });
                }
            }
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let value = match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.as_bytes().to_vec()),
                        other => {
                            return Err(bad(format!(
                                "header {k:?} must be a string or null, not {other}"
                            )));
                        }
                    };
                    headers.push(Header {
                        key: k.clone(),
                        value,
                    });
                }
            }
            Some(other) => {
                return Err(bad(format!(
                    "\"headers\" must be an array or object, not {other}"
                )));
            }
        }
        headers.extend(self.extra.iter().cloned());
        let timestamp = match o.get("timestamp") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .ok_or_else(|| bad(format!("\"timestamp\" {n} is not whole milliseconds")))?,
            ),
            Some(Value::String(s)) => Some(
                humantime::parse_rfc3339_weak(s)
                    .map_err(|e| bad(format!("\"timestamp\" {s:?} is not an RFC 3339 time ({e})")))?
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0),
            ),
            Some(other) => {
                return Err(bad(format!(
                    "\"timestamp\" must be milliseconds or an RFC 3339 string, not {other}"
                )));
            }
        };
        let partition = match o.get("partition") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|&p| p <= u32::MAX as u64)
                    .ok_or_else(|| {
                        bad(format!(
                            "\"partition\" must be a non-negative whole number, not {v}"
                        ))
                    })? as u32,
            ),
        };
        sink(RecordRef {
            key: key.as_deref(),
            value: value.as_deref(),
            timestamp,
            headers: &headers,
            partition,
            line,
        })
    }
}

impl InputParser for JsonParser {
    fn feed(&mut self, data: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        let mut rest = data;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.line += 1;
            if self.carry.is_empty() {
                self.parse_line(&rest[..i], sink)?;
            } else {
                self.carry.extend_from_slice(&rest[..i]);
                let l = std::mem::take(&mut self.carry);
                let r = self.parse_line(&l, sink);
                self.carry = l;
                self.carry.clear();
                r?;
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
            self.parse_line(&l, sink)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::super::*;

    #[test]
    fn fields_and_encodings() {
        let o = opts(InputFormat::Json);
        let input = br#"{"key":"k","value":"v","headers":[{"key":"h","value":"x"},{"key":"b","value":"/w==","value_encoding":"base64"},{"key":"n","value":null}],"timestamp":5,"partition":2}
{"value":null}
{"value":{"a":[1,2]},"key":7,"headers":{"x":"y"},"timestamp":"2020-01-01T00:00:00Z"}
{"value":"AAE=","value_encoding":"base64","topic":"ignored","offset":9}"#;
        let rs = same_at_every_split(&o, input);
        assert_eq!(rs[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(rs[0].headers.len(), 3);
        assert_eq!(rs[0].headers[1].value.as_deref(), Some(&[0xffu8][..]));
        assert_eq!(rs[0].headers[2].value, None);
        assert_eq!((rs[0].ts, rs[0].partition), (Some(5), Some(2)));
        assert_eq!(rs[1].value, None);
        assert_eq!(rs[2].value.as_deref(), Some(&br#"{"a":[1,2]}"#[..]));
        assert_eq!(rs[2].key.as_deref(), Some(&b"7"[..]));
        assert_eq!(rs[2].ts, Some(1577836800000));
        assert_eq!(rs[3].value.as_deref(), Some(&[0u8, 1][..]));
    }

    #[test]
    fn errors_name_the_line() {
        let o = opts(InputFormat::Json);
        for (input, needle) in [
            (&b"{\"value\":1}\nnope\n"[..], "line 2"),
            (b"{\"key\":\"k\"}\n", "\"value\""),
            (b"[1]\n", "object"),
            (b"{\"value\":\"x\",\"partition\":-1}\n", "partition"),
            (
                b"{\"value\":\"!\",\"value_encoding\":\"base64\"}\n",
                "base64",
            ),
            (b"{\"value\":\"x\",\"timestamp\":\"soon\"}\n", "timestamp"),
            (b"\n", "line 1"),
        ] {
            let e = run(&o, input, 3).unwrap_err();
            assert_eq!(e.exit_code(), 65);
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
