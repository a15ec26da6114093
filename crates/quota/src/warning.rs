//! `quota_warning*` rules: thresholds crossed by a delivery, and the script-service request
//! that runs the warning script.
//!
//! Mirrors dovecot/core@2.3.19.1 src/plugins/quota/quota.c (warning rules and their
//! execution) as described in `spec/quota.md` §6. A rule fires when a transaction moves
//! usage from below a limit to at-or-above it (`+`, the default) or back below it (`-`);
//! only the first firing rule of a root counts per transaction.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dovecot_strescape::tab_escape;

use crate::error::QuotaError;
use crate::rule::{Limits, RuleLimits, parse_rule_limits};

/// One `quota_warning` line: `[+|-]<limits> <socket> [args...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningRule {
    /// `-`: fire when usage drops below the limit instead of reaching it.
    pub reverse: bool,
    /// Thresholds, in rule syntax (percentages are of the root's default limits).
    pub limits: RuleLimits,
    /// The words after the limits; the first is the script service socket.
    pub command: Vec<String>,
}

impl WarningRule {
    /// Parses the value of a `quota_warning*` setting; errors are plain reasons.
    pub fn parse(value: &str) -> Result<WarningRule, String> {
        let (limits, command) = value.split_once(' ').ok_or("no command specified")?;
        let command: Vec<String> =
            command.split(' ').filter(|w| !w.is_empty()).map(String::from).collect();
        if command.is_empty() {
            return Err("no command specified".to_owned());
        }
        let (reverse, limits) = match limits.as_bytes().first() {
            Some(b'-') => (true, &limits[1..]),
            Some(b'+') => (false, &limits[1..]),
            _ => (false, limits),
        };
        let limits = parse_rule_limits(limits)?;
        let negative = |v: Option<crate::rule::LimitValue>| matches!(v, Some(crate::rule::LimitValue::Absolute(n) | crate::rule::LimitValue::Percent(n)) if n < 0);
        if negative(limits.bytes) || negative(limits.count) {
            return Err("warning limits cannot be negative".to_owned());
        }
        Ok(WarningRule { reverse, limits, command })
    }

    /// Why this rule fires for a move from `before` to `after`, or `None`.
    ///
    /// `default` is the root's effective default limits (base of percentages). A limit that
    /// resolves to 0 never fires.
    pub fn fires(&self, default: Limits, before: UsagePoint, after: UsagePoint) -> Option<String> {
        let crossed = |from: i64, to: i64, limit: i64| from < limit && to >= limit;
        let check = |what: &str, b: i64, a: i64, limit: i64| -> Option<String> {
            if limit <= 0 {
                return None;
            }
            let hit = if self.reverse { crossed(a, b, limit) } else { crossed(b, a, limit) };
            let dir = if self.reverse { "below" } else { "over" };
            hit.then(|| format!("{what}={b} -> {a} {dir} limit {limit}"))
        };
        let bytes_limit = self.limits.bytes.map_or(0, |v| v.resolve(default.bytes));
        let count_limit = self.limits.count.map_or(0, |v| v.resolve(default.count));
        check("bytes", before.bytes, after.bytes, bytes_limit)
            .or_else(|| check("count", before.count, after.count, count_limit))
    }
}

/// Usage of one root at one moment (signed: `maildirsize` deltas may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsagePoint {
    /// Bytes in use.
    pub bytes: i64,
    /// Messages stored.
    pub count: i64,
}

/// A warning script the caller should run because a delivery crossed a threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningCommand {
    /// The quota root's name (`User quota`).
    pub root: String,
    /// The setting that fired (`quota_warning2`).
    pub setting: String,
    /// The command words: the script service socket, then the arguments (already
    /// %-expanded if the caller expanded the plugin map).
    pub command: Vec<String>,
    /// Human-readable reason for the log (`bytes=900 -> 1000 over limit 950`).
    pub reason: String,
}

impl WarningCommand {
    /// The socket this command talks to: `unix:` stripped, relative names under `base_dir`.
    ///
    /// Returns `None` for non-unix schemes (`tcp:`), which letterbox does not speak.
    pub fn socket_path(&self, base_dir: &Path) -> Option<PathBuf> {
        let first = self.command.first()?;
        let path = match first.split_once(':') {
            Some(("unix", p)) => p,
            Some(_) => return None,
            None => first.as_str(),
        };
        Some(if path.starts_with('/') { PathBuf::from(path) } else { base_dir.join(path) })
    }

    /// The request bytes sent to the script service: `VERSION\tscript\t4\t0`, `noreply`,
    /// each argument tab-escaped on its own line, then an empty line.
    pub fn request(&self) -> Vec<u8> {
        let mut out = b"VERSION\tscript\t4\t0\nnoreply\n".to_vec();
        for arg in self.command.iter().skip(1) {
            out.extend_from_slice(tab_escape(arg).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out
    }

    /// Connects to the script service socket and sends [`Self::request`] without waiting
    /// for an answer, as the LDA does. Failure should be logged; it never affects delivery.
    pub fn send(&self, base_dir: &Path) -> Result<(), QuotaError> {
        let path = self.socket_path(base_dir).ok_or_else(|| {
            QuotaError::io(
                "connect",
                self.command.first().cloned().unwrap_or_default(),
                std::io::Error::new(std::io::ErrorKind::Unsupported, "only unix: sockets"),
            )
        })?;
        let mut stream =
            UnixStream::connect(&path).map_err(|e| QuotaError::io("connect", &path, e))?;
        stream
            .set_write_timeout(Some(Duration::from_secs(1)))
            .map_err(|e| QuotaError::io("configure", &path, e))?;
        stream.write_all(&self.request()).map_err(|e| QuotaError::io("write", &path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::LimitValue;

    fn pt(bytes: i64, count: i64) -> UsagePoint {
        UsagePoint { bytes, count }
    }

    #[test]
    fn parses_forms() {
        let w = WarningRule::parse("storage=95%% quota-warning 95 bob").unwrap();
        assert!(!w.reverse);
        assert_eq!(w.limits.bytes, Some(LimitValue::Percent(95)));
        assert_eq!(w.command, ["quota-warning", "95", "bob"]);
        let w = WarningRule::parse("-storage=100%:messages=10 quota-ok").unwrap();
        assert!(w.reverse);
        assert_eq!(w.limits.count, Some(LimitValue::Absolute(10)));
        let w = WarningRule::parse("+bytes=10 x").unwrap();
        assert_eq!(w.limits.bytes, Some(LimitValue::Absolute(10)));
        assert!(WarningRule::parse("storage=95%").is_err());
        assert!(WarningRule::parse("storage=95% ").is_err());
        assert!(WarningRule::parse("size=95% x").is_err());
    }

    #[test]
    fn fires_on_upward_crossing_only() {
        let w = WarningRule::parse("storage=90% s").unwrap();
        let d = Limits { bytes: 1000, count: 0 };
        assert!(w.fires(d, pt(800, 1), pt(900, 2)).is_some());
        assert!(w.fires(d, pt(900, 1), pt(950, 2)).is_none(), "already above");
        assert!(w.fires(d, pt(800, 1), pt(899, 2)).is_none(), "still below");
        assert!(w.fires(Limits::default(), pt(0, 0), pt(1 << 40, 9)).is_none(), "no limit");
    }

    #[test]
    fn reverse_fires_on_drop() {
        let w = WarningRule::parse("-messages=10 s").unwrap();
        let d = Limits::default();
        assert!(w.fires(d, pt(0, 10), pt(0, 9)).is_some());
        assert!(w.fires(d, pt(0, 9), pt(0, 10)).is_none());
    }

    #[test]
    fn request_bytes_and_socket() {
        let c = WarningCommand {
            root: "User quota".into(),
            setting: "quota_warning".into(),
            command: vec!["quota-warning".into(), "95".into(), "a\tb".into()],
            reason: String::new(),
        };
        assert_eq!(c.request(), b"VERSION\tscript\t4\t0\nnoreply\n95\na\x01tb\n\n");
        assert_eq!(
            c.socket_path(Path::new("/run/dovecot")).unwrap(),
            Path::new("/run/dovecot/quota-warning")
        );
        let mut abs = c.clone();
        abs.command[0] = "unix:/tmp/s".into();
        assert_eq!(abs.socket_path(Path::new("/x")).unwrap(), Path::new("/tmp/s"));
        abs.command[0] = "tcp:h:1".into();
        assert!(abs.socket_path(Path::new("/x")).is_none());
    }

    #[test]
    fn send_reaches_a_listening_socket() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("quota-warning");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let c = WarningCommand {
            root: "r".into(),
            setting: "quota_warning".into(),
            command: vec!["quota-warning".into(), "95".into()],
            reason: String::new(),
        };
        c.send(dir.path()).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        assert_eq!(got, c.request());
        assert!(c.send(&dir.path().join("missing")).is_err());
    }
}
