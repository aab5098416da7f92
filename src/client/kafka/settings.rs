//! Which Kafka cluster, and the client properties to reach it: `-b`, `-X KEY=VALUE`, and
//! clusters named in `$XDG_CONFIG_HOME/chute/config.toml` (`--cluster NAME`). docs/kafka.md
//! has the file's shape.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    /// `HOST:PORT[,...]`.
    pub bootstrap: String,
    /// librdkafka properties, in the order given (later ones win): the config file's, then
    /// `-X`.
    pub properties: Vec<(String, String)>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    clusters: BTreeMap<String, NamedCluster>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedCluster {
    bootstrap: String,
    #[serde(default)]
    properties: BTreeMap<String, toml::Value>,
}

/// `$XDG_CONFIG_HOME/chute/config.toml`, else `~/.config/chute/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("chute").join("config.toml"))
}

impl KafkaSettings {
    /// `-b` (wins over the named cluster's servers), `--cluster` (from the config file), `-X`
    /// (wins over the file's properties).
    pub fn resolve(
        bootstrap: Option<String>,
        cluster: Option<&str>,
        properties: Vec<(String, String)>,
    ) -> Result<KafkaSettings> {
        let mut s = match cluster {
            Some(name) => {
                let path = config_path().ok_or_else(|| {
                    Error::Usage(format!(
                        "--cluster {name}: no config file (neither XDG_CONFIG_HOME nor HOME is set)"
                    ))
                })?;
                named(&path, name)?
            }
            None => KafkaSettings {
                bootstrap: String::new(),
                properties: Vec::new(),
            },
        };
        if let Some(b) = bootstrap {
            s.bootstrap = b;
        }
        if s.bootstrap.trim().is_empty() {
            return Err(Error::Usage(
                "-b/--bootstrap-server: give HOST:PORT[,HOST:PORT...]".into(),
            ));
        }
        for server in s.bootstrap.split(',') {
            let ok = server
                .trim()
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            if !ok {
                return Err(Error::Usage(format!(
                    "bootstrap server {server:?} is not HOST:PORT"
                )));
            }
        }
        s.properties.extend(properties);
        Ok(s)
    }

    /// The last value given for `key`.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Cluster `name` of the config file at `path`.
fn named(path: &Path, name: &str) -> Result<KafkaSettings> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Usage(format!(
                "--cluster {name}: {} does not exist (docs/kafka.md shows how to name clusters there)",
                path.display()
            )));
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let file: ConfigFile = toml::from_str(&text)
        .map_err(|e| Error::Usage(format!("{}: {}", path.display(), e.message())))?;
    let Some(c) = file.clusters.get(name) else {
        let known: Vec<&str> = file.clusters.keys().map(String::as_str).collect();
        return Err(Error::Usage(format!(
            "--cluster {name}: {} names no such cluster (it names: {})",
            path.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    let mut properties = Vec::new();
    for (k, v) in &c.properties {
        let v = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => {
                return Err(Error::Usage(format!(
                    "{}: cluster {name}, property {k}: {other} is not a string, number or boolean",
                    path.display()
                )));
            }
        };
        properties.push((k.clone(), v));
    }
    Ok(KafkaSettings {
        bootstrap: c.bootstrap.clone(),
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_cluster_gives_servers_and_properties_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("chute-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            "[clusters.prod]\nbootstrap = \"k1:9092,k2:9092\"\n[clusters.prod.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\"socket.timeout.ms\" = 5000\n",
        )
        .unwrap();
        let s = named(&path, "prod").unwrap();
        assert_eq!(s.bootstrap, "k1:9092,k2:9092");
        assert_eq!(s.property("security.protocol"), Some("SASL_SSL"));
        assert_eq!(s.property("socket.timeout.ms"), Some("5000"));
        let e = named(&path, "dev").unwrap_err().to_string();
        assert!(e.contains("no such cluster (it names: prod)"), "{e}");
        std::fs::write(&path, "[clusters.prod]\nbootstrp = \"x:1\"\n").unwrap();
        let e = named(&path, "prod").unwrap_err().to_string();
        assert!(e.contains("bootstrp"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bootstrap_servers_must_be_host_and_port() {
        let e = KafkaSettings::resolve(Some("localhost".into()), None, vec![]).unwrap_err();
        assert!(
            e.to_string().contains("\"localhost\" is not HOST:PORT"),
            "{e}"
        );
        let s = KafkaSettings::resolve(
            Some("a:1,b:2".into()),
            None,
            vec![("acks".into(), "1".into()), ("acks".into(), "all".into())],
        )
        .unwrap();
        assert_eq!(s.property("acks"), Some("all"));
    }
}
