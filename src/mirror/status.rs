//! The mirror's status file (`cluster::mirrors`) kept current for `top` and `metrics`: written
//! when a run starts, at every commit, when it starts waiting for the cluster, when the cluster
//! answers again, and when it ends (a rename, no fsync: a few tens of microseconds beside a
//! commit's round trips). It only repeats what the mirror knows; a failure to write it (a full
//! disk) is reported once and never stops the copy.

use super::{Event, Summary};
use crate::cluster::Cluster;
use crate::cluster::mirrors::{Direction, MirrorState, MirrorStatus, PartitionStatus};
use crate::error::Result;
use crate::fsutil::now_ms;

pub struct Reporter {
    cluster: Cluster,
    status: MirrorStatus,
    /// A failure to write was reported: the next ones are not.
    warned: bool,
    /// That failure, until the mirror passes it on.
    warning: Option<String>,
}

impl Reporter {
    pub fn new(cluster: &Cluster, name: &str, direction: Direction, bootstrap: &str) -> Reporter {
        let now = now_ms();
        Reporter {
            cluster: cluster.clone(),
            status: MirrorStatus {
                name: name.to_string(),
                direction,
                cluster: bootstrap.to_string(),
                pid: std::process::id(),
                host: crate::group::hostname(),
                state: MirrorState::Copying,
                error: None,
                started_ms: now,
                updated_ms: now,
                last_commit_ms: None,
                retry_at_ms: None,
                records: 0,
                transactions: 0,
                restarts: 0,
                topics: Default::default(),
            },
            warned: false,
            warning: None,
        }
    }

    pub fn started(&mut self) {
        self.write();
    }

    /// Keep the file in step with what the mirror reports.
    pub fn event(&mut self, e: &Event<'_>) {
        match e {
            Event::Committed { summary, .. } => {
                self.fill(summary);
                self.status.state = MirrorState::Copying;
                self.status.error = None;
                self.status.retry_at_ms = None;
                self.status.last_commit_ms = Some(now_ms());
                self.write();
            }
            Event::Waiting {
                summary,
                error,
                retry_in,
                ..
            } => {
                self.fill(summary);
                self.status.state = MirrorState::Waiting;
                self.status.error = Some(error.to_string());
                self.status.retry_at_ms = Some(now_ms() + retry_in.as_millis() as i64);
                self.write();
            }
            Event::Resumed { summary } => {
                if self.status.state != MirrorState::Copying {
                    self.fill(summary);
                    self.status.state = MirrorState::Copying;
                    self.status.error = None;
                    self.status.retry_at_ms = None;
                    self.write();
                }
            }
            Event::Created { .. } | Event::Warning(_) => {}
        }
    }

    /// The run's end: stopped, or failed with its error.
    pub fn ended(&mut self, r: &Result<Summary>) {
        match r {
            Ok(s) => {
                self.fill(s);
                self.status.state = MirrorState::Stopped;
                self.status.error = None;
            }
            Err(e) => {
                self.status.state = MirrorState::Failed;
                self.status.error = Some(e.to_string());
            }
        }
        self.status.retry_at_ms = None;
        self.write();
    }

    /// What the operator should hear since the last call.
    pub fn take_warning(&mut self) -> Option<String> {
        self.warning.take()
    }

    fn fill(&mut self, s: &Summary) {
        let st = &mut self.status;
        st.records = s.records;
        st.transactions = s.transactions;
        st.restarts = s.restarts;
        for (t, positions) in &s.positions {
            let ends = s.ends.get(t);
            let entry = st.topics.entry(t.clone()).or_default();
            if let Some(tt) = s.topics.get(t) {
                entry.to = tt.to.clone();
            }
            for (&p, &position) in positions {
                entry.partitions.insert(
                    p,
                    PartitionStatus {
                        position,
                        source_end: ends.and_then(|e| e.get(&p).copied()),
                    },
                );
            }
        }
    }

    fn write(&mut self) {
        self.status.updated_ms = now_ms();
        if let Err(e) = self.cluster.write_mirror_status(&self.status)
            && !std::mem::replace(&mut self.warned, true)
        {
            self.warning = Some(format!(
                "cannot write the status for top and metrics (the copy goes on): {e}"
            ));
        }
    }
}
