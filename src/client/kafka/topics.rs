//! Topic configs between chute's humane names and Kafka's: `retention=7d` is
//! `retention.ms=604800000` there. Keys that only a root has are refused by name (exit 2).

use crate::cluster::config::{Overrides, parse_assignment};
use crate::error::{Error, Result};
use serde_json::Value;

/// chute's canonical key, Kafka's topic config name, and whether "no limit" is Kafka's -1.
const MAPPED: &[(&str, &str)] = &[
    ("retention", "retention.ms"),
    ("retention.bytes", "retention.bytes"),
    ("segment.bytes", "segment.bytes"),
    ("segment.ms", "segment.ms"),
    ("cleanup.policy", "cleanup.policy"),
    ("delete.retention", "delete.retention.ms"),
    ("min.insync.replicas", "min.insync.replicas"),
    ("max.message.bytes", "max.message.bytes"),
    ("compression.type", "compression.type"),
    ("unclean.leader.election", "unclean.leader.election.enable"),
];

/// Kafka's name for canonical key `key`; a key with no Kafka topic counterpart is refused.
pub fn kafka_name(key: &str) -> Result<&'static str> {
    MAPPED
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, kafka)| *kafka)
        .ok_or_else(|| {
            let why = match key {
                "producer.id.expiration" => {
                    "Kafka sets it for the whole cluster (the broker's producer.id.expiration.ms)"
                }
                "partitioner" => "Kafka's producers choose it (use produce --partitioner)",
                "replica.lag.time" => {
                    "Kafka sets it for the whole cluster (the broker's replica.lag.time.max.ms)"
                }
                _ => "Kafka has no such topic config",
            };
            Error::Usage(format!(
                "topic config {key} has no Kafka counterpart: {why}"
            ))
        })
}

/// `KEY=VALUE` arguments (chute's names and values) as Kafka's (name, value) pairs.
pub fn to_kafka(args: &[String]) -> Result<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    for a in args {
        let (key, v) = parse_assignment(a)?;
        let name = kafka_name(&key)?;
        let text = match (&key[..], v) {
            (_, Value::Null) => "-1".to_string(),
            ("compression.type", Value::String(s)) if s == "none" => "uncompressed".to_string(),
            (_, Value::String(s)) => s,
            (_, v) => v.to_string(),
        };
        out.push((name, text));
    }
    Ok(out)
}

/// Kafka's config entries of a topic, as chute's canonical overrides (for every mapped key
/// Kafka reported), and the keys set on the topic itself.
pub fn from_kafka<'a>(
    entries: impl IntoIterator<Item = (&'a str, Option<&'a str>, bool)>,
) -> (Overrides, Vec<String>) {
    let mut o = Overrides::new();
    let mut set = Vec::new();
    for (name, value, topic_level) in entries {
        let Some((key, _)) = MAPPED.iter().find(|(_, k)| *k == name) else {
            continue;
        };
        let Some(value) = value else { continue };
        let v = match *key {
            "cleanup.policy" | "compression.type" => Value::String(value.to_string()),
            "unclean.leader.election" => Value::Bool(value == "true"),
            _ => match value.parse::<i64>() {
                Ok(n) if n < 0 => Value::Null,
                Ok(n) => Value::from(n),
                Err(_) => continue,
            },
        };
        o.insert(key.to_string(), v);
        if topic_level {
            set.push(key.to_string());
        }
    }
    (o, set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_configs_become_kafkas_and_back() {
        let k = to_kafka(&[
            "retention=7d".into(),
            "retention.bytes=-1".into(),
            "segment.bytes=1MiB".into(),
            "cleanup.policy=compact,delete".into(),
            "compression.type=none".into(),
            "unclean.leader.election=true".into(),
        ])
        .unwrap();
        assert_eq!(
            k,
            vec![
                ("retention.ms", "604800000".to_string()),
                ("retention.bytes", "-1".to_string()),
                ("segment.bytes", "1048576".to_string()),
                ("cleanup.policy", "compact,delete".to_string()),
                ("compression.type", "uncompressed".to_string()),
                ("unclean.leader.election.enable", "true".to_string()),
            ]
        );
        let (o, set) = from_kafka([
            ("retention.ms", Some("604800000"), true),
            ("retention.bytes", Some("-1"), false),
            ("unclean.leader.election.enable", Some("false"), false),
            ("message.timestamp.type", Some("CreateTime"), false),
        ]);
        assert_eq!(o["retention"], Value::from(604_800_000));
        assert_eq!(o["retention.bytes"], Value::Null);
        assert_eq!(o["unclean.leader.election"], Value::Bool(false));
        assert_eq!(o.len(), 3);
        assert_eq!(set, vec!["retention".to_string()]);
    }

    #[test]
    fn root_only_configs_are_refused_by_name() {
        for key in [
            "partitioner=crc32",
            "replica.lag.time=5s",
            "producer.id.expiration=1d",
        ] {
            let e = to_kafka(&[key.into()]).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(
                e.to_string().contains(key.split('=').next().unwrap()),
                "{e}"
            );
        }
    }
}
