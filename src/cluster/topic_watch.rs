//! One topic's metadata as a producer or consumer sees it while it runs: reloaded only when
//! the metadata file changed (one `stat` otherwise), and checked against the topic id the
//! caller started with, so a topic deleted (and perhaps created again under the same name)
//! is told apart from the one whose files the caller has open.

use super::Cluster;
use super::metadata::Metadata;
use crate::error::Result;
use crate::fsutil::{FileStamp, file_stamp};

pub struct TopicWatch {
    topic: String,
    id: Option<String>,
    stamp: Option<FileStamp>,
}

pub enum TopicChange {
    Unchanged,
    Changed(Metadata),
    /// The topic is gone; `recreated`: a topic of that name with another id exists now.
    Deleted {
        recreated: bool,
    },
}

impl TopicWatch {
    /// Watch `topic` as of metadata `md` was read at stamp `stamp`; `id` is the topic id
    /// the caller works on (None: the first metadata that has the topic pins it).
    pub fn new(topic: &str, id: Option<String>, stamp: Option<FileStamp>) -> TopicWatch {
        TopicWatch {
            topic: topic.to_string(),
            id,
            stamp,
        }
    }

    /// Stamp the metadata file now (before reading it), so the next poll reloads only after
    /// a change that this read may have missed.
    pub fn stamp_now(cluster: &Cluster) -> Option<FileStamp> {
        file_stamp(&cluster.metadata_path())
    }

    pub fn topic_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Pin the topic id (the first time the caller opens the topic's files).
    pub fn pin(&mut self, id: &str) {
        if self.id.is_none() {
            self.id = Some(id.to_string());
        }
    }

    /// Reload on the next poll even if the file looks unchanged (our view may be older than
    /// its stamp says, e.g. a directory we wrote to is gone).
    pub fn invalidate(&mut self) {
        self.stamp = None;
    }

    pub fn poll(&mut self, cluster: &Cluster) -> Result<TopicChange> {
        self.poll_with(&mut MetadataLook::new(cluster))
    }

    /// [`poll`](Self::poll) through a look shared by the watches of several topics (a
    /// consumer of many topics): one `stat` and at most one read of the file for all.
    pub fn poll_with(&mut self, look: &mut MetadataLook<'_>) -> Result<TopicChange> {
        if look.stamp == self.stamp {
            return Ok(TopicChange::Unchanged);
        }
        self.stamp = look.stamp;
        let md = look.metadata()?;
        let Ok(t) = md.topic(&self.topic) else {
            return Ok(TopicChange::Deleted { recreated: false });
        };
        if self.id.as_ref().is_some_and(|id| *id != t.id) {
            return Ok(TopicChange::Deleted { recreated: true });
        }
        Ok(TopicChange::Changed(md.clone()))
    }
}

/// The metadata file as stamped once, read at most once (after the stamp, so a change after
/// it is seen by the next look).
pub struct MetadataLook<'a> {
    cluster: &'a Cluster,
    stamp: Option<FileStamp>,
    md: Option<Metadata>,
}

impl<'a> MetadataLook<'a> {
    pub fn new(cluster: &'a Cluster) -> MetadataLook<'a> {
        MetadataLook {
            cluster,
            stamp: file_stamp(&cluster.metadata_path()),
            md: None,
        }
    }

    fn metadata(&mut self) -> Result<&Metadata> {
        if self.md.is_none() {
            self.md = Some(self.cluster.metadata()?);
        }
        Ok(self.md.as_ref().expect("read above"))
    }
}
