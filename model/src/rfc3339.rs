//! RFC 3339 timestamps as the server writes them (`2026-11-01T08:30:00.123Z`, or with an
//! offset), read without chrono's general-purpose parser: the widgets (builds without the
//! `server` feature) decode the timestamps of what a resident reads through these, and their
//! wasm carries ~20 KB less code. The server keeps chrono's own `Deserialize`.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::de::{Deserialize, Deserializer, Error};

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `None` for anything else.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start).min(9)..9 {
            nanos *= 10;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let v = i64::from(num(i + 1, i + 3)? * 3600 + num(i + 4, i + 6)? * 60);
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let local = date.and_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    local
        .and_utc()
        .checked_sub_signed(TimeDelta::try_seconds(offset)?)
}

/// `deserialize_with` for a `DateTime<Utc>` field.
pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).ok_or_else(|| D::Error::custom("not an RFC 3339 timestamp"))
}

/// `deserialize_with` for an `Option<DateTime<Utc>>` field (with `default`: absent is `None`).
pub fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse(&s).ok_or_else(|| D::Error::custom("not an RFC 3339 timestamp")))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_chrono_writes_and_agrees_with_chronos_parser() {
        let samples = [
            "2026-11-01T00:00:00Z",
            "2026-11-01T08:30:05.123Z",
            "2026-02-28T23:59:59.123456789Z",
            "2026-12-31T23:59:59.5+08:00",
            "2024-02-29T12:00:00-05:30",
            "1999-01-01t00:00:00.000001z",
            "2026-11-01 08:30:00+00:00",
        ];
        for s in samples {
            let ours = parse(s).unwrap_or_else(|| panic!("{s}"));
            let chronos: DateTime<Utc> = s.parse().expect("chrono parses it");
            assert_eq!(ours, chronos, "{s}");
        }
        let now = Utc::now();
        let written = serde_json::to_string(&now).unwrap();
        assert_eq!(
            de(&mut serde_json::Deserializer::from_str(&written)).unwrap(),
            now
        );
    }

    #[test]
    fn refuses_what_is_not_a_timestamp() {
        for s in [
            "",
            "2026-11-01",
            "2026-11-01T00:00:00",
            "2026-11-01T00:00:00ZZ",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-01T24:00:00Z",
            "2026-11-01T00:00:00.Z",
            "2026-11-01T00:00:00+0800",
            "2026-11-01T00:00:00+08:0x",
            "２026-11-01T00:00:00Z",
            "-026-11-01T00:00:00Z",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn absent_and_null_optional_timestamps_are_none() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "de_opt")]
            at: Option<DateTime<Utc>>,
        }
        let t: T = serde_json::from_str("{}").unwrap();
        assert_eq!(t.at, None);
        let t: T = serde_json::from_str(r#"{"at":null}"#).unwrap();
        assert_eq!(t.at, None);
        let t: T = serde_json::from_str(r#"{"at":"2026-11-01T00:00:00Z"}"#).unwrap();
        assert!(t.at.is_some());
        assert!(serde_json::from_str::<T>(r#"{"at":"yesterday"}"#).is_err());
    }
}
