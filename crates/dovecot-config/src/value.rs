//! Parsers for Dovecot's setting value types (booleans, numbers, sizes, time intervals),
//! with doveconf's error wording. Mirrors the rules of dovecot/core@2.3.19.1
//! src/lib-settings/settings-parser.c (facts only; see `spec/config.md` §2.2).

use std::time::Duration;

/// Parses a boolean: `yes`/`y`/`1` (case-insensitive) are true, `no` is false; anything else
/// (including `0` and `n`, observed with doveconf 2.3.19) is an error.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        v if v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("y") || v == "1" => Ok(true),
        v if v.eq_ignore_ascii_case("no") => Ok(false),
        v => Err(format!("Invalid boolean value: {v} (use yes or no)")),
    }
}

/// Parses an unsigned decimal number that must fit in `u32`.
pub fn parse_u32(value: &str) -> Result<u32, String> {
    let n = parse_u64(value)?;
    u32::try_from(n).map_err(|_| format!("Invalid number {value}: Number too large"))
}

/// Parses an unsigned decimal number (leading zeros allowed, still decimal).
pub fn parse_u64(value: &str) -> Result<u64, String> {
    if let Some(rest) = value.strip_prefix('-')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("Invalid number {value}: Number too small"));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Invalid number {value}: Not a valid number"));
    }
    value.parse::<u64>().map_err(|_| format!("Invalid number {value}: Number too large"))
}

/// Splits `"10 k"` into the number and the (trimmed) unit.
fn split_number(value: &str) -> Option<(u64, &str)> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n = value[..digits].parse::<u64>().ok()?;
    Some((n, value[digits..].trim_start_matches([' ', '\t'])))
}

/// Parses a size in bytes: a number with an optional unit `B`, `K`, `M`, `G`, `T`
/// (1024-based, case-insensitive), optionally followed by `i` and/or `B`.
pub fn parse_size(value: &str) -> Result<u64, String> {
    let err = || format!("Invalid size: {value}");
    let (n, unit) = split_number(value).ok_or_else(err)?;
    let lower = unit.to_ascii_lowercase();
    let (mult, rest): (u64, &str) = match lower.as_bytes().first() {
        None => (1, ""),
        Some(b'b') => (1, &lower[1..]),
        Some(b'k') => (1 << 10, &lower[1..]),
        Some(b'm') => (1 << 20, &lower[1..]),
        Some(b'g') => (1 << 30, &lower[1..]),
        Some(b't') => (1 << 40, &lower[1..]),
        Some(_) => return Err(err()),
    };
    let rest = rest.strip_prefix('i').unwrap_or(rest);
    if !(rest.is_empty() || (rest == "b" && mult > 1)) {
        return Err(err());
    }
    n.checked_mul(mult).ok_or_else(err)
}

/// Time units: accepted spellings and their length in milliseconds.
const TIME_UNITS: &[(&[&str], u64)] = &[
    (&["ms", "msec", "msecs", "millisecond", "milliseconds"], 1),
    (&["s", "sec", "secs", "second", "seconds"], 1000),
    (&["m", "min", "mins", "minute", "minutes"], 60_000),
    (&["h", "hour", "hours"], 3_600_000),
    (&["d", "day", "days"], 86_400_000),
    (&["w", "week", "weeks"], 604_800_000),
];

/// Parses a time interval with second precision (`30 secs`, `5m`, `1 weeks`, `0`).
/// Milliseconds are allowed only when they make whole seconds.
pub fn parse_time(value: &str) -> Result<Duration, String> {
    let ms = parse_time_msecs(value)?;
    if ms % 1000 != 0 {
        return Err(format!("Milliseconds not supported for this setting: {value}"));
    }
    Ok(Duration::from_millis(ms))
}

/// Parses a time interval with millisecond precision.
pub fn parse_time_msecs(value: &str) -> Result<u64, String> {
    let (n, unit) = split_number(value).ok_or_else(|| format!("Invalid time interval: {value}"))?;
    if unit.is_empty() {
        if n == 0 {
            return Ok(0);
        }
        return Err(format!("Time interval '{value}' is missing units (add e.g. 's' for seconds)"));
    }
    let lower = unit.to_ascii_lowercase();
    let mult = TIME_UNITS
        .iter()
        .find(|(names, _)| names.contains(&lower.as_str()))
        .map(|(_, m)| *m)
        .ok_or_else(|| format!("Invalid time interval: {value}"))?;
    n.checked_mul(mult).ok_or_else(|| format!("Invalid time interval: {value}"))
}

/// Splits a space-separated list setting (`mail_plugins = quota sieve`) into words.
pub fn parse_list(value: &str) -> Vec<String> {
    value.split([' ', '\t', ',']).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("YES"), Ok(true));
        assert_eq!(parse_bool("y"), Ok(true));
        assert_eq!(parse_bool("1"), Ok(true));
        assert_eq!(parse_bool("no"), Ok(false));
        assert_eq!(
            parse_bool("maybe").unwrap_err(),
            "Invalid boolean value: maybe (use yes or no)"
        );
        assert!(parse_bool("N").is_err());
        assert!(parse_bool("0").is_err());
        assert!(parse_bool("").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32("010"), Ok(10));
        assert_eq!(parse_u32("abc").unwrap_err(), "Invalid number abc: Not a valid number");
        assert_eq!(parse_u32("-1").unwrap_err(), "Invalid number -1: Number too small");
        assert_eq!(
            parse_u32("99999999999").unwrap_err(),
            "Invalid number 99999999999: Number too large"
        );
    }

    #[test]
    fn sizes_use_1024_units() {
        for v in ["10k", "10 KiB", "10kB", "10 k", "10 kib"] {
            assert_eq!(parse_size(v), Ok(10240), "{v}");
        }
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("1 M"), Ok(1 << 20));
        assert_eq!(parse_size("18446744073709551615 B"), Ok(u64::MAX));
        assert_eq!(parse_size("10X").unwrap_err(), "Invalid size: 10X");
        assert!(parse_size("abc").is_err());
    }

    #[test]
    fn time_intervals() {
        assert_eq!(parse_time("30 secs"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_time("5 mins"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_time("1 weeks"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_time("3000 msecs"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_time("0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_time("5").unwrap_err(),
            "Time interval '5' is missing units (add e.g. 's' for seconds)"
        );
        assert_eq!(
            parse_time("2500ms").unwrap_err(),
            "Milliseconds not supported for this setting: 2500ms"
        );
        assert_eq!(parse_time("5x").unwrap_err(), "Invalid time interval: 5x");
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list(" quota  sieve "), vec!["quota", "sieve"]);
        assert!(parse_list("").is_empty());
    }
}
