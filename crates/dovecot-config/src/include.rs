//! `!include` pattern expansion: relative to the including file's directory, `{a,b}` braces
//! (Dovecot uses glob(3) with GLOB_BRACE), then `*`, `?`, `[..]` globbing; matches of each
//! pattern are processed in sorted order.

use std::path::{Path, PathBuf};

/// All files matching `pattern` (relative patterns are taken from `base`).
pub(crate) fn expand(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_owned()
    } else {
        base.join(pattern).to_string_lossy().into_owned()
    };
    let mut out = Vec::new();
    for alternative in expand_braces(&full) {
        let Ok(paths) = glob::glob(&alternative) else {
            continue;
        };
        let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        matched.sort();
        out.extend(matched);
    }
    out
}

/// Expands the first `{a,b,…}` group (recursively, so several groups multiply out).
fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_owned()];
    };
    let Some(close_rel) = pattern[open..].find('}') else {
        return vec![pattern.to_owned()];
    };
    let close = open + close_rel;
    let (head, inner, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    inner.split(',').flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}"))).collect()
}

/// The OS reason of an I/O error without Rust's " (os error N)" suffix, as Dovecot prints it.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_multiply_out() {
        assert_eq!(expand_braces("a{b,c}d{1,2}"), vec!["abd1", "abd2", "acd1", "acd2"]);
        assert_eq!(expand_braces("plain"), vec!["plain"]);
    }

    #[test]
    fn globs_are_sorted_and_relative_to_base() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["20-b.conf", "10-a.conf", "x.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let got = expand(dir.path(), "*.conf");
        let names: Vec<_> = got.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
        assert_eq!(names, ["10-a.conf", "20-b.conf"]);
        assert_eq!(expand(dir.path(), "{x.txt,10-a.conf}").len(), 2);
        assert!(expand(dir.path(), "missing.conf").is_empty());
    }

    #[test]
    fn io_reason_drops_os_error_suffix() {
        let e = std::fs::read("/nonexistent/letterbox").unwrap_err();
        assert_eq!(io_reason(&e), "No such file or directory");
    }
}
