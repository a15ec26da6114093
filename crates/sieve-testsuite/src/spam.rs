//! The `spamtest` / `spamtestplus` / `virustest` score, computed from the message's status
//! header as Pigeonhole's settings describe it: `sieve_{spam,virus}test_status_header`
//! (`Header[:regex]`, the first capture group is the status), `..._status_type` (`score`,
//! `strlen` or `text`), `..._max_header` / `..._max_value` and `..._text_valueN`. The values
//! were checked against the suite's expectations: the percentage is rounded, the 1..10 (spam)
//! or 1..5 (virus) scale is `1 + percent * (top - 1) / 100` with integer division.

use std::collections::BTreeMap;

use sieve::MessageView;
use sieve::matching::{compile_regex, regex_match};
use sieve::program::Comparator;

/// Reads `Header[:regex]` from the message: the first capture group (or the whole value).
fn header_status(view: &MessageView, spec: &str) -> Option<String> {
    let (name, pattern) = match spec.split_once(':') {
        Some((n, p)) => (n.trim(), Some(p.trim_start())),
        None => (spec.trim(), None),
    };
    let value = view.header_values(name).into_iter().next()?;
    let value = value.trim().to_owned();
    let Some(pattern) = pattern.filter(|p| !p.is_empty()) else { return Some(value) };
    let re = compile_regex(pattern, Comparator::Octet).ok()?;
    let mut caps = Some(Vec::new());
    if !regex_match(&re, &value, &mut caps) {
        return None;
    }
    let caps = caps.unwrap_or_default();
    caps.get(1).or_else(|| caps.first()).cloned()
}

/// The test's value as a string, `None` when not configured or no status is available.
pub fn score(
    settings: &BTreeMap<String, String>,
    view: &MessageView,
    virus: bool,
    percent: bool,
) -> Option<String> {
    let prefix = if virus { "sieve_virustest" } else { "sieve_spamtest" };
    let get = |k: &str| settings.get(&format!("{prefix}_{k}")).map(String::as_str);
    let status = header_status(view, get("status_header")?)?;
    let top: u64 = if virus { 5 } else { 10 };
    let kind = get("status_type").unwrap_or("score").trim().to_ascii_lowercase();
    let pct = match kind.as_str() {
        "text" => {
            let level = (0..=top).find(|n| {
                get(&format!("text_value{n}")).is_some_and(|t| t.trim() == status.trim())
            })?;
            if !percent {
                return Some(level.to_string());
            }
            return Some((level * 100 / top).to_string());
        }
        "strlen" => ratio(status.chars().count() as f64, max_value(&get, view)?),
        _ => ratio(status.trim().parse::<f64>().ok()?, max_value(&get, view)?),
    };
    if percent {
        return Some(pct.to_string());
    }
    Some((1 + pct * (top - 1) / 100).to_string())
}

fn max_value<'a>(get: &impl Fn(&str) -> Option<&'a str>, view: &MessageView) -> Option<f64> {
    if let Some(spec) = get("max_header") {
        return header_status(view, spec)?.trim().parse().ok();
    }
    get("max_value")?.trim().parse().ok()
}

/// Percentage 0..=100, rounded.
fn ratio(value: f64, max: f64) -> u64 {
    if max <= 0.0 || value <= 0.0 {
        return 0;
    }
    let p = (value / max * 100.0).round().min(100.0);
    // In 0..=100 after the checks above.
    p as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn score_scale() {
        let view = MessageView::parse(b"X-Spam: No, score=4.0 required=5.0\nX-S: sssssss\n\nb\n");
        let s = settings(&[
            ("sieve_spamtest_status_header", "X-Spam:score=(-?[0-9]+.[0-9]+)"),
            ("sieve_spamtest_max_header", "X-Spam:required=(-?[0-9]+.[0-9]+)"),
        ]);
        assert_eq!(score(&s, &view, false, false), Some("8".into()));
        assert_eq!(score(&s, &view, false, true), Some("80".into()));
        let s = settings(&[
            ("sieve_spamtest_status_header", "X-S"),
            ("sieve_spamtest_status_type", "strlen"),
            ("sieve_spamtest_max_value", "8"),
        ]);
        assert_eq!(score(&s, &view, false, false), Some("8".into()));
        assert_eq!(score(&settings(&[]), &view, false, false), None);
    }

    #[test]
    fn text_values() {
        let view = MessageView::parse(b"X-V: Found to be clean.\n\nb\n");
        let s = settings(&[
            ("sieve_virustest_status_header", "X-V:Found to be (.+)\\."),
            ("sieve_virustest_status_type", "text"),
            ("sieve_virustest_text_value1", "clean"),
        ]);
        assert_eq!(score(&s, &view, true, false), Some("1".into()));
    }
}
