//! Evaluation of the date, duplicate, spamtest/virustest and enotify tests.

use mail_parser::DateTime;

use crate::program::{DateTest, DuplicateTest, ScoreTest, Test};

use super::{Machine, RuntimeError};

/// Default `duplicate` period (Pigeonhole's `sieve_duplicate_default_period`, 14 days).
const DUPLICATE_DEFAULT_PERIOD: u64 = 14 * 86400;

impl Machine<'_> {
    /// Tests not handled in `eval.rs`.
    pub(crate) fn test_more(&mut self, t: &Test) -> Result<bool, RuntimeError> {
        match t {
            Test::Date(d) => self.date_test(d),
            Test::Duplicate(d) => self.duplicate_test(d),
            Test::Score(s) => self.score_test(s),
            Test::NotifyMethodCapability { uri, capability, keys, spec } => {
                let (uri, cap) = (self.eval(uri), self.eval(capability));
                // For mailto the only capability is "online", and its answer is "maybe".
                if !valid_mailto(&uri) || !cap.eq_ignore_ascii_case("online") {
                    return Ok(false);
                }
                self.match_keys(vec!["maybe".to_owned()], keys, spec)
            }
            Test::SpecialUseExists { mailbox, flags } => {
                let mailbox = mailbox.as_ref().map(|m| self.eval(m));
                let flags = self.eval_list(flags);
                self.env
                    .special_use_exists(mailbox.as_deref(), &flags)
                    .map_err(|e| self.host_error(e))
            }
            Test::Metadata { mailbox, annotation, keys, spec } => {
                let mailbox = mailbox.as_ref().map(|m| self.eval(m));
                let name = self.eval(annotation);
                match self
                    .env
                    .metadata(mailbox.as_deref(), &name)
                    .map_err(|e| self.host_error(e))?
                {
                    Some(v) => self.match_keys(vec![v], keys, spec),
                    None => Ok(false),
                }
            }
            Test::MetadataExists { mailbox, annotations } => {
                let mailbox = mailbox.as_ref().map(|m| self.eval(m));
                for name in self.eval_list(annotations) {
                    let found = self
                        .env
                        .metadata(mailbox.as_deref(), &name)
                        .map_err(|e| self.host_error(e))?;
                    if found.is_none() {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Test::ValidNotifyMethod(uris) => {
                let uris = self.eval_list(uris);
                Ok(uris.iter().all(|u| valid_mailto(u)))
            }
            _ => Ok(false),
        }
    }

    fn date_test(&mut self, d: &DateTest) -> Result<bool, RuntimeError> {
        let (stamp, orig_offset) = match &d.header {
            None => {
                let now = self.env.now();
                (now.unix, now.offset_minutes)
            }
            Some(h) => {
                let names = [h.clone()];
                let values = self.header_values(&names, d.index);
                let parsed = values.first().and_then(|value| {
                    let text = value.rsplit(';').next().unwrap_or(value).trim();
                    DateTime::parse_rfc822(text)
                });
                // A missing or unparsable date gives no value (`:count` sees 0).
                let Some(dt) = parsed else { return self.match_keys(Vec::new(), &d.keys, &d.spec) };
                let sign = if dt.tz_before_gmt { -1 } else { 1 };
                (dt.to_timestamp(), sign * (i32::from(dt.tz_hour) * 60 + i32::from(dt.tz_minute)))
            }
        };
        let offset = match &d.zone {
            Some(Some(z)) => {
                let z = self.eval(z);
                match parse_zone(&z) {
                    Some(o) => o,
                    None => return Ok(false),
                }
            }
            Some(None) => orig_offset,
            None if d.header.is_none() => orig_offset,
            None => self.env.now().offset_minutes,
        };
        let value = date_part(stamp, offset, &d.part);
        self.match_keys(vec![value], &d.keys, &d.spec)
    }

    fn duplicate_test(&mut self, d: &DuplicateTest) -> Result<bool, RuntimeError> {
        let value = match (&d.unique_id, &d.header) {
            (Some(u), _) => Some(self.eval(u)),
            (None, Some(h)) => {
                let names = [h.clone()];
                self.header_values(&names, None).into_iter().next()
            }
            (None, None) => {
                let names = [crate::program::PStr::Lit("message-id".into())];
                self.header_values(&names, None).into_iter().next()
            }
        };
        let Some(value) = value else { return Ok(false) };
        let handle = d.handle.as_ref().map(|h| self.eval(h)).unwrap_or_default();
        let id = format!("{handle}\u{0}{value}");
        let seen = self.env.duplicate_seen(&id).map_err(|e| self.host_error(e))?;
        let period = d.seconds.unwrap_or(DUPLICATE_DEFAULT_PERIOD);
        if !seen || d.last {
            self.result.result.duplicate_marks.push((id, period));
        }
        Ok(seen)
    }

    fn score_test(&mut self, s: &ScoreTest) -> Result<bool, RuntimeError> {
        let value = self.env.score(s.virus, s.percent).unwrap_or_else(|| "0".to_owned());
        self.match_keys(vec![value], &s.keys, &s.spec)
    }
}

fn valid_mailto(uri: &str) -> bool {
    crate::mailto::parse_mailto(uri).is_ok()
}

/// Parses `+hhmm` / `-hhmm` into minutes east of UTC.
fn parse_zone(z: &str) -> Option<i32> {
    let (sign, digits) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    (h < 24 && m < 60).then_some(sign * (h * 60 + m))
}

/// Computes an RFC 5260 date part of `stamp` shown in zone `offset` (minutes east of UTC).
pub(crate) fn date_part(stamp: i64, offset: i32, part: &str) -> String {
    let local = stamp + i64::from(offset) * 60;
    let dt = DateTime::from_timestamp(local);
    let zone = format!(
        "{}{:02}{:02}",
        if offset < 0 { '-' } else { '+' },
        offset.abs() / 60,
        offset.abs() % 60
    );
    match part {
        "year" => format!("{:04}", dt.year),
        "month" => format!("{:02}", dt.month),
        "day" => format!("{:02}", dt.day),
        "date" => format!("{:04}-{:02}-{:02}", dt.year, dt.month, dt.day),
        "julian" => (local.div_euclid(86400) + 40587).to_string(),
        "hour" => format!("{:02}", dt.hour),
        "minute" => format!("{:02}", dt.minute),
        "second" => format!("{:02}", dt.second),
        "time" => format!("{:02}:{:02}:{:02}", dt.hour, dt.minute, dt.second),
        "iso8601" => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}:{}",
            dt.year,
            dt.month,
            dt.day,
            dt.hour,
            dt.minute,
            dt.second,
            &zone[..3],
            &zone[3..]
        ),
        "std11" => {
            const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let wd = usize::try_from((local.div_euclid(86400) + 4).rem_euclid(7)).unwrap_or(0);
            let mon = MONTHS.get(usize::from(dt.month.saturating_sub(1))).copied().unwrap_or("Jan");
            format!(
                "{}, {} {mon} {:04} {:02}:{:02}:{:02} {zone}",
                DAYS[wd], dt.day, dt.year, dt.hour, dt.minute, dt.second
            )
        }
        "zone" => zone,
        "weekday" => ((local.div_euclid(86400) + 4).rem_euclid(7)).to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_parts() {
        // 2005-03-15 10:20:30 UTC
        let t = 1_110_882_030;
        assert_eq!(date_part(t, 0, "date"), "2005-03-15");
        assert_eq!(date_part(t, 0, "time"), "10:20:30");
        assert_eq!(date_part(t, -480, "hour"), "02");
        assert_eq!(date_part(t, -480, "zone"), "-0800");
        assert_eq!(date_part(t, 60, "iso8601"), "2005-03-15T11:20:30+01:00");
        assert_eq!(date_part(t, 0, "weekday"), "2");
        assert_eq!(date_part(t, 0, "julian"), "53444");
        assert_eq!(date_part(t, 0, "std11"), "Tue, 15 Mar 2005 10:20:30 +0000");
        assert_eq!(parse_zone("+0130"), Some(90));
        assert_eq!(parse_zone("0130"), None);
    }

    #[test]
    fn mailto_uris() {
        assert!(valid_mailto("mailto:alice@example.org?subject=hi"));
        assert!(valid_mailto("MAILTO:a%2Bb@example.org"));
        assert!(!valid_mailto("xmpp:alice@example.org"));
        assert!(!valid_mailto("mailto:alice"));
    }
}
