//! The JSON files chute writes (metadata, broker tags, replica tags, group members, committed
//! offsets) each say what they are and which version wrote them: `{"format": NAME,
//! "version": N, ...}`. One reader refuses another file or an unknown version with a message
//! naming the file and what to do, never guessing; one writer stamps both fields.

use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// What a kind of file calls itself, the version this chute writes and reads, and what to
/// tell the operator when the version is another.
pub struct Kind {
    pub format: &'static str,
    pub version: u64,
    /// How messages name it ("member file").
    pub what: &'static str,
    /// What to do about a version this chute does not read.
    pub on_other_version: &'static str,
}

/// Check the format and version of a file's bytes, then decode it.
pub fn read_versioned<T: DeserializeOwned>(path: &Path, bytes: &[u8], kind: &Kind) -> Result<T> {
    let err = |detail: String| Error::Format {
        path: path.to_path_buf(),
        detail,
    };
    let v = check(path, bytes, kind)?;
    serde_json::from_value(v).map_err(|e| err(format!("bad {} ({e})", kind.what)))
}

/// Check the format and version only, for files read field by field.
pub fn check(path: &Path, bytes: &[u8], kind: &Kind) -> Result<serde_json::Value> {
    let err = |detail: String| Error::Format {
        path: path.to_path_buf(),
        detail,
    };
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| err(format!("not a {} ({e})", kind.what)))?;
    if v.get("format").and_then(|f| f.as_str()) != Some(kind.format) {
        return Err(err(format!(
            "not a {} (format is not {:?})",
            kind.what, kind.format
        )));
    }
    let version = v.get("version").and_then(|x| x.as_u64()).unwrap_or(0);
    if version != kind.version {
        return Err(err(format!(
            "{} version {version}; this chute reads version {} ({})",
            kind.what, kind.version, kind.on_other_version
        )));
    }
    Ok(v)
}

/// Encode `value` with `format` and `version` set (whatever it had), as one line, or pretty
/// for files people read; ends with a newline.
pub fn write_versioned<T: Serialize>(value: &T, kind: &Kind, pretty: bool) -> Vec<u8> {
    let mut v = serde_json::to_value(value).expect("chute's file types serialize");
    if let Some(m) = v.as_object_mut() {
        m.insert("format".into(), kind.format.into());
        m.insert("version".into(), kind.version.into());
    }
    let mut b = if pretty {
        serde_json::to_vec_pretty(&v)
    } else {
        serde_json::to_vec(&v)
    }
    .expect("JSON values serialize");
    b.push(b'\n');
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: Kind = Kind {
        format: "chute-test",
        version: 1,
        what: "test file",
        on_other_version: "upgrade chute",
    };

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct T {
        a: u32,
    }

    #[test]
    fn what_is_written_is_read_back_and_another_version_or_format_is_refused() {
        let p = Path::new("/x/f.json");
        let b = write_versioned(&T { a: 7 }, &K, false);
        assert_eq!(read_versioned::<T>(p, &b, &K).unwrap(), T { a: 7 });
        let newer = br#"{"format":"chute-test","version":2,"a":7}"#;
        let e = read_versioned::<T>(p, newer, &K).unwrap_err().to_string();
        assert_eq!(
            e,
            "/x/f.json: test file version 2; this chute reads version 1 (upgrade chute)"
        );
        let other = br#"{"format":"chute-other","version":1,"a":7}"#;
        let e = read_versioned::<T>(p, other, &K).unwrap_err().to_string();
        assert!(e.contains("not a test file"), "{e}");
        assert!(read_versioned::<T>(p, b"{", &K).is_err());
    }
}
