//! Topic configuration: Kafka's keys with humane values (`retention=7d`, `segment.bytes=64MiB`).
//! Only overrides are stored in metadata, so a topic follows the defaults it did not set.

use crate::error::{Error, Result};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Milliseconds; `-1`, `forever` or `infinite` mean "no limit" when `unlimited` is allowed.
    Duration {
        unlimited: bool,
        /// Smallest accepted value in ms (Kafka's documented valid values).
        min: u64,
    },
    /// Bytes; `-1` means "no limit" when allowed.
    Size {
        min: u64,
        max: u64,
        unlimited: bool,
    },
    Int {
        min: u64,
        max: u64,
    },
    Bool,
    Policy,
    /// One of these words.
    Choice(&'static [&'static str]),
}

struct Key {
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    /// Aliases ending in `.ms` take plain milliseconds.
    default: fn() -> Value,
    help: &'static str,
}

const DAY: u64 = 86_400_000;

const KEYS: &[Key] = &[
    Key {
        name: "retention",
        aliases: &["retention.ms"],
        kind: Kind::Duration {
            unlimited: true,
            min: 0,
        },
        default: || json!(7 * DAY),
        help: "delete segments older than this (-1 or forever: never)",
    },
    Key {
        name: "retention.bytes",
        aliases: &[],
        kind: Kind::Size {
            min: 0,
            max: u64::MAX,
            unlimited: true,
        },
        default: || Value::Null,
        help: "keep at most this many bytes per partition (-1: no limit)",
    },
    Key {
        name: "segment.bytes",
        aliases: &[],
        kind: Kind::Size {
            min: 14,
            max: i32::MAX as u64,
            unlimited: false,
        },
        default: || json!(1u64 << 30),
        help: "roll to a new segment file at this size",
    },
    Key {
        name: "segment.ms",
        aliases: &["segment"],
        kind: Kind::Duration {
            unlimited: false,
            min: 1,
        },
        default: || json!(7 * DAY),
        help: "roll a segment this old on the next append",
    },
    Key {
        name: "cleanup.policy",
        aliases: &[],
        kind: Kind::Policy,
        default: || json!("delete"),
        help: "delete, compact, or compact,delete",
    },
    Key {
        name: "delete.retention",
        aliases: &["delete.retention.ms"],
        kind: Kind::Duration {
            unlimited: false,
            min: 0,
        },
        default: || json!(DAY),
        help: "how long compaction keeps tombstones",
    },
    Key {
        name: "producer.id.expiration",
        aliases: &["producer.id.expiration.ms"],
        kind: Kind::Duration {
            unlimited: false,
            min: 0,
        },
        default: || json!(7 * DAY),
        help: "how long a `produce --id` producer's position is kept after its last write",
    },
    Key {
        name: "min.insync.replicas",
        aliases: &[],
        kind: Kind::Int {
            min: 1,
            max: i32::MAX as u64,
        },
        default: || json!(1),
        help: "--acks all fails (exit 75) with fewer in-sync replicas",
    },
    Key {
        name: "max.message.bytes",
        aliases: &[],
        kind: Kind::Size {
            min: 0,
            max: 32 << 20,
            unlimited: false,
        },
        default: || json!(1_048_588),
        help: "largest record (and batch) accepted",
    },
    Key {
        name: "compression.type",
        aliases: &[],
        kind: Kind::Choice(&[
            "producer",
            "uncompressed",
            "none",
            "gzip",
            "snappy",
            "lz4",
            "zstd",
        ]),
        default: || json!("producer"),
        help: "codec batches are stored with: producer (what the producer chose), uncompressed, gzip, snappy, lz4 or zstd",
    },
    Key {
        name: "partitioner",
        aliases: &[],
        kind: Kind::Choice(&crate::partitioner::Partitioner::NAMES),
        default: || json!("murmur2"),
        help: "where records go: murmur2 (keys hashed as the Java producer does), crc32 (as librdkafka's consistent), round-robin, sticky or random; records without a key spread in runs",
    },
    Key {
        name: "unclean.leader.election",
        aliases: &["unclean.leader.election.enable"],
        kind: Kind::Bool,
        default: || json!(false),
        help: "allow a replica outside the ISR to become leader (may lose data)",
    },
    Key {
        name: "replica.lag.time",
        aliases: &["replica.lag.time.max.ms"],
        kind: Kind::Duration {
            unlimited: false,
            min: 0,
        },
        default: || json!(10_000),
        help: "a follower behind for longer leaves the ISR",
    },
];

/// Config overrides as stored in metadata: canonical key → canonical JSON value
/// (durations and sizes as integers, `null` for "no limit").
pub type Overrides = BTreeMap<String, Value>;

fn find(key: &str) -> Option<&'static Key> {
    KEYS.iter()
        .find(|k| k.name == key || k.aliases.contains(&key))
}

/// The canonical name of a config key or one of its aliases.
pub fn canonical_key(key: &str) -> Option<&'static str> {
    find(key.trim()).map(|k| k.name)
}

pub fn known_keys() -> impl Iterator<Item = (&'static str, &'static str)> {
    KEYS.iter().map(|k| (k.name, k.help))
}

/// Parse a size with an optional binary or decimal suffix: `512`, `64KiB`, `1MB`, `2g`.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (examples: 4096, 64KiB, 1MiB, 2GB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        "t" | "tib" => 1 << 40,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{s:?}: unknown size unit {unit:?} (use KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

use crate::time::parse_duration_ms;

fn is_unlimited(v: &str) -> bool {
    matches!(
        v.trim(),
        "-1" | "forever" | "infinite" | "none" | "unlimited"
    )
}

/// Parse `KEY=VALUE` into a canonical (key, value).
pub fn parse_assignment(arg: &str) -> Result<(String, Value)> {
    let (k, v) = arg
        .split_once('=')
        .ok_or_else(|| Error::Usage(format!("--config {arg:?}: expected KEY=VALUE")))?;
    let key = find(k.trim()).ok_or_else(|| {
        let names: Vec<_> = KEYS.iter().map(|k| k.name).collect();
        Error::Usage(format!(
            "--config {arg:?}: unknown config key {:?} (known: {})",
            k.trim(),
            names.join(", ")
        ))
    })?;
    let bad = |msg: String| Error::Usage(format!("--config {}: {msg}", arg.trim()));
    let value = match key.kind {
        Kind::Duration { unlimited, min } => {
            if is_unlimited(v) {
                if !unlimited {
                    return Err(bad(format!("{} must be a finite duration", key.name)));
                }
                Value::Null
            } else {
                let ms = parse_duration_ms(v).map_err(bad)?;
                if ms < min {
                    return Err(bad(format!(
                        "{} must be at least {min} ms{}",
                        key.name,
                        if unlimited {
                            " (or -1 for no limit)"
                        } else {
                            ""
                        }
                    )));
                }
                if ms > i64::MAX as u64 {
                    return Err(bad(format!("{} is too long", key.name)));
                }
                json!(ms)
            }
        }
        Kind::Size {
            min,
            max,
            unlimited,
        } => {
            if is_unlimited(v) && unlimited {
                Value::Null
            } else {
                let n = parse_size(v).map_err(bad)?;
                if n < min || n > max {
                    return Err(bad(format!(
                        "{} must be between {min} and {max} bytes",
                        key.name
                    )));
                }
                json!(n)
            }
        }
        Kind::Int { min, max } => {
            let n: u64 = v
                .trim()
                .parse()
                .map_err(|_| bad(format!("{} takes a whole number", key.name)))?;
            if n < min || n > max {
                return Err(bad(format!("{} must be between {min} and {max}", key.name)));
            }
            json!(n)
        }
        Kind::Bool => match v.trim() {
            "true" | "yes" | "1" => json!(true),
            "false" | "no" | "0" => json!(false),
            _ => return Err(bad(format!("{} takes true or false", key.name))),
        },
        Kind::Choice(words) => {
            let w = v.trim().to_ascii_lowercase();
            if !words.contains(&w.as_str()) {
                return Err(bad(format!("{} takes {}", key.name, words.join(", "))));
            }
            // `none` is the producer's word for Kafka's topic-level `uncompressed`.
            json!(if w == "none" {
                "uncompressed".to_string()
            } else {
                w
            })
        }
        Kind::Policy => {
            let mut parts: Vec<&str> = v.split(',').map(str::trim).collect();
            parts.sort_unstable();
            parts.dedup();
            if parts.is_empty() || parts.iter().any(|p| !matches!(*p, "delete" | "compact")) {
                return Err(bad(
                    "cleanup.policy takes delete, compact, or compact,delete".into(),
                ));
            }
            json!(parts.join(","))
        }
    };
    Ok((key.name.to_string(), value))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub retention_ms: Option<u64>,
    pub retention_bytes: Option<u64>,
    pub segment_bytes: u64,
    pub segment_ms: u64,
    pub compact: bool,
    pub delete: bool,
    pub delete_retention_ms: u64,
    pub min_insync_replicas: u32,
    pub max_message_bytes: u64,
    pub unclean_leader_election: bool,
    pub replica_lag_time_ms: u64,
    /// `compression.type`: the codec every batch is stored with, or None (`producer`: the
    /// producer's choice).
    pub compression: Option<crate::log::codec::Codec>,
    /// `partitioner`: the default of producers that do not name one.
    pub partitioner: crate::partitioner::Partitioner,
    /// `producer.id.expiration`: a `produce --id` producer idle this long is forgotten.
    pub producer_id_expiration_ms: u64,
}

impl TopicConfig {
    pub fn resolve(overrides: &Overrides) -> TopicConfig {
        let get = |name: &str| -> Value {
            overrides
                .get(name)
                .cloned()
                .unwrap_or_else(|| (find(name).unwrap().default)())
        };
        let policy = get("cleanup.policy");
        let policy = policy.as_str().unwrap_or("delete");
        TopicConfig {
            retention_ms: get("retention").as_u64(),
            retention_bytes: get("retention.bytes").as_u64(),
            segment_bytes: get("segment.bytes").as_u64().unwrap_or(1 << 30),
            segment_ms: get("segment.ms").as_u64().unwrap_or(7 * DAY),
            compact: policy.contains("compact"),
            delete: policy.contains("delete"),
            delete_retention_ms: get("delete.retention").as_u64().unwrap_or(DAY),
            min_insync_replicas: get("min.insync.replicas").as_u64().unwrap_or(1) as u32,
            max_message_bytes: get("max.message.bytes").as_u64().unwrap_or(1_048_588),
            unclean_leader_election: get("unclean.leader.election").as_bool().unwrap_or(false),
            replica_lag_time_ms: get("replica.lag.time").as_u64().unwrap_or(10_000),
            compression: crate::log::codec::Codec::from_topic_config(
                get("compression.type").as_str().unwrap_or("producer"),
            ),
            partitioner: crate::partitioner::Partitioner::from_name(
                get("partitioner").as_str().unwrap_or("murmur2"),
            )
            .unwrap_or_default(),
            producer_id_expiration_ms: get("producer.id.expiration").as_u64().unwrap_or(7 * DAY),
        }
    }

    /// Every key with its effective value, humane: durations as `7days`, sizes in bytes.
    pub fn to_json(overrides: &Overrides) -> BTreeMap<String, Value> {
        KEYS.iter()
            .map(|k| {
                let v = overrides
                    .get(k.name)
                    .cloned()
                    .unwrap_or_else(|| (k.default)());
                let shown = match (k.kind, &v) {
                    (Kind::Duration { .. }, Value::Number(n)) => json!(
                        humantime::format_duration(Duration::from_millis(n.as_u64().unwrap_or(0)))
                            .to_string()
                    ),
                    (Kind::Duration { .. }, Value::Null) => json!("forever"),
                    _ => v,
                };
                (k.name.to_string(), shown)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_values_and_aliases() {
        assert_eq!(
            parse_assignment("retention=7d").unwrap(),
            ("retention".into(), json!(7 * DAY))
        );
        assert_eq!(
            parse_assignment("retention.ms=1000").unwrap(),
            ("retention".into(), json!(1000))
        );
        assert_eq!(parse_assignment("retention=-1").unwrap().1, Value::Null);
        assert_eq!(
            parse_assignment("segment.bytes=64MiB").unwrap().1,
            json!(64u64 << 20)
        );
        assert_eq!(
            parse_assignment("cleanup.policy=delete,compact").unwrap().1,
            json!("compact,delete")
        );
        assert_eq!(
            parse_assignment("unclean.leader.election.enable=true")
                .unwrap()
                .0,
            "unclean.leader.election"
        );
        for bad in [
            "nope=1",
            "retention",
            "retention=soon",
            "segment.bytes=1",
            "cleanup.policy=keep",
            "min.insync.replicas=0",
            "max.message.bytes=1TiB",
        ] {
            let e = parse_assignment(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(
                e.to_string().contains(bad.split('=').next().unwrap()),
                "{e}"
            );
        }
        // The edges of Kafka's documented valid values are accepted...
        for (ok, want) in [
            ("delete.retention=0s", json!(0)),
            ("delete.retention.ms=0", json!(0)),
            ("retention.ms=0", json!(0)),
            ("segment.bytes=14", json!(14)),
            ("segment.bytes=2147483647", json!(2147483647u64)),
            ("segment.ms=1", json!(1)),
            ("max.message.bytes=0", json!(0)),
            ("replica.lag.time.max.ms=0", json!(0)),
            ("min.insync.replicas=2147483647", json!(2147483647u64)),
        ] {
            assert_eq!(parse_assignment(ok).unwrap().1, want, "{ok}");
        }
        // ...and what Kafka refuses is refused.
        for bad in [
            "segment.ms=0",
            "segment.bytes=13",
            "segment.bytes=2147483648",
            "retention.ms=-2",
            "delete.retention=-1",
        ] {
            assert_eq!(parse_assignment(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        let c = TopicConfig::resolve(&Overrides::new());
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(c.retention_ms, Some(7 * DAY));
        assert!(c.delete && !c.compact);
    }
}
