//! Sieve storage locations: `[file:]PATH[;active=PATH][;bindir=DIR][;name=NAME]`.
//!
//! Mirrors Pigeonhole 0.5.19's location syntax (sieve-behaviour.md §2.1). Only the `file` type
//! is supported; `dict:` and `ldap:` locations are reported as unsupported so the caller can
//! log it and deliver with the implicit keep.

use std::path::{Path, PathBuf};

/// A parsed `file` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Script file or script directory (`~` expanded).
    pub path: PathBuf,
    /// `active=`: the active-script link (or legacy script file).
    pub active: Option<PathBuf>,
    /// `bindir=`: where compiled forms go instead of next to the scripts.
    pub bindir: Option<PathBuf>,
    /// True when the value had an explicit `file:` prefix.
    pub typed: bool,
}

/// A location that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// `dict:`, `ldap:` or another storage type letterbox does not implement.
    #[error("sieve storage type `{0}' is not supported")]
    UnsupportedType(String),
    /// An option the file type does not know.
    #[error("invalid option `{0}' for file storage")]
    UnknownOption(String),
}

/// Expand a leading `~` against `home`.
pub fn expand_tilde(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    }
}

/// Parse a location setting value.
pub fn parse_location(value: &str, home: Option<&Path>) -> Result<Location, LocationError> {
    let mut parts = value.split(';');
    let first = parts.next().unwrap_or("");
    let (typed, path) = match first.split_once(':') {
        Some(("file", rest)) => (true, rest),
        Some((kind, _)) if is_type_name(kind) => {
            return Err(LocationError::UnsupportedType(kind.to_string()));
        }
        _ => (false, first),
    };
    let mut location =
        Location { path: expand_tilde(path, home), active: None, bindir: None, typed };
    for option in parts.filter(|p| !p.is_empty()) {
        let (key, val) = option.split_once('=').unwrap_or((option, ""));
        match key {
            "active" => location.active = Some(expand_tilde(val, home)),
            "bindir" => location.bindir = Some(expand_tilde(val, home)),
            "name" => {}
            _ => return Err(LocationError::UnknownOption(key.to_string())),
        }
    }
    Ok(location)
}

/// A storage type prefix is a plain word (so `C:\` style or `/a:b` paths are not types).
fn is_type_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_default() {
        let loc =
            parse_location("file:~/sieve;active=~/.dovecot.sieve", Some(Path::new("/h"))).unwrap();
        assert_eq!(loc.path, PathBuf::from("/h/sieve"));
        assert_eq!(loc.active, Some(PathBuf::from("/h/.dovecot.sieve")));
        assert!(loc.typed);
    }

    #[test]
    fn legacy_and_options() {
        let loc = parse_location("/etc/s.sieve;bindir=/var/bin", None).unwrap();
        assert!(!loc.typed);
        assert_eq!(loc.bindir, Some(PathBuf::from("/var/bin")));
        assert_eq!(
            parse_location("dict:proxy::sieve", None),
            Err(LocationError::UnsupportedType("dict".into()))
        );
        assert_eq!(
            parse_location("file:/x;bogus=1", None),
            Err(LocationError::UnknownOption("bogus".into()))
        );
    }
}
