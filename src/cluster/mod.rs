//! The cluster on disk: the root directory, its metadata, its brokers and their partitions.
//!
//! Layout:
//! ```text
//! <root>/metadata.json          topics, configs, assignment (atomic replace)
//! <root>/metadata.lock          flock held while changing metadata
//! <root>/brokers/<id>/          a broker (or a registered path on another disk)
//!        broker.json            {format, version, cluster_id, id}: refuses a wrong disk
//!        <topic>-<p>/           a partition replica (see docs/format.md)
//!        .trash/                deleted replica directories, renamed here before removal
//! <root>/mirrors/NAME.DIR.json  what each mirror last said about itself (display only)
//! ```

pub mod brokers;
pub mod config;
pub mod metadata;
pub mod mirrors;
pub mod settings;
pub mod topic_watch;

use crate::error::{Error, Result};
use crate::fsutil::{self, LockFile};
use crate::versioned::{self, Kind, write_versioned};
use metadata::{Broker, Metadata};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const METADATA_LOCK_TIMEOUT: Duration = Duration::from_secs(30);
const BROKER_FORMAT: &str = "chute-broker";
const BROKER_KIND: Kind = Kind {
    format: BROKER_FORMAT,
    version: 1,
    what: "broker tag",
    on_other_version: "upgrade chute",
};

#[derive(Debug, Clone)]
pub struct Cluster {
    pub root: PathBuf,
}

/// Default root: `$XDG_DATA_HOME/chute`, else `~/.local/share/chute`.
pub fn default_root() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("chute");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/chute")
}

impl Cluster {
    /// A relative root is made absolute now: broker paths recorded in metadata must not
    /// depend on the directory a later command runs in.
    pub fn at(root: PathBuf) -> Cluster {
        Cluster {
            root: absolute(&root),
        }
    }

    pub fn metadata_path(&self) -> PathBuf {
        self.root.join("metadata.json")
    }

    pub fn exists(&self) -> bool {
        self.metadata_path().is_file()
    }

    /// Read metadata; a missing cluster is "not found" (exit 1), naming the root.
    pub fn metadata(&self) -> Result<Metadata> {
        let p = self.metadata_path();
        match fsutil::read_small(&p, 64 << 20) {
            Ok(b) => Metadata::parse(&p, &b),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::NotFound(format!(
                    "no chute cluster at {} (create one with `chute cluster init`, or produce to create it)",
                    self.root.display()
                )))
            }
            Err(e) => Err(e),
        }
    }

    /// Metadata for a command about `topic`: a missing cluster or topic is "unknown topic".
    pub fn metadata_with_topic(&self, topic: &str) -> Result<Metadata> {
        crate::names::topic(topic)?;
        let md = self.metadata().map_err(|e| match e {
            Error::NotFound(m) => Error::NotFound(format!("unknown topic {topic:?}: {m}")),
            e => e,
        })?;
        md.topic(topic)?;
        Ok(md)
    }

    /// Create the cluster if it does not exist yet (one broker), then return its metadata.
    pub fn ensure(&self) -> Result<Metadata> {
        if !self.exists() {
            self.init(1, &[])?;
        }
        self.metadata()
    }

    /// `cluster init`: lay out brokers and write the first metadata. Idempotent for an
    /// identical cluster; refuses to re-initialise a different one.
    pub fn init(&self, brokers: u32, dirs: &[(u32, PathBuf)]) -> Result<Metadata> {
        fsutil::create_dir_all_durable(&self.root)?;
        let lock = LockFile::open(self.root.join("metadata.lock"))?;
        let _g = lock.lock(METADATA_LOCK_TIMEOUT, "cluster metadata")?;
        if self.exists() {
            return self.metadata();
        }
        for (id, _) in dirs {
            if *id >= brokers {
                return Err(Error::Usage(format!(
                    "--broker-dir {id}=...: broker {id} does not exist (brokers are 0..{})",
                    brokers - 1
                )));
            }
        }
        let cluster_id = format!("{:016x}", fsutil::random_u64());
        let list: Vec<Broker> = (0..brokers)
            .map(|id| Broker {
                id,
                path: dirs
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, p)| absolute(p)),
                down: false,
                draining: false,
            })
            .collect();
        let md = Metadata::new(cluster_id, list);
        for b in &md.brokers {
            self.prepare_broker_dir(&md, b.id)?;
            if b.path.is_some() {
                fsutil::warn_if_network_fs(&self.broker_dir(&md, b.id));
            }
        }
        fsutil::atomic_write(&self.metadata_path(), &md.to_bytes())?;
        Ok(md)
    }

    /// `broker add`: a new broker with the next id, its directory laid out and tagged before
    /// metadata names it.
    pub fn add_broker(&self, dir: Option<PathBuf>) -> Result<u32> {
        self.update(|md| {
            let id = md.brokers.iter().map(|b| b.id + 1).max().unwrap_or(0);
            if let Some(d) = &dir {
                let d = absolute(d);
                if let Some(b) = md.brokers.iter().find(|b| self.broker_dir(md, b.id) == d) {
                    return Err(Error::Usage(format!(
                        "--dir {}: broker {} already lives there",
                        d.display(),
                        b.id
                    )));
                }
            }
            md.brokers.push(Broker {
                id,
                path: dir.as_deref().map(absolute),
                down: false,
                draining: false,
            });
            self.prepare_broker_dir(md, id)?;
            if dir.is_some() {
                fsutil::warn_if_network_fs(&self.broker_dir(md, id));
            }
            Ok(id)
        })
    }

    pub fn broker_dir(&self, md: &Metadata, id: u32) -> PathBuf {
        match md.broker(id).and_then(|b| b.path.clone()) {
            Some(p) => p,
            None => self.root.join("brokers").join(id.to_string()),
        }
    }

    /// Create broker `id`'s directory if needed and tag it (a tag already there must be its own).
    pub fn prepare_broker_dir(&self, md: &Metadata, id: u32) -> Result<()> {
        let dir = self.broker_dir(md, id);
        if md.broker(id).and_then(|b| b.path.as_ref()).is_some() {
            // A directory the operator named (another disk): theirs, links and all.
            fsutil::create_dir_all_durable(&dir)?;
        } else {
            fsutil::create_own_dirs(&self.root, &dir)?;
        }
        let tag = dir.join("broker.json");
        if tag.exists() {
            return self.check_broker_tag(md, id);
        }
        let body = serde_json::json!({"cluster_id": md.cluster_id, "id": id});
        fsutil::atomic_write(&tag, &write_versioned(&body, &BROKER_KIND, false))
    }

    /// A broker directory belongs to exactly one cluster and id: a wrong disk is refused.
    pub fn check_broker_tag(&self, md: &Metadata, id: u32) -> Result<()> {
        let tag = self.broker_dir(md, id).join("broker.json");
        let b = fsutil::read_small(&tag, 1 << 16)?;
        // Another file, or another cluster's or broker's tag: a wrong disk. A newer version
        // of our own tag: upgrade.
        let ok = match versioned::check(&tag, &b, &BROKER_KIND) {
            Ok(v) => {
                v.get("cluster_id").and_then(|x| x.as_str()) == Some(md.cluster_id.as_str())
                    && v.get("id").and_then(|x| x.as_u64()) == Some(id as u64)
            }
            Err(e) => {
                let ours = serde_json::from_slice::<serde_json::Value>(&b)
                    .ok()
                    .is_some_and(|v| {
                        v.get("format").and_then(|f| f.as_str()) == Some(BROKER_FORMAT)
                    });
                if ours {
                    return Err(e);
                }
                false
            }
        };
        if !ok {
            return Err(Error::Format {
                path: tag,
                detail: format!(
                    "this directory is not broker {id} of cluster {} (wrong disk mounted?)",
                    md.cluster_id
                ),
            });
        }
        Ok(())
    }

    /// Apply `f` to the newest metadata under the metadata lock and replace it atomically.
    pub fn update<T>(&self, f: impl FnOnce(&mut Metadata) -> Result<T>) -> Result<T> {
        self.update_then(f, |_, t| Ok(t))
    }

    /// [`update`](Self::update) on behalf of the controller of epoch `controller_epoch`: refused
    /// (`Error::ControllerFenced`) if a newer controller has taken over since.
    pub fn update_fenced<T>(
        &self,
        controller_epoch: u64,
        f: impl FnOnce(&mut Metadata) -> Result<T>,
    ) -> Result<T> {
        self.update(|md| {
            if md.controller_epoch != controller_epoch {
                return Err(Error::ControllerFenced {
                    ours: controller_epoch,
                    theirs: Some(md.controller_epoch),
                });
            }
            f(md)
        })
    }

    /// Like [`update`](Self::update), then run `after` on the new metadata while the lock is
    /// still held: no other metadata change (a topic created again under the same name) can
    /// come between the two.
    pub fn update_then<T, U>(
        &self,
        f: impl FnOnce(&mut Metadata) -> Result<T>,
        after: impl FnOnce(&Metadata, T) -> Result<U>,
    ) -> Result<U> {
        let lock = LockFile::open(self.root.join("metadata.lock"))?;
        let _g = lock.lock(METADATA_LOCK_TIMEOUT, "cluster metadata")?;
        let mut md = self.metadata()?;
        let before = md.clone();
        let out = f(&mut md)?;
        if md != before {
            md.epoch = before.epoch + 1;
            crash_point!("metadata-before-replace");
            fsutil::atomic_write(&self.metadata_path(), &md.to_bytes())?;
        }
        after(&md, out)
    }

    /// Directory of one replica of a partition.
    pub fn replica_dir(&self, md: &Metadata, broker: u32, topic: &str, partition: u32) -> PathBuf {
        self.broker_dir(md, broker)
            .join(format!("{topic}-{partition}"))
    }

    /// Directory of the partition's leader replica; exit 75 when it has no leader.
    pub fn leader_dir(&self, md: &Metadata, topic: &str, partition: u32) -> Result<PathBuf> {
        let t = md.topic(topic)?;
        let p = t.partition(topic, partition)?;
        let leader = p
            .leader
            .ok_or_else(|| Error::NoLeader(format!("{topic}-{partition}")))?;
        Ok(self.replica_dir(md, leader, topic, partition))
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}
