//! `chute dump`: like kafka-dump-log. Reads segment files directly (past the commit point too,
//! since it is a diagnostic), reports each batch with its CRC status.

use crate::cli::DumpArgs;
use chute::error::{Error, IoContext, Result};
use chute::fsutil;
use chute::log::batch::Records;
use chute::log::file_header;
use chute::log::scan::{Next, Scanner};
use chute::log::segment;
use std::io::Write;
use std::path::{Path, PathBuf};

fn shown(b: Option<&[u8]>) -> String {
    match b {
        None => "null".into(),
        Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
    }
}

pub fn run(a: DumpArgs) -> Result<i32> {
    let files: Vec<PathBuf> = if a.path.is_dir() {
        segment::list(&a.path)?
            .into_iter()
            .map(|b| segment::path(&a.path, b, "log"))
            .collect()
    } else {
        vec![a.path.clone()]
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let w = |out: &mut std::io::BufWriter<std::io::StdoutLock>, s: String| -> Result<()> {
        out.write_all(s.as_bytes())
            .map_err(|e| Error::stream("stdout", e))
    };
    let mut bad = false;
    for f in files {
        bad |= dump_file(&f, a.records, &mut |s| w(&mut out, s))?;
    }
    out.flush().map_err(|e| Error::stream("stdout", e))?;
    Ok(if bad { chute::error::exit::IO } else { 0 })
}

fn dump_file(path: &Path, records: bool, w: &mut dyn FnMut(String) -> Result<()>) -> Result<bool> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let base: u64 = name
        .strip_suffix(".log")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            Error::Usage(format!(
                "{}: not a segment file (expected <20 digits>.log) or partition directory",
                path.display()
            ))
        })?;
    let f = fsutil::open_read(path)?;
    let created = segment::read_header(&f, path, file_header::LOG_MAGIC, base)?;
    let len = f.metadata().at(path)?.len();
    let extent = segment::sealed_extent(&f, path, base)?;
    let sealed = if extent.recorded {
        format!("{} bytes", extent.end)
    } else {
        "not recorded (the active segment, or sealed by an older chute)".to_string()
    };
    w(format!(
        "Dumping {}\nSegment base offset: {base}  created: {created}  size: {len}  sealed: {sealed}\n",
        path.display()
    ))?;
    if extent.truncated() {
        w(format!("Truncated: {}\n", extent.truncated_detail(path)))?;
    }
    let mut sc = Scanner::default();
    let mut pos = file_header::LEN as u64;
    loop {
        match sc.next(&f, path, pos, len, false)? {
            Next::Batch {
                header: h, bytes, ..
            } => {
                let crc_ok = chute::log::batch::compute_crc(bytes) == h.crc;
                // A compressed batch: its size as stored and inflated (Kafka's
                // DumpLogSegments names the codec the same way).
                let mut codec = format!("compresscodec: {}", h.codec());
                if h.codec() != chute::log::codec::Codec::None && crc_ok {
                    let mut inflated = 0u64;
                    let mut recs = Records::new(bytes, h);
                    while let Some(Ok(r)) = recs.next_record() {
                        inflated += r.raw.len() as u64;
                    }
                    codec += &format!(" uncompressedSize: {inflated}");
                    if h.split() {
                        codec += " layout: split";
                    }
                }
                // `produce --id`: who wrote it, and the input position of its last record
                // (Kafka's DumpLogSegments prints producerId and sequence the same way).
                if crc_ok && let Ok(Some(s)) = h.stamp(bytes) {
                    codec += &format!(
                        " producerId: {} sequence: {} partitions: {}",
                        s.producer, s.last_sequence, s.partitions
                    );
                }
                w(format!(
                    "baseOffset: {} lastOffset: {} count: {} position: {pos} size: {} {codec} leaderEpoch: {} baseTimestamp: {} maxTimestamp: {} crc: {:#010x} isValid: {crc_ok}\n",
                    h.base_offset,
                    h.last_offset(),
                    h.record_count,
                    h.len(),
                    h.leader_epoch,
                    h.base_timestamp,
                    h.max_timestamp,
                    h.crc
                ))?;
                if records && crc_ok {
                    let mut recs = Records::new(bytes, h);
                    while let Some(r) = recs.next_record() {
                        match r {
                            Ok(r) => {
                                let hs = r.headers().unwrap_or_default();
                                let hs: Vec<String> = hs
                                    .iter()
                                    .map(|(k, v)| format!("{k}={}", shown(*v)))
                                    .collect();
                                w(format!(
                                    "| offset: {} timestamp: {} keySize: {} valueSize: {} key: {} value: {} headers: [{}]\n",
                                    r.offset,
                                    r.timestamp,
                                    r.key.map_or(-1, |k| k.len() as i64),
                                    r.value.map_or(-1, |v| v.len() as i64),
                                    shown(r.key),
                                    shown(r.value),
                                    hs.join(", ")
                                ))?;
                            }
                            Err(e) => {
                                w(format!("| bad record: {e}\n"))?;
                                break;
                            }
                        }
                    }
                }
                if !crc_ok {
                    w(format!(
                        "Stopping: the batch at position {pos} fails its CRC\n"
                    ))?;
                    return Ok(true);
                }
                pos += h.len() as u64;
            }
            Next::End => return Ok(extent.truncated()),
            Next::Bad { error, .. } => {
                w(format!(
                    "Invalid bytes from position {pos} to {len} ({} bytes): {error}\n",
                    len - pos,
                ))?;
                return Ok(true);
            }
        }
    }
}
