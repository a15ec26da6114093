//! Pigeonhole's way of turning a spam/virus scanner header into the `spamtest`/`virustest`
//! value (RFC 5235), configured by `sieve_spamtest_*` / `sieve_virustest_*` settings. The host
//! calls [`compute_score`] from [`crate::ScriptEnvironment::score`] with its current settings.
//!
//! Settings: `..._status_type` (`score`, `strlen` or `text`), `..._status_header`
//! (`Header-Name[:regex]`, the first group of the regex selects the value), `..._max_header`
//! (same form) or `..._max_value`, and `..._text_value1`..`10` for the `text` type.

use std::collections::BTreeMap;

use regex::Regex;

use crate::message::HeaderField;
use crate::program::Comparator;

/// How the status header is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusType {
    /// A number compared with the maximum.
    Score,
    /// The length of the value compared with the maximum.
    Strlen,
    /// The value compared with the configured texts.
    Text,
}

/// A header reference `Name[:regex]`.
#[derive(Debug, Clone)]
pub struct HeaderSpec {
    /// Field name.
    pub name: String,
    /// Regex whose first group selects the value.
    pub regex: Option<Regex>,
}

impl HeaderSpec {
    fn parse(v: &str) -> Option<HeaderSpec> {
        let (name, re) = match v.split_once(':') {
            Some((n, r)) => (n.trim(), Some(r)),
            None => (v.trim(), None),
        };
        if name.is_empty() {
            return None;
        }
        let regex = match re {
            Some(r) => Some(crate::matching::compile_regex(r, Comparator::Octet).ok()?),
            None => None,
        };
        Some(HeaderSpec { name: name.to_owned(), regex })
    }

    /// The selected value in `headers`, if present (and matching the regex).
    fn value(&self, headers: &[HeaderField]) -> Option<String> {
        let field = headers.iter().find(|h| h.name.eq_ignore_ascii_case(&self.name))?;
        let raw = String::from_utf8_lossy(&field.value).replace(['\r', '\n'], "");
        match &self.regex {
            None => Some(raw.trim().to_owned()),
            Some(re) => {
                let caps = re.captures(&raw)?;
                Some(caps.get(1).or_else(|| caps.get(0))?.as_str().to_owned())
            }
        }
    }
}

/// The scanner configuration of `spamtest` or `virustest`.
#[derive(Debug, Clone)]
pub struct ScoreConfig {
    /// How to read the status header.
    pub status_type: StatusType,
    /// Where the status is.
    pub status_header: HeaderSpec,
    /// Where the maximum is (score/strlen types).
    pub max_header: Option<HeaderSpec>,
    /// Fixed maximum (score/strlen types).
    pub max_value: Option<f64>,
    /// Texts for values 0..=10 (text type).
    pub text_values: Vec<(u32, String)>,
}

impl ScoreConfig {
    /// Reads `sieve_spamtest_*` (or `sieve_virustest_*` with `virus`); `None` when the
    /// extension is not configured (the test then sees `"0"`).
    pub fn from_settings(settings: &BTreeMap<String, String>, virus: bool) -> Option<ScoreConfig> {
        let prefix = if virus { "sieve_virustest_" } else { "sieve_spamtest_" };
        let get = |k: &str| settings.get(&format!("{prefix}{k}")).map(|v| v.trim().to_owned());
        let status_type = match get("status_type").as_deref() {
            Some("strlen") => StatusType::Strlen,
            Some("text") => StatusType::Text,
            _ => StatusType::Score,
        };
        let status_header = HeaderSpec::parse(&get("status_header")?)?;
        let max_header = get("max_header").and_then(|v| HeaderSpec::parse(&v));
        let max_value = get("max_value").and_then(|v| v.parse::<f64>().ok());
        let text_values =
            (0..=10).filter_map(|i| get(&format!("text_value{i}")).map(|t| (i, t))).collect();
        Some(ScoreConfig { status_type, status_header, max_header, max_value, text_values })
    }
}

/// The test value: `"0"` when untested/unknown, else 1..=10 (spamtest), 1..=5 (virustest),
/// or 0..=100 with `percent` (spamtestplus).
pub fn compute_score(
    cfg: &ScoreConfig,
    headers: &[HeaderField],
    virus: bool,
    percent: bool,
) -> String {
    let top = if virus { 5.0 } else { 10.0 };
    let Some(status) = cfg.status_header.value(headers) else { return "0".into() };
    if cfg.status_type == StatusType::Text {
        let hit = cfg.text_values.iter().find(|(_, t)| t.eq_ignore_ascii_case(status.trim()));
        return hit.map_or_else(|| "0".into(), |(i, _)| i.to_string());
    }
    let value = match cfg.status_type {
        StatusType::Strlen => status.chars().count() as f64,
        _ => match status.trim().parse::<f64>() {
            Ok(v) => v,
            Err(_) => return "0".into(),
        },
    };
    let max = match (&cfg.max_header, cfg.max_value) {
        (Some(h), _) => h.value(headers).and_then(|v| v.trim().parse::<f64>().ok()),
        (None, Some(m)) => Some(m),
        (None, None) => None,
    };
    let Some(max) = max.filter(|m| *m > 0.0) else { return "0".into() };
    let ratio = (value / max).clamp(0.0, 1.0);
    if percent {
        return format!("{}", (ratio * 100.0).round() as u32);
    }
    // 1 = certainly not spam/virus ... top = certainly is; the ratio is truncated, not rounded.
    let v = 1.0 + ((top - 1.0) * ratio).floor();
    format!("{}", v.min(top) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageView;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const MSG: &[u8] = b"X-Spam: No, score=4.0 required=5.0\r\nX-Low: No, score=1.0 required=5.0\r\nX-Neg: No, score=-1.6 required=5.0\r\nX-Len: sssssss\r\nX-Virus: Found to be clean.\r\nX-P: .29\r\n\r\nx\r\n";

    #[test]
    fn score_and_strlen() {
        let m = MessageView::parse(MSG);
        let cfg = |h: &str| {
            ScoreConfig::from_settings(
                &settings(&[
                    (
                        "sieve_spamtest_status_header",
                        &format!("{h}:[ a-zA-Z]+, score=(-?[0-9]+.[0-9]+)"),
                    ),
                    (
                        "sieve_spamtest_max_header",
                        &format!("{h}:score=-?[0-9]+.[0-9]+ required=(-?[0-9]+.[0-9]+)"),
                    ),
                ]),
                false,
            )
            .unwrap()
        };
        assert_eq!(compute_score(&cfg("X-Spam"), &m.headers, false, false), "8");
        assert_eq!(compute_score(&cfg("X-Low"), &m.headers, false, false), "2");
        assert_eq!(compute_score(&cfg("X-Neg"), &m.headers, false, false), "1");
        assert_eq!(compute_score(&cfg("X-None"), &m.headers, false, false), "0");
        let strlen = ScoreConfig::from_settings(
            &settings(&[
                ("sieve_spamtest_status_header", "X-Len"),
                ("sieve_spamtest_status_type", "strlen"),
                ("sieve_spamtest_max_value", "8.0"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(compute_score(&strlen, &m.headers, false, false), "8");
        let pct = ScoreConfig::from_settings(
            &settings(&[
                ("sieve_spamtest_status_header", "X-P"),
                ("sieve_spamtest_max_value", "1"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(compute_score(&pct, &m.headers, false, true), "29");
    }

    #[test]
    fn virus_text() {
        let m = MessageView::parse(MSG);
        let cfg = ScoreConfig::from_settings(
            &settings(&[
                ("sieve_virustest_status_header", "X-Virus:Found to be (.+)\\."),
                ("sieve_virustest_status_type", "text"),
                ("sieve_virustest_text_value1", "clean"),
                ("sieve_virustest_text_value5", "infected"),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(compute_score(&cfg, &m.headers, true, false), "1");
        assert!(ScoreConfig::from_settings(&BTreeMap::new(), true).is_none());
    }
}
