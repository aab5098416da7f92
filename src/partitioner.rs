//! Partitioners: which partition a record goes to, by the producers chute matches.
//!
//! - `murmur2`: the Java producer's default for keyed records, `toPositive(murmur2(key)) % n`,
//!   so keys land where a Java Kafka producer puts them.
//! - `crc32`: librdkafka's `consistent` partitioner, `crc32(key) % n` (the zlib CRC-32), so keys
//!   land where kcat and other librdkafka clients put them with `partitioner=consistent`.
//! - `round-robin`: record by record over the partitions, keys ignored (Kafka's
//!   RoundRobinPartitioner).
//! - `sticky`: every record to the current sticky partition, keys ignored (Kafka's
//!   UniformStickyPartitioner).
//! - `random`: a random partition per record, keys ignored (librdkafka's `random`).
//!
//! Records without a key under a hashing partitioner follow Kafka's rule: sticky.

/// Kafka's `Utils.murmur2` (seed 0x9747b28c), bit for bit.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    // Java's switch falls through from 3 to 1.
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    (to_positive(murmur2(key)) as u32) % partitions
}

/// librdkafka's `rd_kafka_msg_partitioner_consistent`: `rd_crc32(key) % partition_cnt`.
pub fn crc32_partition(key: &[u8], partitions: u32) -> u32 {
    crc32fast::hash(key) % partitions
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Partitioner {
    #[default]
    Murmur2,
    Crc32,
    RoundRobin,
    Sticky,
    Random,
}

impl Partitioner {
    pub fn name(self) -> &'static str {
        match self {
            Partitioner::Murmur2 => "murmur2",
            Partitioner::Crc32 => "crc32",
            Partitioner::RoundRobin => "round-robin",
            Partitioner::Sticky => "sticky",
            Partitioner::Random => "random",
        }
    }

    pub const NAMES: [&'static str; 5] = ["murmur2", "crc32", "round-robin", "sticky", "random"];

    pub fn from_name(s: &str) -> Option<Partitioner> {
        Some(match s {
            "murmur2" => Partitioner::Murmur2,
            "crc32" => Partitioner::Crc32,
            "round-robin" => Partitioner::RoundRobin,
            "sticky" => Partitioner::Sticky,
            "random" => Partitioner::Random,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_test_vectors() {
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }

    #[test]
    fn crc32_is_librdkafkas_consistent_partitioner() {
        // rd_crc32 is zlib's CRC-32: the check value of "123456789" is 0xcbf43926.
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32_partition(b"123456789", 7), 0xcbf4_3926 % 7);
        assert_eq!(crc32_partition(b"", 5), 0);
    }

    #[test]
    fn partition_is_in_range_and_positive() {
        assert_eq!(partition_for_key(b"21", 1), 0);
        assert_eq!(partition_for_key(b"21", 8), (1173551340 % 8) as u32);
        for n in 1..50 {
            assert!(partition_for_key(b"key", n) < n);
        }
    }
}
