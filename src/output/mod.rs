//! Consume output formatters: raw, json (binary-safe envelope), csv, and kcat templates.
//! Each appends to a caller-owned buffer; the raw path never allocates.

pub mod stdout;
mod template;

pub use template::Template;

use crate::error::{Error, Result};
use crate::record::ConsumedRecord;
use base64::Engine;

#[derive(Debug, Clone)]
pub enum OutputFormat {
    /// The value and the delimiter; with `key_separator` (kcat's `-K`), the key (empty when
    /// null) and the separator first.
    Raw {
        delimiter: Vec<u8>,
        key_separator: Option<Vec<u8>>,
    },
    Json,
    Csv,
    Template(Template),
}

/// `--format`: raw (newline-delimited; see [`OutputFormat::with_delimiter`]), json, csv, or a
/// template with %-tokens; clap's value parser.
impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(spec: &str) -> std::result::Result<OutputFormat, String> {
        match spec {
            "raw" => Ok(OutputFormat::Raw {
                delimiter: b"\n".to_vec(),
                key_separator: None,
            }),
            "json" => Ok(OutputFormat::Json),
            "csv" => Ok(OutputFormat::Csv),
            s if s.contains('%') => Ok(OutputFormat::Template(Template::parse(s)?)),
            _ => {
                Err("expected raw, json, csv, or a template with %-tokens (e.g. '%k=%s\\n')".into())
            }
        }
    }
}

impl OutputFormat {
    /// A format and raw's delimiter, with errors that name `--format` (for callers outside clap).
    pub fn parse(spec: &str, delimiter: Vec<u8>) -> Result<OutputFormat> {
        spec.parse::<OutputFormat>()
            .map(|f| f.with_delimiter(delimiter))
            .map_err(|e| Error::Usage(format!("--format {spec:?}: {e}")))
    }

    /// The delimiter after each raw value (the other formats have none).
    pub fn with_delimiter(self, delimiter: Vec<u8>) -> OutputFormat {
        match self {
            OutputFormat::Raw { key_separator, .. } => OutputFormat::Raw {
                delimiter,
                key_separator,
            },
            f => f,
        }
    }

    /// `consume -K SEP`: the key and SEP before each raw value. Only raw has it (the other
    /// formats carry the key already): None for them.
    pub fn with_key_separator(self, sep: Vec<u8>) -> Option<OutputFormat> {
        match self {
            OutputFormat::Raw { delimiter, .. } => Some(OutputFormat::Raw {
                delimiter,
                key_separator: Some(sep),
            }),
            _ => None,
        }
    }

    #[inline]
    pub fn write(&self, rec: &ConsumedRecord<'_>, out: &mut Vec<u8>) {
        match self {
            OutputFormat::Raw {
                delimiter,
                key_separator,
            } => {
                if let Some(sep) = key_separator {
                    if let Some(k) = rec.key {
                        out.extend_from_slice(k);
                    }
                    out.extend_from_slice(sep);
                }
                if let Some(v) = rec.value {
                    out.extend_from_slice(v);
                }
                out.extend_from_slice(delimiter);
            }
            OutputFormat::Json => write_json(rec, out),
            OutputFormat::Csv => write_csv(rec, out),
            OutputFormat::Template(t) => t.write(rec, out),
        }
    }
}

/// A JSON string literal, escaped per RFC 8259.
pub fn json_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&b[start..i]);
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// `"name":value` for nullable bytes: a string when UTF-8, else base64 plus `name_encoding`.
fn json_bytes(name: &str, v: Option<&[u8]>, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    match v {
        None => out.extend_from_slice(b"null"),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => json_str(s, out),
            Err(_) => {
                out.push(b'"');
                out.extend_from_slice(
                    base64::engine::general_purpose::STANDARD
                        .encode(b)
                        .as_bytes(),
                );
                out.extend_from_slice(b"\",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"_encoding\":\"base64\"");
            }
        },
    }
}

fn write_json(r: &ConsumedRecord<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"topic\":");
    json_str(r.topic, out);
    out.extend_from_slice(
        format!(
            ",\"partition\":{},\"offset\":{},\"timestamp\":{},",
            r.partition, r.offset, r.timestamp
        )
        .as_bytes(),
    );
    json_bytes("key", r.key, out);
    out.push(b',');
    json_bytes("value", r.value, out);
    out.extend_from_slice(b",\"headers\":[");
    for (i, (k, v)) in r.headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        json_str(k, out);
        out.push(b',');
        json_bytes("value", *v, out);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}\n");
}

/// Headers as `k=v,k2=v2` (values lossy UTF-8), for csv and `%h`.
pub fn headers_text(r: &ConsumedRecord<'_>, out: &mut Vec<u8>) {
    for (i, (k, v)) in r.headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        if let Some(v) = v {
            out.extend_from_slice(v);
        }
    }
}

fn csv_field(b: &[u8], out: &mut Vec<u8>) {
    if b.iter().any(|&c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &c in b {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b);
    }
}

fn write_csv(r: &ConsumedRecord<'_>, out: &mut Vec<u8>) {
    csv_field(r.topic.as_bytes(), out);
    out.extend_from_slice(format!(",{},{},{},", r.partition, r.offset, r.timestamp).as_bytes());
    csv_field(r.key.unwrap_or(b""), out);
    out.push(b',');
    csv_field(r.value.unwrap_or(b""), out);
    out.push(b',');
    let mut h = Vec::new();
    headers_text(r, &mut h);
    csv_field(&h, out);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(
        key: Option<&'a [u8]>,
        value: Option<&'a [u8]>,
        headers: Vec<(&'a str, Option<&'a [u8]>)>,
    ) -> ConsumedRecord<'a> {
        ConsumedRecord {
            topic: "t",
            partition: 1,
            offset: 5,
            timestamp: 1700000000000,
            key,
            value,
            headers,
        }
    }

    fn fmt(spec: &str, r: &ConsumedRecord<'_>) -> String {
        let mut out = Vec::new();
        OutputFormat::parse(spec, b"\n".to_vec())
            .unwrap()
            .write(r, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_envelope_is_exact_and_binary_safe() {
        let r = rec(
            Some(b"k"),
            Some(b"v\"\\\n\x01"),
            vec![("h", Some(b"x")), ("n", None)],
        );
        assert_eq!(
            fmt("json", &r),
            "{\"topic\":\"t\",\"partition\":1,\"offset\":5,\"timestamp\":1700000000000,\"key\":\"k\",\"value\":\"v\\\"\\\\\\n\\u0001\",\"headers\":[{\"key\":\"h\",\"value\":\"x\"},{\"key\":\"n\",\"value\":null}]}\n"
        );
        let r = rec(None, Some(&[0xff, 0]), vec![("b", Some(&[0x80]))]);
        let s = fmt("json", &r);
        assert!(
            s.contains("\"key\":null,\"value\":\"/wA=\",\"value_encoding\":\"base64\""),
            "{s}"
        );
        assert!(
            s.contains("{\"key\":\"b\",\"value\":\"gA==\",\"value_encoding\":\"base64\"}"),
            "{s}"
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["headers"][0]["key"], "b");
    }

    #[test]
    fn raw_csv_and_template() {
        let r = rec(Some(b"k,1"), None, vec![]);
        assert_eq!(fmt("raw", &r), "\n");
        assert_eq!(fmt("csv", &r), "t,1,5,1700000000000,\"k,1\",,\n");
        let r = rec(
            None,
            Some(b"val"),
            vec![("a", Some(b"1")), ("b", Some(b"2"))],
        );
        assert_eq!(
            fmt("%t %p %o %T %k|%s %K %S %h %%\\t\\n", &r),
            "t 1 5 1700000000000 |val -1 3 a=1,b=2 %\t\n"
        );
        assert!(OutputFormat::parse("yaml", vec![]).is_err());
        let e = OutputFormat::parse("%Q", vec![]).err().unwrap();
        assert!(e.to_string().contains("%Q"));
    }
}
