//! The one parser for points in time, for every command and input format (on `jiff`).
//!
//! Accepted, in this order:
//! - milliseconds since the Unix epoch, negative before 1970 (`1732000000000`, `-86400000`);
//! - an RFC 3339 / ISO 8601 time with a zone offset (`2026-11-20T10:00:00Z`,
//!   `2026-11-20T10:00:00+01:00`, `date -Iseconds` output, `1969-07-20T20:17:40Z`), to the
//!   nanosecond, cut to ms;
//! - a date and time without a zone (`2026-11-20T10:00`, `2026-11-20 10:00:00`), read in the
//!   local time zone (`TZ`, else the system's), as `date` does;
//! - a date alone (`2026-11-20`): 00:00 local time that day;
//! - for command-line flags only (not in data): `now`; `today`, `yesterday`, `tomorrow` (00:00
//!   local time of that day, as journalctl reads them); a time of day (`09:00`, `09:00:30`:
//!   today, local time); a duration meaning that long ago (`2h`, `30m`, `7d`).
//!
//! A local time that does not exist or is ambiguous (a DST change) resolves by jiff's
//! "compatible" rule, as Temporal and `date` do.

use crate::error::{Error, Result};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::time::Duration;

/// A point in time from a command-line flag (`--since`, `--at`, ...), as ms since the epoch.
/// Parsed by [`FromStr`](std::str::FromStr), which clap calls as the flags' value parser;
/// relative forms ("2h", "yesterday", "09:00") are taken relative to the moment it is parsed.
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
        Ok(Time(Timestamp::now().as_millisecond().saturating_sub(ago)))
    }

    /// A flag's value relative to `now`, local times in `tz` (the value parser, made testable).
    pub fn parse_at(s: &str, now: Timestamp, tz: &TimeZone) -> std::result::Result<Time, String> {
        let t = s.trim();
        if let Some(ms) = parse_instant_in(t, tz) {
            return Ok(Time(ms));
        }
        let today = now.to_zoned_datetime(tz.clone()).date();
        let day = match t.to_ascii_lowercase().as_str() {
            "now" => return Ok(Time(now.as_millisecond())),
            "today" => Some(today),
            "yesterday" => today.yesterday().ok(),
            "tomorrow" => today.tomorrow().ok(),
            _ => None,
        };
        if let Some(ms) = day.and_then(|d| start_of_day(d, tz)) {
            return Ok(Time(ms));
        }
        if let Ok(tod) = t.parse::<jiff::civil::Time>()
            && let Ok(ts) = tz.to_timestamp(today.to_datetime(tod))
        {
            return Ok(Time(ts.as_millisecond()));
        }
        // Not an integer (that was epoch ms), so a duration has a unit here.
        if let Ok(d) = parse_duration_ms(t) {
            let ago = i64::try_from(d).unwrap_or(i64::MAX);
            return Ok(Time(now.as_millisecond().saturating_sub(ago)));
        }
        Err(
            "expected a time like 2026-11-20T10:00:00Z (or with an offset, or local without \
             one: 2026-11-20 10:00, 2026-11-20, 09:00), today, yesterday, now, a duration ago \
             like 2h, or epoch milliseconds"
                .into(),
        )
    }
}

impl std::str::FromStr for Time {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Time, String> {
        Time::parse_at(s, Timestamp::now(), &TimeZone::system())
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
/// Local times are in the system's zone (`TZ`).
pub fn parse_instant(s: &str) -> Option<i64> {
    parse_instant_in(s, &TimeZone::system())
}

/// [`parse_instant`] with local times in `tz`.
pub fn parse_instant_in(s: &str, tz: &TimeZone) -> Option<i64> {
    let t = s.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let civil = t.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        t.replacen(' ', "T", 1)
            .parse::<jiff::civil::DateTime>()
            .ok()
    });
    if let Some(dt) = civil {
        return tz.to_timestamp(dt).ok().map(|ts| ts.as_millisecond());
    }
    // A date alone. jiff also reads "2026-11-20" as a DateTime at midnight, but not in every
    // version; and a day may not start at 00:00 where DST begins at midnight.
    let d = t.parse::<jiff::civil::Date>().ok()?;
    start_of_day(d, tz)
}

/// The first instant of day `d` in `tz`.
fn start_of_day(d: jiff::civil::Date, tz: &TimeZone) -> Option<i64> {
    d.to_zoned_datetime(tz.clone())
        .and_then(|z| z.start_of_day())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
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

/// A timestamp (ms since the epoch) written with a strftime `pattern` in `tz`: the one time
/// formatter (`--format '%T{%F %T}'`). Fails on a pattern jiff does not know.
pub fn format_ms(ms: i64, pattern: &str, tz: &TimeZone) -> std::result::Result<String, String> {
    let ts = Timestamp::from_millisecond(ms).map_err(|e| e.to_string())?;
    jiff::fmt::strtime::format(pattern, &ts.to_zoned_datetime(tz.clone()))
        .map_err(|e| format!("time format {pattern:?}: {e}"))
}

/// A span of milliseconds as a table shows an age: the two largest units, `45s`, `3m12s`,
/// `2h5m`, `3d4h`.
/// When `at_ms` (epoch milliseconds) was, relative to `now_ms`, for tables: "3m ago" ("just
/// now" under a second; a clock step that puts it ahead reads "now" rather than a negative age).
pub fn format_ago(at_ms: i64, now_ms: i64) -> String {
    let age = now_ms.saturating_sub(at_ms);
    if age < 1000 {
        return "just now".into();
    }
    format!("{} ago", format_age(age as u64))
}

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
    fn relative_times_read_as_ages() {
        use super::format_ago;
        let now = 1_800_000_000_000;
        assert_eq!(format_ago(now - 200, now), "just now");
        assert_eq!(format_ago(now + 5000, now), "just now");
        assert_eq!(format_ago(now - 185_000, now), "3m5s ago");
        assert_eq!(format_ago(now - 2 * 86_400_000, now), "2d ago");
    }

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

    /// The forms a user types, with "now" fixed and local times in several zones (what `TZ`
    /// selects: `TimeZone::system()` reads it), each answer written out in UTC.
    #[test]
    fn the_forms_a_user_types_in_several_zones() {
        let now: Timestamp = "2026-11-27T15:30:00Z".parse().unwrap();
        let utc = |s: &str| s.parse::<Timestamp>().unwrap().as_millisecond();
        // Forms with their own zone, or none needed, answer the same everywhere.
        let absolute = [
            ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00Z"),
            ("2026-11-27T10:00:00+05:30", "2026-11-27T04:30:00Z"),
            ("2026-11-27T10:00:00-08:00", "2026-11-27T18:00:00Z"),
            ("2026-11-27T10:00:00.123456789Z", "2026-11-27T10:00:00.123Z"),
            ("1764237600000", "2025-11-27T10:00:00Z"),
            ("now", "2026-11-27T15:30:00Z"),
            ("NOW", "2026-11-27T15:30:00Z"),
            ("2h", "2026-11-27T13:30:00Z"),
            ("90m", "2026-11-27T14:00:00Z"),
            ("1d", "2026-11-26T15:30:00Z"),
        ];
        // (zone, [(input, UTC answer)]): local forms.
        let local: [(&str, [(&str, &str); 7]); 4] = [
            (
                "UTC",
                [
                    ("2026-11-27 09:00", "2026-11-27T09:00:00Z"),
                    ("2026-11-27T09:00:30", "2026-11-27T09:00:30Z"),
                    ("2026-11-27", "2026-11-27T00:00:00Z"),
                    ("today", "2026-11-27T00:00:00Z"),
                    ("yesterday", "2026-11-26T00:00:00Z"),
                    ("tomorrow", "2026-11-28T00:00:00Z"),
                    ("09:00", "2026-11-27T09:00:00Z"),
                ],
            ),
            (
                // EST, UTC-5, in November.
                "America/New_York",
                [
                    ("2026-11-27 09:00", "2026-11-27T14:00:00Z"),
                    ("2026-11-27T09:00:30", "2026-11-27T14:00:30Z"),
                    ("2026-11-27", "2026-11-27T05:00:00Z"),
                    ("today", "2026-11-27T05:00:00Z"),
                    ("yesterday", "2026-11-26T05:00:00Z"),
                    ("tomorrow", "2026-11-28T05:00:00Z"),
                    ("09:00", "2026-11-27T14:00:00Z"),
                ],
            ),
            (
                // UTC+5:30: it is 21:00 there.
                "Asia/Kolkata",
                [
                    ("2026-11-27 09:00", "2026-11-27T03:30:00Z"),
                    ("2026-11-27T09:00:30", "2026-11-27T03:30:30Z"),
                    ("2026-11-27", "2026-11-26T18:30:00Z"),
                    ("today", "2026-11-26T18:30:00Z"),
                    ("yesterday", "2026-11-25T18:30:00Z"),
                    ("tomorrow", "2026-11-27T18:30:00Z"),
                    ("09:00", "2026-11-27T03:30:00Z"),
                ],
            ),
            (
                // NZDT, UTC+13: it is already 04:30 on the 28th there.
                "Pacific/Auckland",
                [
                    ("2026-11-27 09:00", "2026-11-26T20:00:00Z"),
                    ("2026-11-27T09:00:30", "2026-11-26T20:00:30Z"),
                    ("2026-11-27", "2026-11-26T11:00:00Z"),
                    ("today", "2026-11-27T11:00:00Z"),
                    ("yesterday", "2026-11-26T11:00:00Z"),
                    ("tomorrow", "2026-11-28T11:00:00Z"),
                    ("09:00", "2026-11-27T20:00:00Z"),
                ],
            ),
        ];
        for (zone, cases) in local {
            let tz = TimeZone::get(zone).unwrap();
            for (input, want) in absolute.iter().chain(cases.iter()) {
                assert_eq!(
                    Time::parse_at(input, now, &tz),
                    Ok(Time(utc(want))),
                    "{input:?} in {zone}"
                );
            }
        }
        // A local time that does not exist (New York skips 02:00-03:00 on 2026-03-08) is read
        // as the compatible rule says: an hour later.
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            Time::parse_at("2026-03-08 02:30", now, &ny),
            Ok(Time(utc("2026-03-08T07:30:00Z")))
        );
        // Data takes the absolute and local date-time forms, never the relative words.
        assert_eq!(
            parse_instant_in("2026-11-27", &ny),
            Some(utc("2026-11-27T05:00:00Z"))
        );
        assert_eq!(parse_instant_in("yesterday", &ny), None);
        assert_eq!(parse_instant_in("09:00", &ny), None);
        for bad in ["", "yesterdayish", "25:00", "2026-13-01", "2026-11-27 9am"] {
            let e = Time::parse_at(bad, now, &ny).unwrap_err();
            assert!(e.contains("yesterday"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn flags_take_durations_ago_and_name_themselves_when_wrong() {
        let now = Timestamp::now().as_millisecond();
        let t = parse_time("2h", "--since").unwrap();
        assert!((now - 7_200_000 - t).abs() < 60_000);
        let e = parse_time("yesterdayish", "--since").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--since \"yesterdayish\""));
    }

    #[test]
    fn flag_values_parse_as_times_and_durations_ago() {
        let now = Timestamp::now().as_millisecond();
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
