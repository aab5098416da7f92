//! The producer stamp: a trailer on each batch a retry-safe producer (`produce --id NAME`)
//! writes, naming the producer and the input position of the batch's last record.
//!
//! Why in the batch: the stamp becomes visible, durable and replicated with the records it
//! describes, in the same publish, so after any crash the log itself says how far each producer
//! got; a re-run skips exactly the records already there (`producers.rs`). Followers copy
//! batches byte for byte, so a new leader knows the same.
//!
//! Layout (attributes bit 4, `0x10`), after the records section, inside the CRC:
//! ```text
//!   producer_id     id_len bytes, UTF-8 (a name: letters, digits, '.', '_', '-')
//!   last_sequence   u64 LE   input position of the batch's last record (0-based)
//!   partitions      u32 LE   the topic's partition count the producer placed records for
//!   written_ms      i64 LE   wall clock when the batch was sealed (idle expiry counts from it)
//!   id_len          u8       1..=249
//! ```

/// The attributes bit of a stamped batch.
pub const STAMPED: u8 = 0x10;

/// Bytes of the trailer besides the id.
const FIXED: usize = 8 + 4 + 8 + 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp<'a> {
    pub producer: &'a str,
    pub last_sequence: u64,
    pub partitions: u32,
    pub written_ms: i64,
}

/// Append the trailer for `s` to a batch being built.
pub fn encode(out: &mut Vec<u8>, s: &Stamp<'_>) {
    debug_assert!((1..=255).contains(&s.producer.len()));
    out.extend_from_slice(s.producer.as_bytes());
    out.extend_from_slice(&s.last_sequence.to_le_bytes());
    out.extend_from_slice(&s.partitions.to_le_bytes());
    out.extend_from_slice(&s.written_ms.to_le_bytes());
    out.push(s.producer.len() as u8);
}

/// Bytes the trailer of a batch takes (0 when it has none), given its `attributes`, its
/// length and where its records start. Err when it cannot be one: the batch is damaged.
pub fn trailer_len(
    batch: &[u8],
    attributes: u8,
    len: usize,
    records_start: usize,
) -> Result<usize, String> {
    if attributes & STAMPED == 0 {
        return Ok(0);
    }
    let Some(&id_len) = batch
        .get(len.wrapping_sub(1))
        .filter(|_| len > records_start)
    else {
        return Err("stamped batch without a stamp".into());
    };
    let t = FIXED + id_len as usize;
    // At least one byte of records before it (a batch holds a record).
    if id_len == 0 || t >= len - records_start {
        return Err(format!(
            "producer stamp of {t} bytes does not fit the batch of {len}"
        ));
    }
    Ok(t)
}

/// The stamp of a whole (CRC-checked) batch, if it has one (arguments as for `trailer_len`).
pub fn read(
    batch: &[u8],
    attributes: u8,
    len: usize,
    records_start: usize,
) -> Result<Option<Stamp<'_>>, String> {
    let t = trailer_len(batch, attributes, len, records_start)?;
    if t == 0 {
        return Ok(None);
    }
    let b = &batch[len - t..len];
    let id_len = t - FIXED;
    let producer = std::str::from_utf8(&b[..id_len])
        .map_err(|_| "producer stamp: the id is not UTF-8".to_string())?;
    let at = |i: usize, n: usize| &b[id_len + i..id_len + i + n];
    Ok(Some(Stamp {
        producer,
        last_sequence: u64::from_le_bytes(at(0, 8).try_into().unwrap()),
        partitions: u32::from_le_bytes(at(8, 4).try_into().unwrap()),
        written_ms: i64::from_le_bytes(at(12, 8).try_into().unwrap()),
    }))
}
