//! Topic and group names: Kafka's rule, so no user-supplied name can escape the root.

use crate::error::{Error, Result};

/// Longest name: the partition directory `<name>-<partition>` must fit in 255 bytes
/// (KAFKA-3219), and partitions are capped at 5 digits.
pub const MAX_LEN: usize = 249;
pub const MAX_PARTITIONS: u32 = 10_000;

fn check(kind: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::Usage(format!("{kind} name must not be empty")));
    }
    if name.len() > MAX_LEN {
        return Err(Error::Usage(format!(
            "{kind} name is {} characters long; the limit is {MAX_LEN}",
            name.len()
        )));
    }
    if name == "." || name == ".." {
        return Err(Error::Usage(format!("{kind} name cannot be {name:?}")));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(Error::Usage(format!(
            "invalid {kind} name {name:?}: character {c:?} is not allowed (use letters, digits, '.', '_' and '-')"
        )));
    }
    Ok(())
}

pub fn topic(name: &str) -> Result<()> {
    check("topic", name)
}

pub fn group(name: &str) -> Result<()> {
    check("group", name)
}

/// Kafka warns when two topic names differ only by '.' vs '_' (they collide in metric names).
pub fn collides(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_rule() {
        for ok in ["a", "events", "A.b_c-9", &"x".repeat(249)] {
            assert!(topic(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a b",
            "é",
            &"x".repeat(250),
            "a\0b",
        ] {
            let e = topic(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        assert!(collides("a.b", "a_b"));
        assert!(!collides("a.b", "a.b"));
    }
}
