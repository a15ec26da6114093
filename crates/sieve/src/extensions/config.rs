//! Which extensions are enabled: Pigeonhole 0.5's default set adjusted by the
//! `sieve_extensions` / `sieve_global_extensions` plugin settings (`+name`, `-name`, or a plain
//! list that replaces the set), plus the extension settings the compiler needs.

use std::collections::{BTreeMap, BTreeSet};

use super::ALL_EXTENSIONS;

/// The enabled extension set and extension settings used at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionConfig {
    /// Capabilities usable by every script.
    pub enabled: BTreeSet<String>,
    /// Capabilities usable only by admin (global) scripts.
    pub global_only: BTreeSet<String>,
    /// Unknown names found in the settings (the host may log a warning for each).
    pub unknown: Vec<String>,
    /// `sieve_vacation_min_period` in seconds (default 1d).
    pub vacation_min_period: u64,
    /// `sieve_vacation_max_period` in seconds (default 0 = unlimited).
    pub vacation_max_period: u64,
    /// `sieve_vacation_default_period` in seconds (default 7d).
    pub vacation_default_period: u64,
    /// `sieve_max_redirects` (0 forbids redirect).
    pub max_redirects: u64,
}

impl Default for ExtensionConfig {
    fn default() -> Self {
        ExtensionConfig {
            enabled: ALL_EXTENSIONS
                .iter()
                .filter(|e| e.enabled_by_default())
                .map(|e| e.name().to_owned())
                .collect(),
            global_only: BTreeSet::new(),
            unknown: Vec::new(),
            vacation_min_period: 86400,
            vacation_max_period: 0,
            vacation_default_period: 7 * 86400,
            max_redirects: 4,
        }
    }
}

impl ExtensionConfig {
    /// Every known extension enabled (what Pigeonhole's testsuite uses).
    pub fn all() -> Self {
        ExtensionConfig {
            enabled: ALL_EXTENSIONS.iter().map(|e| e.name().to_owned()).collect(),
            ..ExtensionConfig::default()
        }
    }

    /// Reads `sieve_extensions`, `sieve_global_extensions` and the vacation periods from the
    /// plugin settings map; unset keys keep Pigeonhole's defaults.
    pub fn from_settings(settings: &BTreeMap<String, String>) -> Self {
        let mut cfg = ExtensionConfig::default();
        if let Some(v) = settings.get("sieve_extensions") {
            cfg.enabled = apply_list(&cfg.enabled, v, &mut cfg.unknown);
        }
        if let Some(v) = settings.get("sieve_global_extensions") {
            let global = apply_list(&BTreeSet::new(), v, &mut cfg.unknown);
            for g in &global {
                cfg.enabled.remove(g);
            }
            cfg.global_only = global;
        }
        let period = |key: &str, default: u64| {
            settings.get(key).and_then(|v| parse_duration(v)).unwrap_or(default)
        };
        let (min, max, def) = (
            period("sieve_vacation_min_period", 86400),
            period("sieve_vacation_max_period", 0),
            period("sieve_vacation_default_period", 7 * 86400),
        );
        let consistent = (max == 0 || (min <= max && def <= max)) && def >= min;
        if consistent {
            cfg.vacation_min_period = min;
            cfg.vacation_max_period = max;
            cfg.vacation_default_period = def;
        }
        if let Some(n) = settings.get("sieve_max_redirects").and_then(|v| v.trim().parse().ok()) {
            cfg.max_redirects = n;
        }
        cfg
    }

    /// Whether `name` may be required by a script (admin scripts also get `global_only`).
    pub fn allows(&self, name: &str, admin: bool) -> bool {
        self.enabled.contains(name) || (admin && self.global_only.contains(name))
    }
}

/// Applies a Pigeonhole extension list to `base`.
fn apply_list(base: &BTreeSet<String>, value: &str, unknown: &mut Vec<String>) -> BTreeSet<String> {
    let items: Vec<&str> = value.split_whitespace().collect();
    let relative = items.iter().any(|i| i.starts_with('+') || i.starts_with('-'));
    let mut set = if relative { base.clone() } else { BTreeSet::new() };
    for item in items {
        let (remove, name) = match item.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, item.strip_prefix('+').unwrap_or(item)),
        };
        if !ALL_EXTENSIONS.iter().any(|e| e.name() == name) {
            unknown.push(name.to_owned());
            continue;
        }
        if remove {
            set.remove(name);
        } else {
            set.insert(name.to_owned());
        }
    }
    set
}

/// Parses Dovecot's time syntax (`30`, `1d`, `12h`, `5 mins`, ...) into seconds.
pub fn parse_duration(v: &str) -> Option<u64> {
    let v = v.trim();
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = v[..digits].parse().ok()?;
    let unit = v[digits..].trim().to_ascii_lowercase();
    let mult = match unit.as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86400,
        "w" | "week" | "weeks" => 7 * 86400,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn default_set_is_pigeonhole_default() {
        let c = ExtensionConfig::default();
        for on in ["fileinto", "vacation", "imap4flags", "variables", "enotify", "duplicate"] {
            assert!(c.enabled.contains(on), "{on}");
        }
        for off in
            ["editheader", "vacation-seconds", "spamtest", "ereject", "vnd.dovecot.environment"]
        {
            assert!(!c.enabled.contains(off), "{off}");
        }
    }

    #[test]
    fn plus_minus_and_replacement() {
        let c = ExtensionConfig::from_settings(&settings(&[(
            "sieve_extensions",
            "+editheader -fileinto +nope",
        )]));
        assert!(c.enabled.contains("editheader"));
        assert!(!c.enabled.contains("fileinto"));
        assert!(c.enabled.contains("vacation"));
        assert_eq!(c.unknown, vec!["nope".to_owned()]);
        let c =
            ExtensionConfig::from_settings(&settings(&[("sieve_extensions", "fileinto reject")]));
        assert_eq!(c.enabled.len(), 2);
        let c =
            ExtensionConfig::from_settings(&settings(&[("sieve_global_extensions", "+vacation")]));
        assert!(!c.allows("vacation", false));
        assert!(c.allows("vacation", true));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1d"), Some(86400));
        assert_eq!(parse_duration("12h"), Some(43200));
        assert_eq!(parse_duration("30"), Some(30));
        assert_eq!(parse_duration("x"), None);
    }
}
