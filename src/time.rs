//! The one parser for points in time, for every command and input format (on `jiff`).
//!
//! Accepted, in this order:
//! - milliseconds since the Unix epoch, negative before 1970 (`1732000000000`, `-86400000`);
//! - an RFC 3339 / ISO 8601 time with a zone offset (`2026-11-20T10:00:00Z`,
//!   `2026-11-20T10:00:00+01:00`, `1969-07-20T20:17:40Z`), to the nanosecond, cut to ms;
//! - a date and time without a zone (`2026-11-20T10:00`, `2026-11-20 10:00:00`), read in the
//!   local time zone (`TZ`), as `date` does;
//! - for command-line flags only: a duration meaning that long ago (`2h`, `30m`, `7d`).

use crate::error::{Error, Result};
use std::time::Duration;

/// A point in time from a command-line flag (`--since`, `--at`, ...), as ms since the epoch.
/// Parsed by [`FromStr`](std::str::FromStr), which clap calls as the flags' value parser; a
/// duration ("2h") means that long before the moment it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub i64);

impl Time {
    pub fn ms(self) -> i64 {
        self.0
    }

    /// A duration (as every duration flag takes it: `2h`, `30m`, `500` ms) before now: the
    /// value parser of `offsets reset --by-duration`.
    pub fn ago(s: &str) -> std::result::Result<Time, String> {
        let d = parse_duration_ms(s)?;
        let ago = i64::try_from(d).unwrap_or(i64::MAX);
        Ok(Time(crate::fsutil::now_ms().saturating_sub(ago)))
    }
}

impl std::str::FromStr for Time {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Time, String> {
        let t = s.trim();
        if let Some(ms) = parse_instant(t) {
            return Ok(Time(ms));
        }
        // Not an integer (that was epoch ms), so a duration has a unit here.
        if let Ok(ago) = Time::ago(t) {
            return Ok(ago);
        }
        Err(
            "expected a time like 2026-11-20T10:00:00Z (or with an offset, or local without \
             one), a duration ago like 2h, or epoch milliseconds"
                .into(),
        )
    }
}

/// A point in time from a command-line flag: ms since the epoch ([`Time`], with errors that
/// name the flag, for callers outside clap).
pub fn parse_time(s: &str, flag: &str) -> Result<i64> {
    s.parse::<Time>()
        .map(Time::ms)
        .map_err(|e| Error::Usage(format!("{flag} {s:?}: {e}")))
}

/// A point in time given in data (a JSON or CSV `timestamp`) or a flag: ms since the epoch.
pub fn parse_instant(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    // Zone-less: local civil time. A time that does not exist or is ambiguous (DST change)
    // resolves as jiff's "compatible" rule, as Temporal and `date` do.
    let civil = t.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        t.replacen(' ', "T", 1)
            .parse::<jiff::civil::DateTime>()
            .ok()
    })?;
    let ts = jiff::tz::TimeZone::system().to_timestamp(civil).ok()?;
    Some(ts.as_millisecond())
}

/// A duration: plain milliseconds, or a humantime span ("500ms", "10s", "2h", "7d"). The one
/// duration parser: topic configs and every duration flag use it.
pub fn parse_duration_ms(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    humantime::parse_duration(t)
        .map(|d| d.as_millis() as u64)
        .map_err(|e| format!("{s:?} is not a duration ({e}; examples: 500ms, 10s, 2h, 7d)"))
}

/// [`parse_duration_ms`] as a [`Duration`]: the value parser of every duration flag.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    parse_duration_ms(s).map(Duration::from_millis)
}

/// A span of milliseconds as a table shows an age: the two largest units, `45s`, `3m12s`,
/// `2h5m`, `3d4h`.
pub fn format_age(ms: u64) -> String {
    let s = ms / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) if ms < 1000 => format!("{ms}ms"),
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) if sec == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m{sec}s"),
        (0, _, _) if m == 0 => format!("{h}h"),
        (0, _, _) => format!("{h}h{m}m"),
        _ if h == 0 => format!("{d}d"),
        _ => format!("{d}d{h}h"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_show_the_two_largest_units() {
        use super::format_age;
        for (ms, want) in [
            (0, "0ms"),
            (999, "999ms"),
            (1000, "1s"),
            (59_999, "59s"),
            (60_000, "1m"),
            (192_000, "3m12s"),
            (3_600_000, "1h"),
            (7_500_000, "2h5m"),
            (86_400_000, "1d"),
            (100_000_000, "1d3h"),
        ] {
            assert_eq!(format_age(ms), want, "{ms}");
        }
    }

    use super::*;

    #[test]
    fn instants_before_and_after_1970_with_zones_and_offsets() {
        assert_eq!(parse_instant("0"), Some(0));
        assert_eq!(parse_instant("-86400000"), Some(-86_400_000));
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("1969-12-31T00:00:00Z"), Some(-86_400_000));
        assert_eq!(
            parse_instant("1969-07-20T20:17:40.5Z"),
            Some(-14_182_939_500)
        );
        assert_eq!(
            parse_instant("2026-11-20T10:00:00+01:00"),
            parse_instant("2026-11-20T09:00:00Z")
        );
        assert_eq!(parse_instant("soon"), None);
    }

    #[test]
    fn flags_take_durations_ago_and_name_themselves_when_wrong() {
        let now = crate::fsutil::now_ms();
        let t = parse_time("2h", "--since").unwrap();
        assert!((now - 7_200_000 - t).abs() < 60_000);
        let e = parse_time("yesterdayish", "--since").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--since \"yesterdayish\""));
    }

    #[test]
    fn flag_values_parse_as_times_and_durations_ago() {
        let now = crate::fsutil::now_ms();
        assert_eq!("1700000000000".parse(), Ok(Time(1_700_000_000_000)));
        assert_eq!(" 1970-01-01T00:00:01Z ".parse(), Ok(Time(1000)));
        let t: Time = "30m".parse().unwrap();
        assert!((now - 1_800_000 - t.ms()).abs() < 60_000);
        let t = Time::ago("1500").unwrap();
        assert!(
            (now - 1_500 - t.ms()).abs() < 60_000,
            "a bare number is ms, as for --timeout"
        );
        assert!(
            "whenever"
                .parse::<Time>()
                .unwrap_err()
                .contains("epoch milliseconds")
        );
        assert!(Time::ago("2026-11-20T10:00:00Z").is_err());
    }
}
