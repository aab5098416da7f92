//! Which topics `consume -t` reads: names, and regular expressions for the topics that match
//! them. A value starting with `^` is a pattern (librdkafka's and kcat's convention); anything
//! else is a name, since `.` is legal in names and `orders.eu` must not match `ordersXeu`.
//!
//! A pattern is searched for in each topic name as written: its own `^` anchors it at the
//! start, and nothing is implied at the end (`^orders` matches `orders-archive`; write
//! `^orders$` for the one topic). That is how librdkafka matches a subscription.

use crate::cluster::Cluster;
use crate::cluster::metadata::Metadata;
use crate::error::{Error, Result};
use regex::Regex;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
enum Spec {
    Name(String),
    Pattern(Regex),
}

#[derive(Debug, Clone)]
pub struct Subscription {
    specs: Vec<Spec>,
}

impl Subscription {
    /// The `-t` values: names are checked as topic names, patterns must compile (both are
    /// usage errors, exit 2).
    pub fn parse(values: &[String]) -> Result<Subscription> {
        if values.is_empty() {
            return Err(Error::Usage("consume needs at least one -t TOPIC".into()));
        }
        let mut specs = Vec::new();
        for v in values {
            if v.starts_with('^') {
                let re = Regex::new(v).map_err(|e| {
                    Error::Usage(format!(
                        "-t {v:?} is not a valid regular expression: {}",
                        regex_reason(&e)
                    ))
                })?;
                specs.push(Spec::Pattern(re));
            } else {
                crate::names::topic(v)?;
                specs.push(Spec::Name(v.clone()));
            }
        }
        Ok(Subscription { specs })
    }

    /// The `-t` values as given: names, and patterns with their `^`.
    pub fn specs(&self) -> impl Iterator<Item = &str> {
        self.specs.iter().map(|s| match s {
            Spec::Name(n) => n.as_str(),
            Spec::Pattern(re) => re.as_str(),
        })
    }

    /// True when a pattern may match topics created later (the subscription can grow).
    pub fn has_patterns(&self) -> bool {
        self.specs.iter().any(|s| matches!(s, Spec::Pattern(_)))
    }

    /// Whether `topic` is named as it is (not only matched by a pattern).
    pub fn names(&self, topic: &str) -> bool {
        self.specs
            .iter()
            .any(|s| matches!(s, Spec::Name(n) if n == topic))
    }

    /// Whether `topic` is one of the names or matches one of the patterns.
    pub fn matches(&self, topic: &str) -> bool {
        self.specs.iter().any(|s| match s {
            Spec::Name(n) => n == topic,
            Spec::Pattern(re) => re.is_match(topic),
        })
    }

    /// The topics to read, sorted, each once: every name given, whether it exists or not
    /// (opening a missing one fails as it always has), and every topic of `existing` that a
    /// pattern matches.
    pub fn resolve<'a>(&self, existing: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        for s in &self.specs {
            if let Spec::Name(n) = s {
                out.insert(n.clone());
            }
        }
        for t in existing {
            if self
                .specs
                .iter()
                .any(|s| matches!(s, Spec::Pattern(re) if re.is_match(t)))
            {
                out.insert(t.to_string());
            }
        }
        out.into_iter().collect()
    }

    /// What `existing` does not provide yet: `topic "NAME"` for each name not among them,
    /// `a topic matching PATTERN` for each pattern that matches none of them.
    pub fn unmet(&self, existing: &[&str]) -> Vec<String> {
        self.specs
            .iter()
            .filter_map(|s| match s {
                Spec::Name(n) => (!existing.contains(&n.as_str())).then(|| format!("topic {n:?}")),
                Spec::Pattern(re) => (!existing.iter().any(|t| re.is_match(t)))
                    .then(|| format!("a topic matching {}", re.as_str())),
            })
            .collect()
    }

    /// The cluster's metadata and the topics of it to read. Every name must be a topic
    /// ("unknown topic", exit 1, as for one topic); with `strict`, every pattern must match
    /// one (else "no topic matches", exit 1).
    pub fn resolve_in(&self, cluster: &Cluster, strict: bool) -> Result<(Metadata, Vec<String>)> {
        let first_name = self.specs.iter().find_map(|s| match s {
            Spec::Name(n) => Some(n),
            Spec::Pattern(_) => None,
        });
        let md = match first_name {
            Some(n) => cluster.metadata_with_topic(n)?,
            // No cluster has no topic for a pattern to match (and only patterns were given).
            None if !cluster.exists() => {
                return Err(self
                    .check_patterns(&[])
                    .expect_err("a pattern matches no topic of none"));
            }
            None => cluster.metadata()?,
        };
        for s in &self.specs {
            if let Spec::Name(n) = s {
                md.topic(n)?;
            }
        }
        let names: Vec<&str> = md.topics.keys().map(String::as_str).collect();
        if strict {
            self.check_patterns(&names)?;
        }
        let topics = self.resolve(names);
        Ok((md, topics))
    }

    /// Fails (exit 1) when a pattern matches none of `existing`. Missing names are left to
    /// whoever opens them ("unknown topic", with its hints).
    pub fn check_patterns(&self, existing: &[&str]) -> Result<()> {
        for s in &self.specs {
            if let Spec::Pattern(re) = s
                && !existing.iter().any(|t| re.is_match(t))
            {
                return Err(Error::NotFound(format!("no topic matches {}", re.as_str())));
            }
        }
        Ok(())
    }
}

/// The regex crate's reason without its multi-line layout (chute's errors are one line).
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map_or_else(|| text.replace('\n', " "), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(v: &[&str]) -> Subscription {
        Subscription::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn caret_makes_a_pattern_anchored_at_the_start_only() {
        let s = sub(&["^orders\\..*"]);
        assert!(s.matches("orders.eu"));
        assert!(!s.matches("ordersXeu"));
        assert!(!s.matches("old.orders.eu"));
        // No `$` is implied.
        assert!(sub(&["^orders"]).matches("orders-archive"));
        assert!(!sub(&["^orders$"]).matches("orders-archive"));
    }

    #[test]
    fn a_name_is_literal() {
        let s = sub(&["orders.eu"]);
        assert!(s.matches("orders.eu"));
        assert!(!s.matches("ordersXeu"));
        assert!(!s.has_patterns());
    }

    #[test]
    fn resolve_counts_a_topic_once_and_keeps_missing_names() {
        let s = sub(&["orders.eu", "^orders\\.", "later"]);
        assert_eq!(
            s.resolve(["orders.eu", "orders.us", "x"]),
            vec!["later", "orders.eu", "orders.us"]
        );
        assert_eq!(s.unmet(&["orders.eu"]), vec!["topic \"later\""]);
        assert_eq!(
            sub(&["^a"]).unmet(&["b"]),
            vec!["a topic matching ^a".to_string()]
        );
    }

    #[test]
    fn bad_input_is_a_usage_error_naming_it() {
        let e = Subscription::parse(&["^(".into()]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(m.contains("\"^(\"") && m.contains("unclosed group"), "{m}");
        assert!(!m.contains('\n'), "{m}");
        let e = Subscription::parse(&["a b".into()]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = sub(&["^x"]).check_patterns(&["y"]).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.to_string(), "no topic matches ^x");
    }
}
