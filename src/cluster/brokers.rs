//! Broker liveness: a broker is down when its directory is missing, unreadable, is not the
//! broker it should be (wrong disk), fails a write probe, or is marked down by an operator.

use super::Cluster;
use super::metadata::Metadata;
use crate::error::{Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Up,
    Down,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrokerStatus {
    pub id: u32,
    pub path: PathBuf,
    pub state: State,
    /// Why it is down ("marked down", "directory missing", ...); empty when up.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Being emptied by `broker drain` (new replicas are not placed here).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub draining: bool,
}

impl Cluster {
    /// Every broker of `md`, probed without writing (what `cluster status`, `top` and
    /// `metrics` show).
    pub fn broker_statuses(&self, md: &Metadata) -> Vec<BrokerStatus> {
        md.brokers
            .iter()
            .map(|b| self.broker_status(md, b.id, false))
            .collect()
    }

    /// Probe one broker. `write_probe` also creates and removes a small file, which catches a
    /// read-only remount or a full disk; it costs a few system calls.
    pub fn broker_status(&self, md: &Metadata, id: u32, write_probe: bool) -> BrokerStatus {
        let path = self.broker_dir(md, id);
        let reason = match md.broker(id) {
            None => format!("broker {id} is not in the cluster"),
            Some(b) if b.down => "marked down".to_string(),
            Some(_) => match self.probe(md, id, write_probe) {
                Ok(()) => String::new(),
                Err(e) => e.to_string(),
            },
        };
        BrokerStatus {
            id,
            draining: md.broker(id).is_some_and(|b| b.draining),
            path,
            state: if reason.is_empty() {
                State::Up
            } else {
                State::Down
            },
            reason,
        }
    }

    fn probe(&self, md: &Metadata, id: u32, write_probe: bool) -> Result<()> {
        let dir = self.broker_dir(md, id);
        if !dir.is_dir() {
            return Err(Error::NotFound(format!(
                "directory {} is missing",
                dir.display()
            )));
        }
        std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        if std::fs::symlink_metadata(dir.join("broker.json")).is_err() {
            return Err(Error::NotFound(format!(
                "{} has no broker tag (an empty or new disk? `chute broker replace {id}` rebuilds it)",
                dir.display()
            )));
        }
        self.check_broker_tag(md, id)?;
        if write_probe {
            let p = dir.join(format!(".probe.{}", std::process::id()));
            let r = std::fs::File::create(&p).and_then(|mut f| f.write_all(b"probe"));
            let _ = std::fs::remove_file(&p);
            r.map_err(|e| Error::io(&p, e))?;
        }
        Ok(())
    }

    /// The brokers that are up right now.
    pub fn live_brokers(&self, md: &Metadata, write_probe: bool) -> Vec<u32> {
        md.brokers
            .iter()
            .filter(|b| self.broker_status(md, b.id, write_probe).state == State::Up)
            .map(|b| b.id)
            .collect()
    }

    /// `broker down ID` / `broker up ID`: the operator's mark, in metadata. Up also ends a
    /// drain: the broker takes new replicas again.
    pub fn mark_broker(&self, id: u32, down: bool) -> Result<()> {
        self.update(|md| {
            let b = md
                .brokers
                .iter_mut()
                .find(|b| b.id == id)
                .ok_or_else(|| Error::NotFound(format!("unknown broker {id}")))?;
            b.down = down;
            if !down {
                b.draining = false;
            }
            Ok(())
        })
    }
}
