//! Cluster-wide settings (`chute cluster config set|get`), kept in metadata.json beside the
//! topics. Kafka keeps these in the broker configuration; here there is one cluster per root.
//!
//! | key | default | Kafka's | meaning |
//! |---|---|---|---|
//! | `auto.create.topics` | `true` | `auto.create.topics.enable` | `produce` to a missing topic creates it |

use super::Cluster;
use super::metadata::Metadata;
use crate::error::{Error, Result};

struct Setting {
    name: &'static str,
    aliases: &'static [&'static str],
    default: &'static str,
    help: &'static str,
}

const SETTINGS: &[Setting] = &[Setting {
    name: "auto.create.topics",
    aliases: &["auto.create.topics.enable"],
    default: "true",
    help: "produce to a missing topic creates it (1 partition, replication factor 1)",
}];

fn find(key: &str) -> Result<&'static Setting> {
    SETTINGS
        .iter()
        .find(|s| s.name == key || s.aliases.contains(&key))
        .ok_or_else(|| {
            let known: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
            Error::Usage(format!(
                "unknown cluster setting {key:?} (known: {})",
                known.join(", ")
            ))
        })
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(Error::Usage(format!("{key}={v}: expected true or false"))),
    }
}

/// Every setting with its value (set or default), whether it was set, and what it does.
pub fn all(md: &Metadata) -> Vec<(&'static str, String, bool, &'static str)> {
    SETTINGS
        .iter()
        .map(|s| match md.config.get(s.name) {
            Some(v) => (s.name, v.clone(), true, s.help),
            None => (s.name, s.default.to_string(), false, s.help),
        })
        .collect()
}

/// `auto.create.topics`.
pub fn auto_create_topics(md: &Metadata) -> bool {
    md.config
        .get("auto.create.topics")
        .is_none_or(|v| v == "true")
}

/// `cluster config set KEY=VALUE ...`: validated first, then written in one metadata update.
/// `KEY=` (empty) goes back to the default. Returns the settings as stored (name, value).
pub fn set(cluster: &Cluster, pairs: &[String]) -> Result<Vec<(String, Option<String>)>> {
    let mut changes = Vec::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("{p:?}: expected KEY=VALUE")))?;
        let s = find(k.trim())?;
        let v = v.trim();
        let value = if v.is_empty() {
            None
        } else {
            Some(parse_bool(s.name, v)?.to_string())
        };
        changes.push((s.name.to_string(), value));
    }
    cluster.update(|md| {
        for (k, v) in &changes {
            match v {
                Some(v) => md.config.insert(k.clone(), v.clone()),
                None => md.config.remove(k),
            };
        }
        Ok(())
    })?;
    Ok(changes)
}

/// The value of one setting (set or default).
pub fn get(md: &Metadata, key: &str) -> Result<String> {
    let s = find(key)?;
    Ok(md
        .config
        .get(s.name)
        .cloned()
        .unwrap_or_else(|| s.default.to_string()))
}
