//! Keys and partitions taken from the data (`produce --key-field`, `--key-regex`,
//! `--partition-field`, `--partition-regex`), so a user partitions by `user_id` without
//! reshaping the input. Applied to each record after parsing, before it is placed.

use crate::error::{Error, Result};
use crate::record::RecordRef;

/// Where a key or a partition number comes from.
pub enum Source {
    /// A top-level or dotted field of the value, read as JSON.
    Field(Vec<String>),
    /// The first capture group (or the whole match) of a regex on the value.
    Regex(regex::bytes::Regex),
}

impl Source {
    pub fn field(path: &str) -> Result<Source> {
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(Error::Usage(format!(
                "{path:?} is not a field path (names separated by '.', e.g. user.id)"
            )));
        }
        Ok(Source::Field(path.split('.').map(str::to_string).collect()))
    }

    pub fn regex(re: &str) -> Result<Source> {
        regex::bytes::Regex::new(re)
            .map(Source::Regex)
            .map_err(|e| {
                let why = e.to_string();
                let last = why.lines().last().unwrap_or("").trim().to_string();
                Error::Usage(format!("{re:?} is not a valid regular expression: {last}"))
            })
    }

    /// What the source finds in `value`: Ok(None) when it is absent (no field, no match, a
    /// JSON null), Err when the value is not JSON for a field.
    fn find(&self, value: &[u8]) -> std::result::Result<Option<Vec<u8>>, String> {
        match self {
            Source::Regex(re) => Ok(re.captures(value).map(|c| {
                c.get(1)
                    .or_else(|| c.get(0))
                    .map_or(Vec::new(), |m| m.as_bytes().to_vec())
            })),
            Source::Field(path) => {
                let v: serde_json::Value = serde_json::from_slice(value)
                    .map_err(|e| format!("the value is not JSON ({e})"))?;
                let mut at = &v;
                for name in path {
                    match at.get(name) {
                        Some(x) => at = x,
                        None => return Ok(None),
                    }
                }
                Ok(match at {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
                    other => Some(other.to_string().into_bytes()),
                })
            }
        }
    }

    fn describe(&self, flag: &str) -> String {
        match self {
            Source::Field(p) => format!("--{flag}-field {}", p.join(".")),
            Source::Regex(r) => format!("--{flag}-regex {:?}", r.as_str()),
        }
    }
}

#[derive(Default)]
pub struct Derive {
    pub key: Option<Source>,
    pub partition: Option<Source>,
    /// A record whose key is not found gets no key (instead of stopping the input).
    pub key_optional: bool,
}

impl Derive {
    pub fn is_empty(&self) -> bool {
        self.key.is_none() && self.partition.is_none()
    }

    /// `r` with its key and partition taken from its value; the key's bytes go to `key`.
    pub fn apply<'a>(&self, mut r: RecordRef<'a>, key: &'a mut Vec<u8>) -> Result<RecordRef<'a>> {
        let line = r.line;
        let value = r.value.unwrap_or_default();
        if let Some(src) = &self.key {
            match src.find(value) {
                Ok(Some(k)) => {
                    *key = k;
                    r.key = Some(key.as_slice());
                }
                Ok(None) if self.key_optional => r.key = None,
                Ok(None) => {
                    return Err(Error::BadInput(format!(
                        "input line {line}: {} finds no key (--key-optional sends such records without one)",
                        src.describe("key")
                    )));
                }
                Err(why) => {
                    return Err(Error::BadInput(format!(
                        "input line {line}: {}: {why}",
                        src.describe("key")
                    )));
                }
            }
        }
        if let Some(src) = &self.partition {
            let found = src
                .find(value)
                .map_err(|why| format!("{}: {why}", src.describe("partition")))
                .and_then(|p| {
                    p.ok_or_else(|| format!("{} finds no partition", src.describe("partition")))
                })
                .and_then(|p| {
                    std::str::from_utf8(&p)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok())
                        .ok_or_else(|| {
                            format!(
                                "{} gives {:?}, not a partition number",
                                src.describe("partition"),
                                String::from_utf8_lossy(&p)
                            )
                        })
                });
            match found {
                Ok(p) => r.partition = Some(p),
                Err(why) => return Err(Error::BadInput(format!("input line {line}: {why}"))),
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(value: &[u8]) -> RecordRef<'_> {
        RecordRef {
            key: None,
            value: Some(value),
            timestamp: None,
            headers: &[],
            partition: None,
            line: 7,
        }
    }

    #[test]
    fn a_field_gives_a_string_as_bytes_and_anything_else_as_compact_json() {
        let d = Derive {
            key: Some(Source::field("user.id").unwrap()),
            ..Default::default()
        };
        let mut k = Vec::new();
        let r = d.apply(rec(br#"{"user": {"id": "u-1"}}"#), &mut k).unwrap();
        assert_eq!(r.key, Some(&b"u-1"[..]));
        let mut k = Vec::new();
        let r = d
            .apply(rec(br#"{"user": {"id": [1, 2]}}"#), &mut k)
            .unwrap();
        assert_eq!(r.key, Some(&b"[1,2]"[..]));
        let mut k = Vec::new();
        let e = d
            .apply(rec(br#"{"user": {}}"#), &mut k)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("input line 7: --key-field user.id finds no key"),
            "{e}"
        );
        let mut k = Vec::new();
        let e = d.apply(rec(b"not json"), &mut k).unwrap_err().to_string();
        assert!(e.contains("the value is not JSON"), "{e}");
    }

    #[test]
    fn a_regex_takes_its_first_group_and_a_partition_must_be_a_number() {
        let d = Derive {
            key: Some(Source::regex(r"user=(\w+)").unwrap()),
            partition: Some(Source::regex(r"p=(\S+)").unwrap()),
            key_optional: false,
        };
        let mut k = Vec::new();
        let r = d.apply(rec(b"GET / user=ann p=3"), &mut k).unwrap();
        assert_eq!((r.key, r.partition), (Some(&b"ann"[..]), Some(3)));
        let mut k = Vec::new();
        let e = d
            .apply(rec(b"user=bo p=x"), &mut k)
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"gives "x", not a partition number"#), "{e}");
        assert!(Source::regex("(").is_err());
        assert!(Source::field("a..b").is_err());
    }
}
