//! Record batches: the unit that is appended, checksummed, replicated and indexed.
//!
//! Format (record batch; integers little-endian):
//! ```text
//!  off  size  field
//!   0     8   base_offset        offset of the first record (assigned under the partition lock)
//!   8     4   batch_length       bytes in the whole batch, this header included
//!  12     4   leader_epoch       epoch of the leader that appended it (assigned under the lock)
//!  16     4   crc                CRC-32 (IEEE) of bytes [0,16) followed by [20,batch_length)
//!  20     1   magic              batch format version, 1
//!  21     1   attributes         bits 0-2: codec of the records section (0 none, 1 gzip,
//!                                  2 snappy, 3 lz4, 4 zstd: Kafka's codes); bit 7: with a
//!                                  codec, the section is split (framing apart from payloads,
//!                                  `split.rs`); bit 4: a producer stamp follows the records
//!                                  (`stamp.rs`); others must be 0
//!  22     4   record_count       >= 1
//!  26     4   last_offset_delta  offset of the last record minus base_offset
//!  30     8   base_timestamp     ms since the epoch of the first record
//!  38     8   max_timestamp      largest record timestamp in the batch
//!  46     ..  records            as below; with a codec, compressed as one stream
//! ```
//! Record (varints are LEB128; "zz" ones zigzag-encoded signed):
//! ```text
//!   length           varint   bytes after this field
//!   attributes       u8       0
//!   timestamp_delta  zz       timestamp - base_timestamp
//!   offset_delta     varint
//!   key_length       zz       -1 = null key
//!   key              bytes
//!   value_length     zz       -1 = null value (tombstone)
//!   value            bytes
//!   header_count     varint
//!   headers          header_count x { key_length varint, key utf-8, value_length zz (-1 null), value }
//! ```
//! The CRC covers the offset and epoch too, so a flipped offset is caught; because those two are
//! only known under the lock, the body's CRC is computed before locking and combined after.
//! With a codec it covers the stored (compressed) bytes: damage is found before inflating.

use super::codec::{Codec, MAX_INFLATED};
use super::split::SPLIT;
use super::stamp::{self, STAMPED, Stamp};
use crate::record::Header;
use std::io::Read;

pub const HEADER_LEN: usize = 46;
pub const MAGIC: u8 = 1;
/// No batch, whatever the topic config says, may exceed this: bounds every allocation a
/// corrupt length field could ask for.
pub const MAX_BATCH_LEN: usize = 64 << 20;

#[inline]
fn uvarint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

#[inline]
fn zz(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unzz(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[inline]
fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[inline]
fn opt_len(b: Option<&[u8]>) -> i64 {
    b.map_or(-1, |b| b.len() as i64)
}

/// Builds one batch in a reusable buffer.
pub struct BatchBuilder {
    buf: Vec<u8>,
    count: u32,
    base_timestamp: i64,
    max_timestamp: i64,
    codec: Codec,
    level: Option<i32>,
    /// The compressed batch, when there is a codec (`buf` keeps the records as they are).
    zbuf: Vec<u8>,
    /// `zbuf` holds the records as they are now: a batch sealed again (to look at its size
    /// first, or for another leader) is not compressed twice.
    compressed: bool,
    /// `zbuf` holds the split layout (attributes bit 7).
    split: bool,
    scratch: super::split::Scratch,
    /// `produce --id`: the producer's name and the partition count it places for; each
    /// record's input position is in `seqs`. Stamped batches are built in `zbuf`.
    producer: Option<(String, u32)>,
    seqs: Vec<u64>,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuilder {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.resize(HEADER_LEN, 0);
        BatchBuilder {
            buf,
            count: 0,
            base_timestamp: 0,
            max_timestamp: i64::MIN,
            codec: Codec::None,
            level: None,
            zbuf: Vec::new(),
            compressed: false,
            split: false,
            scratch: Default::default(),
            producer: None,
            seqs: Vec::new(),
        }
    }

    /// Store the records section of the batches built from now on with `codec`.
    pub fn with_compression(mut self, codec: Codec, level: Option<i32>) -> Self {
        self.codec = codec;
        self.level = level;
        self
    }

    /// Stamp every batch built from now on with `producer` (`produce --id`); each pushed
    /// record must then be given its input position with [`sequence`](Self::sequence).
    pub fn with_producer(mut self, producer: &str, partitions: u32) -> Self {
        self.producer = Some((producer.to_string(), partitions));
        self
    }

    /// The input position of the record just pushed (increasing within a builder).
    pub fn sequence(&mut self, seq: u64) {
        debug_assert!(self.seqs.last().is_none_or(|&l| l < seq));
        self.seqs.push(seq);
    }

    /// Input positions of the first and last record in the batch (stamped builders).
    pub fn sequences(&self) -> Option<(u64, u64)> {
        Some((*self.seqs.first()?, *self.seqs.last()?))
    }

    pub fn clear(&mut self) {
        self.compressed = false;
        self.seqs.clear();
        self.buf.truncate(HEADER_LEN);
        self.buf[..HEADER_LEN].fill(0);
        self.count = 0;
        self.max_timestamp = i64::MIN;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Memory held (records and compressed copy), whatever is in use.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
            + self.zbuf.capacity()
            + self.scratch.capacity()
            + self.seqs.capacity() * 8
    }

    /// Give back memory beyond a small batch (an empty builder only).
    pub fn shrink(&mut self) {
        debug_assert!(self.is_empty());
        self.buf.shrink_to(64 * 1024);
        self.zbuf = Vec::new();
        self.scratch = Default::default();
        self.compressed = false;
    }

    pub fn level(&self) -> Option<i32> {
        self.level
    }

    /// Keep the first half of the records (at least one) and return a builder with the rest,
    /// for a compressed batch that came out larger than a topic accepts.
    pub fn split_half(&mut self) -> BatchBuilder {
        let mut rest = BatchBuilder::new().with_compression(self.codec, self.level);
        rest.producer = self.producer.clone();
        let keep = self.count.div_ceil(2);
        if !self.seqs.is_empty() {
            rest.seqs = self.seqs.split_off(keep as usize);
        }
        let header = BatchHeader {
            base_offset: 0,
            batch_length: self.buf.len() as u32,
            leader_epoch: 0,
            crc: 0,
            magic: MAGIC,
            attributes: 0,
            record_count: self.count,
            last_offset_delta: self.count.saturating_sub(1),
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
        };
        let (mut cut, mut max_ts, mut i) = (self.buf.len(), i64::MIN, 0);
        let mut pos = HEADER_LEN;
        let mut recs = Records::new(&self.buf, header);
        while let Some(Ok(r)) = recs.next_record() {
            if i < keep {
                max_ts = max_ts.max(r.timestamp);
                pos += r.raw.len();
                cut = pos;
            } else {
                // Our own encoding: headers decode.
                let hs: Vec<Header> = r
                    .headers()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| Header {
                        key: k.to_string(),
                        value: v.map(<[u8]>::to_vec),
                    })
                    .collect();
                rest.push(r.key, r.value, r.timestamp, &hs);
            }
            i += 1;
        }
        drop(recs);
        self.compressed = false;
        self.buf.truncate(cut);
        self.count = keep;
        self.max_timestamp = max_ts;
        rest
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes the batch occupies so far, header included.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Encoded size of a record (length prefix included) if it were appended now, assuming the
    /// worst-case varints for timestamp and offset deltas. Used to enforce max.message.bytes.
    pub fn record_size(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[Header]) -> usize {
        let body = Self::body_len(key, value, headers, 10, 5);
        uvarint_len(body as u64) + body
    }

    #[inline]
    fn body_len(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        ts_len: usize,
        off_len: usize,
    ) -> usize {
        let mut n = 1 + ts_len + off_len;
        n += uvarint_len(zz(opt_len(key))) + key.map_or(0, |k| k.len());
        n += uvarint_len(zz(opt_len(value))) + value.map_or(0, |v| v.len());
        n += uvarint_len(headers.len() as u64);
        for h in headers {
            let vl = h.value.as_deref();
            n += uvarint_len(h.key.len() as u64) + h.key.len();
            n += uvarint_len(zz(opt_len(vl))) + vl.map_or(0, |v| v.len());
        }
        n
    }

    /// Append a record. `timestamp` is in ms since the epoch.
    #[inline]
    pub fn push(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: i64,
        headers: &[Header],
    ) {
        self.compressed = false;
        if self.count == 0 {
            self.base_timestamp = timestamp;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        let ts_delta = zz(timestamp.wrapping_sub(self.base_timestamp));
        let off_delta = self.count as u64;
        let body = Self::body_len(
            key,
            value,
            headers,
            uvarint_len(ts_delta),
            uvarint_len(off_delta),
        );
        let buf = &mut self.buf;
        buf.reserve(body + 10);
        put_uvarint(buf, body as u64);
        buf.push(0);
        put_uvarint(buf, ts_delta);
        put_uvarint(buf, off_delta);
        put_uvarint(buf, zz(opt_len(key)));
        if let Some(k) = key {
            buf.extend_from_slice(k);
        }
        put_uvarint(buf, zz(opt_len(value)));
        if let Some(v) = value {
            buf.extend_from_slice(v);
        }
        put_uvarint(buf, headers.len() as u64);
        for h in headers {
            put_uvarint(buf, h.key.len() as u64);
            buf.extend_from_slice(h.key.as_bytes());
            let vl = h.value.as_deref();
            put_uvarint(buf, zz(opt_len(vl)));
            if let Some(v) = vl {
                buf.extend_from_slice(v);
            }
        }
        self.count += 1;
    }

    /// Fill in the header fields known before locking, compress the records with the codec,
    /// and checksum the body. The batch is then ready for [`stamp`] under the partition lock.
    pub fn seal(&mut self) -> SealedBatch<'_> {
        let len = self.buf.len();
        let h = &mut self.buf[..HEADER_LEN];
        h[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        h[20] = MAGIC;
        h[21] = 0;
        h[22..26].copy_from_slice(&self.count.to_le_bytes());
        h[26..30].copy_from_slice(&(self.count.saturating_sub(1)).to_le_bytes());
        h[30..38].copy_from_slice(&self.base_timestamp.to_le_bytes());
        h[38..46].copy_from_slice(&self.max_timestamp.to_le_bytes());
        let mut bytes = &mut self.buf;
        if self.codec != Codec::None || self.producer.is_some() {
            // Always the codec asked for, as Kafka does (a topic's compression.type promises
            // it), even for a batch too small to shrink.
            if !self.compressed {
                self.zbuf.clear();
                self.zbuf.extend_from_slice(&bytes[..HEADER_LEN]);
                let records = &bytes[HEADER_LEN..];
                self.split = self.codec != Codec::None
                    && super::split::store(
                        self.codec,
                        self.level,
                        records,
                        &mut self.scratch,
                        &mut self.zbuf,
                    );
                if self.codec == Codec::None {
                    self.zbuf.extend_from_slice(records);
                }
                if let Some((producer, partitions)) = &self.producer {
                    let s = Stamp {
                        producer,
                        last_sequence: *self.seqs.last().expect("a stamped record's sequence"),
                        partitions: *partitions,
                        written_ms: crate::fsutil::now_ms(),
                    };
                    stamp::encode(&mut self.zbuf, &s);
                }
                self.compressed = true;
            }
            // The header again: stamping an earlier seal wrote offset, epoch and CRC into it.
            self.zbuf[..HEADER_LEN].copy_from_slice(&bytes[..HEADER_LEN]);
            let zlen = self.zbuf.len() as u32;
            self.zbuf[8..12].copy_from_slice(&zlen.to_le_bytes());
            self.zbuf[21] = self.codec as u8
                | if self.split { SPLIT } else { 0 }
                | if self.producer.is_some() { STAMPED } else { 0 };
            bytes = &mut self.zbuf;
        }
        let mut body = crc32fast::Hasher::new();
        body.update(&bytes[20..]);
        SealedBatch {
            bytes,
            body_crc: body,
        }
    }
}

/// A batch whose body checksum is computed; only offset, epoch and final CRC are missing.
pub struct SealedBatch<'a> {
    pub bytes: &'a mut Vec<u8>,
    body_crc: crc32fast::Hasher,
}

impl<'a> SealedBatch<'a> {
    /// A batch that was stamped before, to be appended again (to a new leader, at a new offset).
    pub fn restamp(bytes: &'a mut Vec<u8>) -> SealedBatch<'a> {
        let mut body_crc = crc32fast::Hasher::new();
        body_crc.update(&bytes[20..]);
        SealedBatch { bytes, body_crc }
    }

    /// The CRC the header carries (valid once stamped).
    pub fn crc(&self) -> u32 {
        u32::from_le_bytes(self.bytes[16..20].try_into().unwrap())
    }

    pub fn record_count(&self) -> u32 {
        u32::from_le_bytes(self.bytes[22..26].try_into().unwrap())
    }
    pub fn max_timestamp(&self) -> i64 {
        i64::from_le_bytes(self.bytes[38..46].try_into().unwrap())
    }

    /// Assign the base offset and leader epoch and finish the CRC. Cheap: no pass over the body.
    pub fn stamp(&mut self, base_offset: u64, leader_epoch: u32) {
        let h = &mut self.bytes[..HEADER_LEN];
        h[0..8].copy_from_slice(&base_offset.to_le_bytes());
        h[12..16].copy_from_slice(&leader_epoch.to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&h[0..16]);
        crc.combine(&self.body_crc);
        h[16..20].copy_from_slice(&crc.finalize().to_le_bytes());
    }
}

/// Why a batch header or body was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the header says: a torn or in-flight tail, or a truncated file.
    Incomplete { need: usize },
    /// The bytes are definitely not a valid batch.
    Invalid(String),
    /// A header with another format version, or attribute bits this chute does not know, and a
    /// plausible length: either garbage or a batch written by a newer chute. The scanner tells
    /// them apart by the CRC (a newer chute's batch is refused, never cut as a torn tail).
    /// `what` says which ("format version 2", "attributes 0x20").
    Unsupported { what: String, len: usize },
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Incomplete { need } => write!(f, "incomplete batch (needs {need} bytes)"),
            BatchError::Invalid(s) => f.write_str(s),
            BatchError::Unsupported { what, .. } => write!(f, "unknown batch {what}"),
        }
    }
}

/// The fixed header of a batch, parsed and bounds-checked (not yet CRC-checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: u64,
    pub batch_length: u32,
    pub leader_epoch: u32,
    pub crc: u32,
    pub magic: u8,
    pub attributes: u8,
    pub record_count: u32,
    pub last_offset_delta: u32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
}

impl BatchHeader {
    pub fn parse(b: &[u8]) -> Result<BatchHeader, BatchError> {
        if b.len() < HEADER_LEN {
            return Err(BatchError::Incomplete { need: HEADER_LEN });
        }
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        let i64_at = |i: usize| i64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        let h = BatchHeader {
            base_offset: u64::from_le_bytes(b[0..8].try_into().unwrap()),
            batch_length: u32_at(8),
            leader_epoch: u32_at(12),
            crc: u32_at(16),
            magic: b[20],
            attributes: b[21],
            record_count: u32_at(22),
            last_offset_delta: u32_at(26),
            base_timestamp: i64_at(30),
            max_timestamp: i64_at(38),
        };
        if h.magic != MAGIC {
            let len = h.batch_length as usize;
            if (HEADER_LEN..=MAX_BATCH_LEN).contains(&len) {
                return Err(BatchError::Unsupported {
                    what: format!("format version {}", h.magic),
                    len,
                });
            }
            return Err(BatchError::Invalid(format!(
                "unknown batch format version {} (this chute reads version {MAGIC})",
                h.magic
            )));
        }
        let len = h.batch_length as usize;
        if !(HEADER_LEN..=MAX_BATCH_LEN).contains(&len) {
            return Err(BatchError::Invalid(format!(
                "impossible batch length {len}"
            )));
        }
        if h.record_count == 0 || h.last_offset_delta < h.record_count - 1 {
            return Err(BatchError::Invalid(format!(
                "record count {} does not fit last offset delta {}",
                h.record_count, h.last_offset_delta
            )));
        }
        let codec = Codec::from_attributes(h.attributes);
        if h.attributes & !(super::codec::MASK | SPLIT | STAMPED) != 0 || codec.is_none() {
            // Bits a later chute may give a meaning (as this one gave the codecs, the split
            // layout and the stamp): a batch whose CRC holds is refused, never cut.
            return Err(BatchError::Unsupported {
                what: format!(
                    "attributes {:#x} (a codec or layout this chute does not know)",
                    h.attributes
                ),
                len,
            });
        }
        if h.attributes & SPLIT != 0 && codec == Some(Codec::None) {
            return Err(BatchError::Invalid(format!(
                "batch attributes {:#x}: a split records section without a codec",
                h.attributes
            )));
        }
        Ok(h)
    }

    /// The codec of the records section.
    pub fn codec(&self) -> Codec {
        Codec::from_attributes(self.attributes).unwrap_or_default()
    }

    /// Bytes of the producer stamp at the end of `batch` (0: none).
    pub fn trailer_len(&self, batch: &[u8]) -> Result<usize, String> {
        stamp::trailer_len(batch, self.attributes, self.len(), HEADER_LEN)
    }

    /// The producer stamp of a whole (CRC-checked) batch, if it has one.
    pub fn stamp<'a>(&self, batch: &'a [u8]) -> Result<Option<Stamp<'a>>, String> {
        stamp::read(batch, self.attributes, self.len(), HEADER_LEN)
    }

    /// Is the records section stored split (framing apart from payloads)?
    pub fn split(&self) -> bool {
        self.attributes & SPLIT != 0
    }

    pub fn len(&self) -> usize {
        self.batch_length as usize
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn last_offset(&self) -> u64 {
        self.base_offset + self.last_offset_delta as u64
    }

    pub fn next_offset(&self) -> u64 {
        self.last_offset() + 1
    }
}

/// CRC of a complete batch as stored (the value its header must carry).
pub fn compute_crc(batch: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&batch[0..16]);
    h.update(&batch[20..]);
    h.finalize()
}

/// Parse the header of the batch at the start of `b` and, when `b` holds all of it, check its CRC.
pub fn check(b: &[u8]) -> Result<BatchHeader, BatchError> {
    let h = BatchHeader::parse(b)?;
    if b.len() < h.len() {
        return Err(BatchError::Incomplete { need: h.len() });
    }
    let actual = compute_crc(&b[..h.len()]);
    if actual != h.crc {
        return Err(BatchError::Invalid(format!(
            "CRC mismatch (stored {:#010x}, computed {actual:#010x})",
            h.crc
        )));
    }
    h.trailer_len(b).map_err(BatchError::Invalid)?;
    Ok(h)
}

/// One record decoded from a verified batch, borrowing the batch bytes.
#[derive(Debug, Clone)]
pub struct RecordView<'a> {
    pub offset: u64,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    headers_raw: &'a [u8],
    pub header_count: u64,
    /// The record exactly as stored (length prefix included): the cleaner copies kept records
    /// into a new batch with the same base offset and base timestamp, so their deltas hold.
    pub raw: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// Decode the headers. Errors only on bytes that a CRC-verified batch cannot hold.
    pub fn headers(&self) -> Result<crate::record::HeaderViews<'a>, String> {
        let mut out = Vec::with_capacity(self.header_count.min(64) as usize);
        let mut c = Cursor {
            b: self.headers_raw,
            pos: 0,
        };
        for _ in 0..self.header_count {
            let kl = c.uvarint()? as usize;
            let k = c.bytes(kl)?;
            let k = std::str::from_utf8(k).map_err(|_| "header key is not UTF-8".to_string())?;
            let v = c.nullable()?;
            out.push((k, v));
        }
        Ok(out)
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn uvarint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&byte) = self.b.get(self.pos) else {
                return Err("record ends inside a varint".into());
            };
            self.pos += 1;
            v |= ((byte & 0x7f) as u64) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err("varint longer than 10 bytes".into());
            }
        }
    }

    #[inline]
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| format!("field of {n} bytes runs past the record"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    #[inline]
    fn nullable(&mut self) -> Result<Option<&'a [u8]>, String> {
        let l = unzz(self.uvarint()?);
        if l == -1 {
            Ok(None)
        } else if l < 0 {
            Err(format!("negative length {l}"))
        } else {
            self.bytes(l as usize).map(Some)
        }
    }

    fn skip_headers(&mut self, count: u64) -> Result<(), String> {
        for _ in 0..count {
            let kl = self.uvarint()? as usize;
            self.bytes(kl)?;
            self.nullable()?;
        }
        Ok(())
    }
}

/// The records of one batch (its CRC already verified by the caller), one at a time. A lending
/// iterator: each record borrows it until the next call, so a compressed batch is inflated a
/// piece at a time into one window and never held whole.
pub struct Records<'a> {
    header: BatchHeader,
    seen: u32,
    src: Source<'a>,
}

enum Source<'a> {
    Plain(Cursor<'a>),
    Inflate(Box<Inflate<'a>>),
    /// The decoder could not start (a damaged frame header): said on the first call.
    Broken(String),
}

/// How much a compressed batch is inflated at a time (the window grows only for a record
/// larger than this).
const CHUNK: usize = 64 << 10;

struct Inflate<'a> {
    codec: Codec,
    dec: Box<dyn Read + 'a>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes of records inflated so far (bounded by MAX_INFLATED).
    total: u64,
}

impl Inflate<'_> {
    /// Read more, so that the window holds at least `need` bytes from `start` (or the end).
    fn fill(&mut self, need: usize) -> Result<(), String> {
        if self.start > 0 && self.start + need > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < CHUNK {
            self.buf.resize(CHUNK, 0);
        }
        while self.end - self.start < need && !self.eof {
            if self.end == self.buf.len() {
                // Grow only as inflated bytes arrive: a length field alone allocates nothing.
                let to = (self.buf.len() * 2).min(self.start + need);
                self.buf.resize(to.max(self.end + 1), 0);
            }
            match self.dec.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{} data does not inflate: {e}", self.codec)),
            }
        }
        Ok(())
    }

    /// The next record as stored (length prefix included), from the window.
    fn next_raw(&mut self) -> Result<&[u8], String> {
        let (len, prefix) = loop {
            let mut c = Cursor {
                b: &self.buf[self.start..self.end],
                pos: 0,
            };
            match c.uvarint() {
                Ok(v) => break (v, c.pos),
                Err(_) if !self.eof && self.end - self.start < 10 => {
                    self.fill(self.end - self.start + 1)?
                }
                Err(e) => return Err(e),
            }
        };
        let need = (prefix as u64).saturating_add(len);
        if self.total.saturating_add(need) > MAX_INFLATED {
            return Err(format!(
                "the records inflate past {} MiB: not a batch chute wrote",
                MAX_INFLATED >> 20
            ));
        }
        let need = need as usize;
        self.fill(need)?;
        if self.end - self.start < need {
            return Err(format!("field of {len} bytes runs past the record"));
        }
        let raw = &self.buf[self.start..self.start + need];
        self.start += need;
        self.total += need as u64;
        Ok(raw)
    }

    /// Anything after the last record?
    fn leftover(&mut self) -> Result<bool, String> {
        if self.start < self.end {
            return Ok(true);
        }
        self.start = 0;
        self.end = 0;
        self.fill(1)?;
        Ok(self.end > 0)
    }
}

impl<'a> Records<'a> {
    pub fn new(batch: &'a [u8], header: BatchHeader) -> Self {
        let (body, src) = match header.trailer_len(batch) {
            Ok(t) => (&batch[HEADER_LEN..header.len() - t], None),
            Err(e) => (&batch[HEADER_LEN..HEADER_LEN], Some(Source::Broken(e))),
        };
        let src = match src {
            Some(broken) => broken,
            None => Self::source(header, body),
        };
        Records {
            header,
            seen: 0,
            src,
        }
    }

    fn source(header: BatchHeader, body: &'a [u8]) -> Source<'a> {
        match header.codec() {
            Codec::None => Source::Plain(Cursor { b: body, pos: 0 }),
            codec => match if header.split() {
                Ok(super::split::decoder(codec, body))
            } else {
                codec.decoder(body)
            } {
                Ok(dec) => Source::Inflate(Box::new(Inflate {
                    codec,
                    dec,
                    buf: Vec::new(),
                    start: 0,
                    end: 0,
                    eof: false,
                    total: 0,
                })),
                Err(e) => Source::Broken(format!("{codec} data does not inflate: {e}")),
            },
        }
    }

    /// The next record, or None after the last. After an error, None.
    #[inline]
    pub fn next_record(&mut self) -> Option<Result<RecordView<'_>, String>> {
        if self.seen >= self.header.record_count {
            if self.seen == u32::MAX {
                return None;
            }
            self.seen = u32::MAX;
            let left = match &mut self.src {
                Source::Plain(c) => Ok(c.pos != c.b.len()),
                Source::Inflate(i) => i.leftover(),
                Source::Broken(e) => Err(e.clone()),
            };
            return match left {
                Ok(false) => None,
                Ok(true) => Some(Err("bytes left over after the last record".into())),
                Err(e) => Some(Err(e)),
            };
        }
        // Set before decoding: an error ends the iteration (restored below on success).
        let seen = self.seen;
        self.seen = u32::MAX;
        let header = self.header;
        let r = match &mut self.src {
            Source::Plain(c) => next_plain(c).and_then(|(body, raw)| decode(&header, body, raw)),
            Source::Inflate(i) => i.next_raw().and_then(|raw| {
                let mut c = Cursor { b: raw, pos: 0 };
                let len = c.uvarint()? as usize;
                let body = c.bytes(len)?;
                decode(&header, body, raw)
            }),
            Source::Broken(e) => Err(e.clone()),
        };
        if r.is_ok() {
            self.seen = seen + 1;
        }
        Some(r)
    }
}

/// The next record of an uncompressed section: (body, as stored).
#[inline]
fn next_plain<'a>(c: &mut Cursor<'a>) -> Result<(&'a [u8], &'a [u8]), String> {
    let start = c.pos;
    let len = c.uvarint()? as usize;
    let body = c.bytes(len)?;
    Ok((body, &c.b[start..c.pos]))
}

#[inline]
fn decode<'r>(h: &BatchHeader, body: &'r [u8], raw: &'r [u8]) -> Result<RecordView<'r>, String> {
    let mut r = Cursor { b: body, pos: 0 };
    let _attrs = r.bytes(1)?;
    let ts = h.base_timestamp.wrapping_add(unzz(r.uvarint()?));
    let od = r.uvarint()?;
    if od > h.last_offset_delta as u64 {
        return Err(format!(
            "offset delta {od} beyond the batch's last delta {}",
            h.last_offset_delta
        ));
    }
    let key = r.nullable()?;
    let value = r.nullable()?;
    let header_count = r.uvarint()?;
    let hstart = r.pos;
    r.skip_headers(header_count)?;
    if r.pos != body.len() {
        return Err(format!(
            "record at offset delta {od} has {} bytes left over after its headers",
            body.len() - r.pos
        ));
    }
    Ok(RecordView {
        offset: h.base_offset + od,
        timestamp: ts,
        key,
        value,
        headers_raw: &body[hstart..r.pos],
        header_count,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rec<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, i64);

    fn build(records: &[Rec<'_>], headers: &[Header]) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        for (k, v, ts) in records {
            b.push(*k, *v, *ts, headers);
        }
        let mut s = b.seal();
        s.stamp(42, 7);
        s.bytes.clone()
    }

    #[test]
    fn roundtrip_records_and_headers() {
        let hs = vec![
            Header {
                key: "h1".into(),
                value: Some(b"v\xff".to_vec()),
            },
            Header {
                key: "n".into(),
                value: None,
            },
        ];
        let bytes = build(
            &[
                (Some(b"k"), Some(b"hello"), 1000),
                (None, None, 900),
                (Some(b""), Some(&[0u8, 255, 10]), 5000),
            ],
            &hs,
        );
        let h = check(&bytes).unwrap();
        assert_eq!(h.base_offset, 42);
        assert_eq!(h.leader_epoch, 7);
        assert_eq!(h.record_count, 3);
        assert_eq!(h.last_offset(), 44);
        assert_eq!(h.max_timestamp, 5000);
        let mut it = Records::new(&bytes, h);
        let mut recs = Vec::new();
        while let Some(r) = it.next_record() {
            let r = r.unwrap();
            recs.push((
                r.offset,
                r.timestamp,
                r.key.map(<[u8]>::to_vec),
                r.value.map(<[u8]>::to_vec),
                r.headers()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec)))
                    .collect::<Vec<_>>(),
            ));
        }
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].2.as_deref(), Some(&b"k"[..]));
        assert_eq!(recs[0].3.as_deref(), Some(&b"hello"[..]));
        assert_eq!(recs[1].1, 900);
        assert_eq!(recs[1].2, None);
        assert_eq!(recs[1].3, None);
        assert_eq!(recs[2].0, 44);
        assert_eq!(recs[2].2.as_deref(), Some(&b""[..]));
        assert_eq!(
            recs[0].4,
            vec![
                ("h1".to_string(), Some(b"v\xff".to_vec())),
                ("n".to_string(), None)
            ]
        );
    }

    #[test]
    fn every_flipped_bit_is_caught() {
        let bytes = build(&[(Some(b"key"), Some(b"value"), 1)], &[]);
        for i in 0..bytes.len() {
            if (16..20).contains(&i) {
                continue;
            }
            for bit in 0..8 {
                let mut c = bytes.clone();
                c[i] ^= 1 << bit;
                assert!(
                    check(&c).is_err(),
                    "flip at byte {i} bit {bit} not detected"
                );
            }
        }
    }

    #[test]
    fn truncation_is_incomplete_not_invalid() {
        let bytes = build(&[(None, Some(b"value"), 1)], &[]);
        for cut in 0..bytes.len() {
            assert!(matches!(
                check(&bytes[..cut]),
                Err(BatchError::Incomplete { .. })
            ));
        }
    }

    #[test]
    fn record_size_bounds_actual_size() {
        let mut b = BatchBuilder::new();
        let before = b.len();
        let v = vec![7u8; 300];
        b.push(Some(b"k"), Some(&v), 123, &[]);
        assert!(b.len() - before <= BatchBuilder::record_size(Some(b"k"), Some(&v), &[]));
    }

    /// Values of every record of a batch.
    fn values(bytes: &[u8]) -> Vec<Vec<u8>> {
        let h = check(bytes).unwrap();
        let mut it = Records::new(bytes, h);
        let mut out = Vec::new();
        while let Some(r) = it.next_record() {
            out.push(r.unwrap().value.unwrap().to_vec());
        }
        out
    }

    #[test]
    fn compressed_batches_are_split_and_interleaved_ones_still_read() {
        let lines: Vec<Vec<u8>> = (0..2000)
            .map(|i| format!("GET /item/{} 200 {}", i % 40, i * 7).into_bytes())
            .collect();
        let mut b = BatchBuilder::new().with_compression(Codec::Zstd, None);
        let mut plain = BatchBuilder::new();
        for (i, l) in lines.iter().enumerate() {
            b.push(None, Some(l), 1000 + i as i64, &[]);
            plain.push(None, Some(l), 1000 + i as i64, &[]);
        }
        let mut s = b.seal();
        s.stamp(5, 1);
        let split = s.bytes.clone();
        let h = check(&split).unwrap();
        assert!(h.split());
        assert_eq!(h.attributes, Codec::Zstd as u8 | SPLIT);
        assert_eq!(values(&split), lines);

        // As a chute before the split layout wrote it: the same records compressed interleaved.
        let mut s = plain.seal();
        s.stamp(5, 1);
        let records = &s.bytes[HEADER_LEN..];
        let mut old = s.bytes[..HEADER_LEN].to_vec();
        Codec::Zstd.compress(None, records, &mut old);
        let len = old.len() as u32;
        old[8..12].copy_from_slice(&len.to_le_bytes());
        old[21] = Codec::Zstd as u8;
        let crc = compute_crc(&old);
        old[16..20].copy_from_slice(&crc.to_le_bytes());
        assert!(!check(&old).unwrap().split());
        assert_eq!(values(&old), lines);
        assert!(split.len() < old.len());

        // The split bit means nothing without a codec, and other bits are unknown: refused.
        for attributes in [SPLIT, 0x08, 0x40 | Codec::Zstd as u8] {
            let mut bad = old.clone();
            bad[21] = attributes;
            let crc = compute_crc(&bad);
            bad[16..20].copy_from_slice(&crc.to_le_bytes());
            let e = check(&bad).unwrap_err().to_string();
            assert!(
                e.contains("unknown batch attributes") || e.contains("without a codec"),
                "{e}"
            );
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x12345678u32;
        for _ in 0..2000 {
            let mut g = vec![0u8; 120];
            for b in g.iter_mut() {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                *b = (seed >> 24) as u8;
            }
            g[20] = MAGIC;
            g[21] = 0;
            let _ = check(&g);
            if let Ok(h) = BatchHeader::parse(&g)
                && g.len() >= h.len()
            {
                let mut it = Records::new(&g, h);
                while let Some(r) = it.next_record() {
                    if let Ok(r) = r {
                        let _ = r.headers();
                    }
                }
            }
        }
    }
}
