//! RFC 3339 timestamps in UTC, to and from unix milliseconds.
//!
//! The APIs speak ISO 8601 (`2024-01-21T10:30:00Z`, as the InsForge seed
//! shows); the store keeps integers. Conversion is the proleptic Gregorian
//! calendar arithmetic of Howard Hinnant's `days_from_civil`, so no date
//! library is needed.

/// Formats unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn to_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (a space may stand for
/// the `T`; a bare date means midnight UTC) into unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(range)?;
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date_ms = days_from_civil(year, month, day) * 86_400_000;
    if b.len() == 10 {
        return Some(date_ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = b.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let first3: String = frac.iter().take(3).map(|&c| c as char).collect();
        millis = format!("{first3:0<3}").parse().ok()?;
    }
    let offset_min = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let v = |x: u8, y: u8| i64::from(x - b'0') * 10 + i64::from(y - b'0');
            let minutes = v(*h1, *h2) * 60 + v(*m1, *m2);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    Some(date_ms + ((hour * 60 + minute - offset_min) * 60 + second) * 1000 + millis)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A future moment as people write it on a command line, relative to
/// `now` (unix ms): a duration (`90m`, `12h`, `30d`, `2w`), `tomorrow`
/// (this time tomorrow), a date (midnight UTC) or an RFC 3339 time. The
/// caller decides whether a past result is acceptable.
pub fn parse_when(text: &str, now: i64) -> Option<i64> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("tomorrow") {
        return now.checked_add(86_400_000);
    }
    let unit = match text.chars().last()? {
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        'w' => Some(7 * 86_400_000),
        _ => None,
    };
    if let Some(unit) = unit {
        let count = &text[..text.len() - 1];
        if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) {
            let count: i64 = count.parse().ok()?;
            return now.checked_add(count.checked_mul(unit)?);
        }
    }
    parse_rfc3339(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(to_rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2024-01-21T10:30:00Z, from the InsForge seed's examples.
        assert_eq!(
            parse_rfc3339("2024-01-21T10:30:00Z"),
            Some(1_705_833_000_000)
        );
        assert_eq!(to_rfc3339(1_705_833_000_000), "2024-01-21T10:30:00.000Z");
        assert_eq!(
            parse_rfc3339("2024-01-21T12:30:00+02:00"),
            Some(1_705_833_000_000)
        );
        assert_eq!(
            parse_rfc3339("2024-01-21T10:30:00.5Z"),
            Some(1_705_833_000_500)
        );
        assert_eq!(parse_rfc3339("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(parse_rfc3339("2023-02-29"), None);
        for bad in [
            "",
            "2024-1-21",
            "2024-01-21T10:30Z",
            "2024-01-21T25:00:00Z",
            "yesterday",
            "2024-01-21T10:30:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(ms in -62_135_596_800_000i64..253_402_300_799_999) {
            prop_assert_eq!(parse_rfc3339(&to_rfc3339(ms)), Some(ms));
        }
    }

    #[test]
    fn when_reads_durations_tomorrow_and_dates() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_when("90m", now), Some(now + 90 * 60_000));
        assert_eq!(parse_when("12h", now), Some(now + 12 * 3_600_000));
        assert_eq!(parse_when("30d", now), Some(now + 30 * 86_400_000));
        assert_eq!(parse_when("2w", now), Some(now + 14 * 86_400_000));
        assert_eq!(parse_when("Tomorrow", now), Some(now + 86_400_000));
        assert_eq!(
            parse_when("2027-01-01", now),
            parse_rfc3339("2027-01-01T00:00:00Z")
        );
        for bad in [
            "",
            "d",
            "-3d",
            "3x",
            "soon",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_when(bad, now), None, "{bad:?}");
        }
    }
}
