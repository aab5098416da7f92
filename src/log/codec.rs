//! Batch compression: which codec a batch's records section is stored with, compressing it,
//! and a bounded streaming decoder for it.
//!
//! The codec is in the low three bits of the batch's `attributes` byte, with Kafka's codes
//! (docs/format.md), so a reader of the format who knows Kafka knows them. Each codec's own
//! streaming format is used, so a batch can be inflated a piece at a time: zstd frames, LZ4
//! frames, gzip members, and Snappy's framing format.

use std::io::Read;

/// Kafka's compression codes (attributes bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    #[default]
    #[value(name = "none", alias = "uncompressed")]
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

/// Bits of `attributes` that hold the codec; any other bit set is refused.
pub const MASK: u8 = 0x07;

/// Records sections this large are compressed as two streams in parallel.
pub(super) const PARALLEL_FROM: usize = 1 << 20;

/// No batch inflates to more than this: checked while inflating, so a batch crafted to expand
/// without end is refused as corrupt before it costs memory.
pub const MAX_INFLATED: u64 = 64 << 20;

impl Codec {
    pub fn from_attributes(a: u8) -> Option<Codec> {
        Some(match a & MASK {
            0 => Codec::None,
            1 => Codec::Gzip,
            2 => Codec::Snappy,
            3 => Codec::Lz4,
            4 => Codec::Zstd,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }

    /// A topic's `compression.type`: a codec, or `producer` (None: the producer chooses).
    pub fn from_topic_config(v: &str) -> Option<Codec> {
        match v {
            "producer" => None,
            "uncompressed" | "none" => Some(Codec::None),
            "gzip" => Some(Codec::Gzip),
            "snappy" => Some(Codec::Snappy),
            "lz4" => Some(Codec::Lz4),
            "zstd" => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// Levels each codec accepts (`--compression-level`); snappy has none.
    pub fn levels(self) -> Option<std::ops::RangeInclusive<i32>> {
        match self {
            Codec::Gzip => Some(1..=9),
            // Not 20-22: their window passes what a reader accepts (8 MiB, below).
            Codec::Zstd => Some(1..=19),
            Codec::Lz4 | Codec::Snappy | Codec::None => None,
        }
    }

    /// Compress `input` into `out` (appended). `level`: the codec's default when None. A large
    /// input is compressed as two streams, one on another thread, back to back: every codec's
    /// streaming format reads concatenated streams as one, and a producer uses both cores.
    pub fn compress(self, level: Option<i32>, input: &[u8], out: &mut Vec<u8>) {
        if self == Codec::None || input.len() < PARALLEL_FROM {
            return self.compress_one(level, input, out);
        }
        let (a, b) = input.split_at(input.len() / 2);
        let mut second = Vec::with_capacity(b.len() / 2);
        std::thread::scope(|s| {
            s.spawn(|| self.compress_one(level, b, &mut second));
            self.compress_one(level, a, out);
        });
        out.extend_from_slice(&second);
    }

    pub(super) fn compress_one(self, level: Option<i32>, input: &[u8], out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing into a Vec cannot fail; the codecs' own errors are for bad parameters, which
        // `levels` rules out.
        let mut e = self.encoder(level, Size::Exact(input.len()), out);
        e.write_all(input)
            .and_then(|()| e.finish().map(drop))
            .expect("compressing into memory");
    }

    /// A streaming encoder writing this codec's stream into `out`.
    pub(super) fn encoder<W: std::io::Write>(
        self,
        level: Option<i32>,
        size: Size,
        out: W,
    ) -> Encoder<W> {
        match self {
            Codec::None => Encoder::None(out),
            Codec::Gzip => {
                let lvl = flate2::Compression::new(level.unwrap_or(6).clamp(1, 9) as u32);
                Encoder::Gzip(flate2::write::GzEncoder::new(out, lvl))
            }
            Codec::Snappy => Encoder::Snappy(Box::new(snap::write::FrameEncoder::new(out))),
            Codec::Lz4 => Encoder::Lz4(lz4_flex::frame::FrameEncoder::new(out)),
            Codec::Zstd => {
                let lvl = level.unwrap_or(3).clamp(1, 19);
                // The size up front: zstd then sizes its window and tables for this input, not
                // for an unbounded stream (at level 19, 100 MB of tables per thread).
                let mut e = zstd::stream::write::Encoder::new(out, lvl).expect("zstd level");
                match size {
                    Size::Exact(n) => {
                        e.set_pledged_src_size(Some(n as u64))
                            .and_then(|()| e.include_contentsize(true))
                            .expect("zstd parameters");
                    }
                    Size::AtMost(n) => {
                        let hint = u32::try_from(n).unwrap_or(u32::MAX);
                        e.set_parameter(zstd::zstd_safe::CParameter::SrcSizeHint(hint))
                            .expect("zstd parameters");
                    }
                }
                Encoder::Zstd(e)
            }
        }
    }

    /// A streaming decoder of a records section stored with this codec. Each decoder's own
    /// memory is bounded (zstd's window is capped: a frame that asks for more is an error).
    pub fn decoder<'a>(self, stored: &'a [u8]) -> std::io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Codec::None => Box::new(stored),
            // Every member: a large section is compressed as two.
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(stored)),
            Codec::Snappy => Box::new(snap::read::FrameDecoder::new(stored)),
            Codec::Lz4 => Box::new(Lz4Frames(lz4_flex::frame::FrameDecoder::new(stored))),
            Codec::Zstd => {
                let mut d = zstd::stream::read::Decoder::with_buffer(stored)?;
                d.window_log_max(23)?; // 8 MiB, what zstd's levels up to 19 use
                Box::new(d)
            }
        })
    }
}

/// What an encoder is told of its input's size.
#[derive(Clone, Copy)]
pub(super) enum Size {
    Exact(usize),
    /// Unknown, at most this much (zstd sizes its tables for it).
    AtMost(usize),
}

/// A codec's streaming encoder.
pub(super) enum Encoder<W: std::io::Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    // Boxed: its encoder holds a 2 KiB table inline.
    Snappy(Box<snap::write::FrameEncoder<W>>),
    Lz4(lz4_flex::frame::FrameEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: std::io::Write> Encoder<W> {
    /// End the stream; the writer back.
    pub(super) fn finish(self) -> std::io::Result<W> {
        match self {
            Encoder::None(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Snappy(e) => e.into_inner().map_err(|e| e.into_error()),
            Encoder::Lz4(e) => e.finish().map_err(std::io::Error::other),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: std::io::Write> std::io::Write for Encoder<W> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Snappy(e) => e.write(buf),
            Encoder::Lz4(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Snappy(e) => e.flush(),
            Encoder::Lz4(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

/// LZ4 frames back to back as one stream: lz4_flex's decoder reports the end of each frame as
/// the end of input (a read of 0); the next read starts the next frame.
struct Lz4Frames<'a>(lz4_flex::frame::FrameDecoder<&'a [u8]>);

impl Read for Lz4Frames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let left = self.0.get_ref().len();
            let n = self.0.read(buf)?;
            let rest = self.0.get_ref().len();
            // More frames follow only if input is left; stop if a read consumed none of it.
            if n > 0 || buf.is_empty() || rest == 0 || rest == left {
                return Ok(n);
            }
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_and_names_itself() {
        // Large enough to be compressed as two streams.
        let input: Vec<u8> = (0..700_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        assert!(input.len() >= PARALLEL_FROM);
        for c in [
            Codec::None,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd,
        ] {
            let mut out = Vec::new();
            c.compress(None, &input, &mut out);
            // Read as the batch reader does: a window at a time, until a read returns 0.
            let mut back = Vec::new();
            let mut d = c.decoder(&out).unwrap();
            let mut window = vec![0u8; 64 << 10];
            loop {
                let n = d.read(&mut window).unwrap();
                if n == 0 {
                    break;
                }
                back.extend_from_slice(&window[..n]);
            }
            assert_eq!(back, input, "{c}");
            assert_eq!(Codec::from_attributes(c as u8), Some(c));
            assert_eq!(Codec::from_topic_config(c.name()), Some(c));
        }
        assert_eq!(Codec::from_attributes(5), None);
        assert_eq!(Codec::from_topic_config("producer"), None);
    }
}
