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

/// `produce --id NAME`: the same rule (it is stored in batches, at most 255 bytes).
pub fn producer_id(name: &str) -> Result<()> {
    check("producer id", name)
}

/// Kafka warns when two topic names differ only by '.' vs '_' (they collide in metric names).
pub fn collides(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

/// The existing name `name` is most likely a typo of: equal ignoring case, or one edit away
/// (Damerau-Levenshtein: an insertion, deletion, substitution or swap of neighbours) when both
/// are at least 4 characters long (shorter names are too close to everything). The first in
/// `existing`'s order wins.
pub fn similar<'a>(name: &str, existing: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    existing.into_iter().find(|&e| {
        e != name
            && (e.eq_ignore_ascii_case(name)
                || (e.chars().count() >= 4
                    && name.chars().count() >= 4
                    && strsim::damerau_levenshtein(e, name) == 1))
    })
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

    #[test]
    fn a_typo_is_one_edit_or_a_case_away() {
        let topics = ["orders", "payments", "Logs", "ab"];
        let t = || topics.iter().copied();
        assert_eq!(similar("ordrs", t()), Some("orders"), "a deletion");
        assert_eq!(similar("oredrs", t()), Some("orders"), "a swap");
        assert_eq!(similar("orderss", t()), Some("orders"), "an insertion");
        assert_eq!(similar("ORDERS", t()), Some("orders"), "case");
        assert_eq!(similar("logs", t()), Some("Logs"), "case, short");
        assert_eq!(similar("orders", t()), None, "itself is not a typo");
        assert_eq!(similar("ordes2", t()), None, "two edits");
        assert_eq!(similar("ac", t()), None, "too short to judge");
        assert_eq!(similar("invoices", t()), None);
    }
}
