//! Resource limits of one compile and run, with Pigeonhole's defaults.

/// Hard limits; exceeding one fails the script cleanly (the host then does implicit keep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `sieve_max_script_size` in bytes (0 = unlimited).
    pub max_script_size: u64,
    /// `sieve_max_actions` (0 = unlimited).
    pub max_actions: usize,
    /// `sieve_max_redirects`.
    pub max_redirects: usize,
    /// Block and test nesting (fixed at 32 in Pigeonhole).
    pub max_nesting: usize,
    /// `sieve_include_max_nesting_depth`.
    pub max_include_depth: usize,
    /// `sieve_include_max_includes`.
    pub max_includes: usize,
    /// `sieve_variables_max_variable_size` in bytes.
    pub max_variable_size: usize,
    /// Step budget standing in for `sieve_max_cpu_time` (0 = unlimited).
    pub cpu_steps: u64,
    /// `sieve_max_cpu_time` as a wall-clock bound on one run (`None` = unlimited). The step
    /// budget alone cannot see time spent inside one expensive step (a huge regex over many
    /// MIME parts), so the interpreter also checks the clock.
    pub max_time: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_script_size: 1 << 20,
            max_actions: 32,
            max_redirects: 4,
            max_nesting: 32,
            max_include_depth: 10,
            max_includes: 255,
            max_variable_size: 4096,
            cpu_steps: 10_000_000,
            max_time: Some(std::time::Duration::from_secs(30)),
        }
    }
}

/// Steps granted per second of `sieve_max_cpu_time` (a debug build does roughly this many
/// cheap steps per second; release builds are faster, so the limit errs on the generous side).
pub const STEPS_PER_CPU_SECOND: u64 = 1_000_000;

impl Limits {
    /// Reads Pigeonhole's limit settings from the plugin settings map (`sieve_max_script_size`,
    /// `sieve_max_actions`, `sieve_max_redirects`, `sieve_max_cpu_time`,
    /// `sieve_include_max_nesting_depth`, `sieve_include_max_includes`,
    /// `sieve_variables_max_variable_size`); unset or unparsable keys keep the defaults.
    pub fn from_settings(settings: &std::collections::BTreeMap<String, String>) -> Limits {
        let mut l = Limits::default();
        let num = |k: &str| settings.get(k).and_then(|v| parse_size(v));
        let count = |k: &str| num(k).and_then(|n| usize::try_from(n).ok());
        if let Some(n) = num("sieve_max_script_size") {
            l.max_script_size = n;
        }
        if let Some(n) = count("sieve_max_actions") {
            l.max_actions = n;
        }
        if let Some(n) = count("sieve_max_redirects") {
            l.max_redirects = n;
        }
        if let Some(n) = count("sieve_include_max_nesting_depth") {
            l.max_include_depth = n;
        }
        if let Some(n) = count("sieve_include_max_includes") {
            l.max_includes = n;
        }
        if let Some(n) = count("sieve_variables_max_variable_size") {
            l.max_variable_size = n;
        }
        let cpu = settings
            .get("sieve_max_cpu_time")
            .and_then(|v| crate::extensions::config::parse_duration(v));
        if let Some(secs) = cpu {
            l.cpu_steps = secs.saturating_mul(STEPS_PER_CPU_SECOND);
            l.max_time = (secs > 0).then(|| std::time::Duration::from_secs(secs));
        }
        l
    }
}

/// Parses a Dovecot size (`1M`, `512k`, `100`) into bytes.
pub fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = v[..digits].parse().ok()?;
    let mult: u64 = match v[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings() {
        let s: std::collections::BTreeMap<String, String> = [
            ("sieve_max_script_size", "2M"),
            ("sieve_max_actions", "10"),
            ("sieve_max_redirects", "0"),
            ("sieve_max_cpu_time", "2s"),
            ("sieve_variables_max_variable_size", "x"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let l = Limits::from_settings(&s);
        assert_eq!(l.max_script_size, 2 << 20);
        assert_eq!((l.max_actions, l.max_redirects), (10, 0));
        assert_eq!(l.cpu_steps, 2 * STEPS_PER_CPU_SECOND);
        assert_eq!(l.max_variable_size, 4096);
        assert_eq!(parse_size("512k"), Some(512 * 1024));
    }
}
