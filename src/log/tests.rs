use super::batch::BatchBuilder;
use super::*;
use std::path::Path;

fn append_values(w: &mut PartitionWriter, vals: &[&[u8]], ts: i64) -> Appended {
    let mut b = BatchBuilder::new();
    for v in vals {
        b.push(None, Some(v), ts, &[]);
    }
    let mut s = b.seal();
    w.append(&mut s).unwrap()
}

fn read_all(dir: &Path, from: u64) -> Vec<(u64, Vec<u8>)> {
    let mut r = PartitionReader::open(dir, "t-0").unwrap();
    let t = r.tail().unwrap();
    let start = r.seek(from, &t).unwrap();
    let mut out = Vec::new();
    while let Some(b) = r.next_batch(&t).unwrap() {
        let mut recs = b.records();
        while let Some(rec) = recs.next_record() {
            let rec = rec.unwrap();
            if rec.offset >= start {
                out.push((rec.offset, rec.value.unwrap().to_vec()));
            }
        }
    }
    out
}

#[test]
fn append_read_roll_and_seek() {
    let d = tempfile::tempdir().unwrap();
    let opts = WriterOptions {
        segment_bytes: 2000,
        ..Default::default()
    };
    let mut w = PartitionWriter::open(d.path(), "t-0", opts).unwrap();
    let mut expect = Vec::new();
    for i in 0..300u64 {
        let v = format!("value-{i:05}-{}", "x".repeat((i % 50) as usize));
        let a = append_values(&mut w, &[v.as_bytes()], 1000 + i as i64);
        assert_eq!(a.base_offset, i);
        expect.push((i, v.into_bytes()));
    }
    w.sync().unwrap();
    assert!(segment::list(d.path()).unwrap().len() > 5);
    assert_eq!(read_all(d.path(), 0), expect);
    for from in [1u64, 17, 150, 299] {
        assert_eq!(read_all(d.path(), from), expect[from as usize..].to_vec());
    }
    let mut r = PartitionReader::open(d.path(), "t-0").unwrap();
    let t = r.tail().unwrap();
    assert_eq!(t.end_offset, 300);
    assert_eq!(t.durable_offset, 300);
    assert_eq!(r.offset_for_time(1000 + 123, &t).unwrap(), 123);
    assert_eq!(r.offset_for_time(0, &t).unwrap(), 0);
    assert_eq!(r.offset_for_time(99999, &t).unwrap(), 300);
}

#[test]
fn garbage_beyond_tail_is_invisible_then_truncated() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    append_values(&mut w, &[b"a", b"b"], 1);
    drop(w);
    let log = segment::path(d.path(), 0, "log");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&[0x55; 100]).unwrap();
    assert_eq!(read_all(d.path(), 0).len(), 2);
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    let a = append_values(&mut w, &[b"c"], 2);
    assert_eq!(a.base_offset, 2);
    let got: Vec<_> = read_all(d.path(), 0).into_iter().map(|x| x.1).collect();
    assert_eq!(got, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}

#[test]
fn whole_batches_beyond_tail_are_cut_not_adopted() {
    let d = tempfile::tempdir().unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    append_values(&mut w, &[b"a"], 1);
    let tail_before = std::fs::read(d.path().join("tail")).unwrap();
    append_values(&mut w, &[b"b"], 1);
    drop(w);
    // Simulate a writer that died after writing its batch but before publishing the tail.
    std::fs::write(d.path().join("tail"), &tail_before).unwrap();
    assert_eq!(read_all(d.path(), 0).len(), 1);
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    let a = append_values(&mut w, &[b"c"], 1);
    assert_eq!(
        a.base_offset, 1,
        "the uncommitted batch is gone, not adopted"
    );
    let got: Vec<_> = read_all(d.path(), 0).into_iter().map(|x| x.1).collect();
    assert_eq!(got, vec![b"a".to_vec(), b"c".to_vec()]);
}

/// A live writer whose view of the tail is current takes the fast path and never looks beyond
/// the end; a dead writer's longer leftovers must still not end up inside a sealed segment.
#[test]
fn leftovers_of_a_dead_writer_never_reach_a_sealed_segment() {
    let d = tempfile::tempdir().unwrap();
    let opts = WriterOptions {
        segment_bytes: 600,
        ..Default::default()
    };
    let mut live = PartitionWriter::open(d.path(), "t-0", opts.clone()).unwrap();
    append_values(&mut live, &[b"a"], 1);
    // The "dead" writer appends a large batch; then its tail is rolled back, as if it had
    // been killed between writing and publishing.
    let tail_before = std::fs::read(d.path().join("tail")).unwrap();
    let mut dead = PartitionWriter::open(d.path(), "t-0", opts).unwrap();
    let big = vec![b'z'; 200];
    append_values(&mut dead, &[&big, &big], 1);
    drop(dead);
    std::fs::write(d.path().join("tail"), &tail_before).unwrap();
    // The live writer's cached tail equals the published one: fast path, then a roll.
    for v in [b"b", b"c", b"d", b"e", b"f", b"g"] {
        let big = [v[0]; 150];
        append_values(&mut live, &[&big], 1);
    }
    assert!(segment::list(d.path()).unwrap().len() > 1);
    let got: Vec<_> = read_all(d.path(), 0).into_iter().map(|x| x.1[0]).collect();
    assert_eq!(got, b"abcdefg".to_vec());
    let r = PartitionReader::open(d.path(), "t-0").unwrap();
    let t = r.tail().unwrap();
    assert_eq!(t.end_offset, 7);
    assert!(
        verify::verify_partition(d.path(), "t-0", None)
            .unwrap()
            .problems
            .is_empty()
    );
}

#[test]
fn flipped_byte_below_durable_is_corruption() {
    use std::os::unix::fs::FileExt;
    let d = tempfile::tempdir().unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    for _ in 0..10 {
        append_values(&mut w, &[b"hello world"], 1);
    }
    w.sync().unwrap();
    let log = segment::path(d.path(), 0, "log");
    let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    let len = f.metadata().unwrap().len();
    f.write_all_at(&[0xEE], len / 2).unwrap();
    let mut r = PartitionReader::open(d.path(), "t-0").unwrap();
    let t = r.tail().unwrap();
    r.seek(0, &t).unwrap();
    let mut err = None;
    loop {
        match r.next_batch(&t) {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let e = err.expect("corruption must be reported");
    assert_eq!(e.exit_code(), 74);
    assert!(e.to_string().contains("t-0"), "{e}");
}

#[test]
fn missing_tail_is_rebuilt_from_segments() {
    let d = tempfile::tempdir().unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    append_values(&mut w, &[b"a", b"b", b"c"], 1);
    drop(w);
    std::fs::remove_file(d.path().join("tail")).unwrap();
    std::fs::remove_file(segment::path(d.path(), 0, "index")).unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    let t = w.recover().unwrap();
    assert_eq!(t.end_offset, 3);
    assert_eq!(read_all(d.path(), 1).len(), 2);
}

/// Indexes are caches: a wrong entry must send recovery back to a scan, not to exit 74.
#[test]
fn bad_index_entry_during_recovery_falls_back_to_a_scan() {
    use std::os::unix::fs::FileExt;
    let d = tempfile::tempdir().unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    let v = vec![b'v'; 1000];
    for _ in 0..40 {
        append_values(&mut w, &[&v], 1);
    }
    w.sync().unwrap();
    for _ in 0..3 {
        append_values(&mut w, &[&v], 1);
    }
    drop(w);
    // Point the last index entry 7 bytes past where its batch starts.
    let idx_path = segment::path(d.path(), 0, "index");
    let idx = std::fs::read(&idx_path).unwrap();
    assert!(idx.len() >= 32 + 16, "expected at least two index entries");
    let last = idx.len() - 8;
    let pos = u32::from_le_bytes(idx[last + 4..last + 8].try_into().unwrap());
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&idx_path)
        .unwrap();
    f.write_all_at(&(pos + 7).to_le_bytes(), (last + 4) as u64)
        .unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    let a = append_values(&mut w, &[b"after"], 1);
    assert_eq!(a.base_offset, 43);
    assert_eq!(read_all(d.path(), 0).len(), 44);
    assert!(
        verify::verify_partition(d.path(), "t-0", None)
            .unwrap()
            .problems
            .is_empty()
    );
}

/// A whole batch with a newer format version, in the range a crash could have torn, must be
/// refused (exit 74), not cut as if it were garbage: cutting would destroy a newer chute's data.
/// A batch a newer chute wrote (the second of two, unsynced: where a torn tail would be cut),
/// made by `edit` on a valid one and given a valid CRC, is refused (exit 74) and nothing is cut.
fn newer_batch_is_refused_never_cut(edit: impl Fn(&mut [u8])) {
    use std::os::unix::fs::FileExt;
    let d = tempfile::tempdir().unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    append_values(&mut w, &[b"old"], 1);
    w.sync().unwrap();
    append_values(&mut w, &[b"new"], 1);
    drop(w);
    let log = segment::path(d.path(), 0, "log");
    let bytes = std::fs::read(&log).unwrap();
    let second = 32 + batch::BatchHeader::parse(&bytes[32..]).unwrap().len();
    let mut b = bytes[second..].to_vec();
    edit(&mut b);
    let crc = batch::compute_crc(&b);
    b[16..20].copy_from_slice(&crc.to_le_bytes());
    let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.write_all_at(&b, second as u64).unwrap();
    let mut w = PartitionWriter::open(d.path(), "t-0", WriterOptions::default()).unwrap();
    let mut sb = batch::BatchBuilder::new();
    sb.push(None, Some(b"x"), 1, &[]);
    let err = w.append(&mut sb.seal()).unwrap_err();
    assert_eq!(err.exit_code(), 74);
    assert!(err.to_string().contains("newer chute"), "{err}");
    assert_eq!(
        std::fs::read(&log).unwrap().len(),
        bytes.len(),
        "nothing was cut"
    );
}

#[test]
fn batch_of_a_newer_format_is_refused_never_cut() {
    newer_batch_is_refused_never_cut(|b| b[20] = 2);
}

#[test]
fn batch_with_attributes_of_a_newer_chute_is_refused_never_cut() {
    // A bit a later chute may give a meaning (as this one gave bit 4 to the producer stamp).
    newer_batch_is_refused_never_cut(|b| b[21] = 0x20);
}
