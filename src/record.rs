//! The record model shared by producers, consumers and the log.

/// One record header: a string key and nullable bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// A record borrowed from an input buffer, on its way into the log.
///
/// `timestamp` is milliseconds since the Unix epoch; `None` means "now" at append time.
/// `partition` is an explicit partition chosen by the input (JSON `partition` field).
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp: Option<i64>,
    pub headers: &'a [Header],
    pub partition: Option<u32>,
    /// 1-based input line (or record) number, for error messages.
    pub line: u64,
}

/// Decoded headers: key and nullable value, in order.
pub type HeaderViews<'a> = Vec<(&'a str, Option<&'a [u8]>)>;

/// A record read back from the log, borrowing the batch buffer it was decoded from.
#[derive(Debug, Clone)]
pub struct ConsumedRecord<'a> {
    pub topic: &'a str,
    pub partition: u32,
    pub offset: u64,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Header key/value pairs, in order; a `None` value is a null header value.
    pub headers: HeaderViews<'a>,
}

/// Where a consumer delivers: records, and the position a partition reached where no record
/// marks it (the end of a batch, offsets compaction removed). A group commits by the latter.
pub trait RecordSink {
    fn record(&mut self, r: &ConsumedRecord<'_>) -> crate::error::Result<()>;
    /// Partition `p` of `topic` has been delivered up to (not including) `next`.
    fn reached(&mut self, _topic: &str, _p: u32, _next: u64) -> crate::error::Result<()> {
        Ok(())
    }
}
