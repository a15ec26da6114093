//! Which scripts a delivery runs, in order: `sieve_before…`, the personal script (or
//! `sieve_default`), `sieve_after…`, and `sieve_discard` (sieve-behaviour.md §2.2–§2.4).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::location::{Location, LocationError, expand_tilde, parse_location};

/// Whose script it is: decides where its errors go and which extensions it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `sieve_before`, `sieve_before2`, …
    Before,
    /// The user's own script: errors go to the user log.
    Personal,
    /// `sieve_default`, used when the user has no script.
    Default,
    /// `sieve_after`, `sieve_after2`, …
    After,
    /// `sieve_discard`: runs only when the message would otherwise be discarded.
    Discard,
}

impl Role {
    /// Admin scripts log to the Dovecot log and may use `sieve_global_extensions`.
    pub fn is_admin(self) -> bool {
        self != Role::Personal
    }
}

/// One script to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRef {
    /// Name as Pigeonhole shows it in messages (`.dovecot` for `~/.dovecot.sieve`).
    pub name: String,
    /// The file to read (symlinks are followed when reading).
    pub path: PathBuf,
    /// Where the compiled form is cached (`bindir=` or next to `path`).
    pub bin_path: PathBuf,
    /// Role in the sequence.
    pub role: Role,
}

/// Everything a delivery needs to know about the user's Sieve setup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptSequence {
    /// Scripts before the personal one.
    pub before: Vec<ScriptRef>,
    /// The personal script, or the default script when the user has none.
    pub main: Option<ScriptRef>,
    /// Scripts after the personal one.
    pub after: Vec<ScriptRef>,
    /// The discard script.
    pub discard: Option<ScriptRef>,
    /// The user's Sieve log (`.dovecot.sieve.log`).
    pub user_log: PathBuf,
    /// Directory `include :personal` reads from.
    pub personal_dir: Option<PathBuf>,
    /// Directory `include :global` reads from (`sieve_global`).
    pub global_dir: Option<PathBuf>,
}

impl ScriptSequence {
    /// True when there is nothing to run (plain delivery).
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.main.is_none() && self.after.is_empty()
    }
}

/// Read the plugin settings (userdb fields already merged) and find the scripts.
/// `Ok(None)` when Sieve is disabled for the user (`sieve_enabled = no`).
pub fn script_sequence(
    plugin: &BTreeMap<String, String>,
    home: Option<&Path>,
) -> Result<Option<ScriptSequence>, LocationError> {
    let get = |key: &str| plugin.get(key).map(String::as_str);
    if matches!(get("sieve_enabled"), Some("no")) {
        return Ok(None);
    }
    let personal = personal_script(plugin, home)?;
    let default_loc = get("sieve_default").or(get("sieve_global_path"));
    let main = match (&personal.script, default_loc) {
        (Some(script), _) => Some(script.clone()),
        (None, Some(loc)) if !loc.is_empty() => single_script(loc, home, Role::Default)?,
        _ => None,
    };
    let user_log = match get("sieve_user_log") {
        Some(log) if !log.is_empty() => resolve_in_home(log, home),
        _ => personal.log_path.clone(),
    };
    let global_dir = get("sieve_global").or(get("sieve_global_dir")).filter(|g| !g.is_empty());
    Ok(Some(ScriptSequence {
        before: numbered(plugin, "sieve_before", home, Role::Before)?,
        main,
        after: numbered(plugin, "sieve_after", home, Role::After)?,
        discard: match get("sieve_discard") {
            Some(loc) if !loc.is_empty() => single_script(loc, home, Role::Discard)?,
            _ => None,
        },
        user_log,
        personal_dir: personal.dir,
        global_dir: global_dir.map(|g| parse_location(g, home)).transpose()?.map(|l| l.path),
    }))
}

fn resolve_in_home(path: &str, home: Option<&Path>) -> PathBuf {
    let expanded = expand_tilde(path, home);
    match home {
        Some(home) if expanded.is_relative() => home.join(expanded),
        _ => expanded,
    }
}

/// The personal script and the things derived from its location.
struct Personal {
    script: Option<ScriptRef>,
    dir: Option<PathBuf>,
    log_path: PathBuf,
}

fn personal_script(
    plugin: &BTreeMap<String, String>,
    home: Option<&Path>,
) -> Result<Personal, LocationError> {
    let home_file = |name: &str| home.map(|h| h.join(name)).unwrap_or_else(|| PathBuf::from(name));
    let default_log = home_file(".dovecot.sieve.log");
    let legacy_dir = plugin.get("sieve_dir").or(plugin.get("sieve_storage"));
    let (storage, active) = match plugin.get("sieve").map(String::as_str) {
        Some("") => return Ok(Personal { script: None, dir: None, log_path: default_log }),
        Some(value) => {
            let loc = parse_location(value, home)?;
            if loc.typed {
                let active = loc.active.clone().unwrap_or_else(|| home_file(".dovecot.sieve"));
                (Some(loc), active)
            } else {
                let dir = legacy_dir.map(|d| parse_location(d, home)).transpose()?;
                (dir, loc.path)
            }
        }
        None => {
            let dir = match legacy_dir {
                Some(d) => Some(parse_location(d, home)?),
                None => Some(parse_location("~/sieve", home)?),
            };
            (dir, home_file(".dovecot.sieve"))
        }
    };
    let bindir = storage.as_ref().and_then(|s| s.bindir.clone());
    let dir = storage.as_ref().map(|s| s.path.clone()).filter(|p| p.is_dir());
    let script_path = match &storage {
        Some(Location { path, .. }) if path.is_file() => Some(path.clone()),
        _ => Some(active).filter(|a| a.is_file()),
    };
    let script = script_path.map(|path| script_ref(path, bindir.as_deref(), Role::Personal));
    let log_path = match &script {
        Some(s) => PathBuf::from(format!("{}.log", s.path.display())),
        None => default_log,
    };
    Ok(Personal { script, dir, log_path })
}

/// `KEY`, `KEY2`, `KEY3`, … until the first missing number.
fn numbered(
    plugin: &BTreeMap<String, String>,
    key: &str,
    home: Option<&Path>,
    role: Role,
) -> Result<Vec<ScriptRef>, LocationError> {
    let mut out = Vec::new();
    for n in 1.. {
        let name = if n == 1 { key.to_string() } else { format!("{key}{n}") };
        let Some(value) = plugin.get(&name) else { break };
        if value.is_empty() {
            continue;
        }
        let loc = parse_location(value, home)?;
        out.extend(scripts_at(&loc, role));
    }
    Ok(out)
}

/// A location naming one script file.
fn single_script(
    value: &str,
    home: Option<&Path>,
    role: Role,
) -> Result<Option<ScriptRef>, LocationError> {
    let loc = parse_location(value, home)?;
    Ok(scripts_at(&loc, role).into_iter().next())
}

/// A directory contributes its `*.sieve` files in byte order; a file itself; nothing else.
fn scripts_at(loc: &Location, role: Role) -> Vec<ScriptRef> {
    if loc.path.is_file() {
        return vec![script_ref(loc.path.clone(), loc.bindir.as_deref(), role)];
    }
    let Ok(entries) = std::fs::read_dir(&loc.path) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sieve") && p.is_file())
        .collect();
    files.sort_by(|a, b| a.as_os_str().as_encoded_bytes().cmp(b.as_os_str().as_encoded_bytes()));
    files.into_iter().map(|p| script_ref(p, loc.bindir.as_deref(), role)).collect()
}

fn script_ref(path: PathBuf, bindir: Option<&Path>, role: Role) -> ScriptRef {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = file_name.strip_suffix(".sieve").unwrap_or(&file_name).to_string();
    let bin_name = match file_name.strip_suffix(".sieve") {
        Some(stem) => format!("{stem}.svbin"),
        None => format!("{file_name}.svbin"),
    };
    let bin_path = match bindir {
        Some(dir) => dir.join(format!("{name}.svbin")),
        None => path.with_file_name(bin_name),
    };
    ScriptRef { name, path, bin_path, role }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn debian_default_with_only_dot_dovecot_sieve() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".dovecot.sieve"), "keep;").unwrap();
        let p = plugin(&[("sieve", "file:~/sieve;active=~/.dovecot.sieve")]);
        let seq = script_sequence(&p, Some(home.path())).unwrap().unwrap();
        let main = seq.main.unwrap();
        assert_eq!(main.name, ".dovecot");
        assert_eq!(main.bin_path, home.path().join(".dovecot.svbin"));
        assert_eq!(seq.user_log, home.path().join(".dovecot.sieve.log"));
    }

    #[test]
    fn active_symlink_into_the_storage_dir() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join("sieve")).unwrap();
        std::fs::write(home.path().join("sieve/foo.sieve"), "keep;").unwrap();
        std::os::unix::fs::symlink("sieve/foo.sieve", home.path().join(".dovecot.sieve")).unwrap();
        let p = plugin(&[("sieve", "file:~/sieve;active=~/.dovecot.sieve")]);
        let seq = script_sequence(&p, Some(home.path())).unwrap().unwrap();
        assert_eq!(seq.main.unwrap().path, home.path().join(".dovecot.sieve"));
        assert_eq!(seq.personal_dir, Some(home.path().join("sieve")));
    }

    #[test]
    fn default_only_without_personal_and_disabled() {
        let home = tempfile::tempdir().unwrap();
        let global = home.path().join("default.sieve");
        std::fs::write(&global, "keep;").unwrap();
        let p = plugin(&[
            ("sieve", "file:~/sieve;active=~/.dovecot.sieve"),
            ("sieve_default", global.to_str().unwrap()),
        ]);
        let seq = script_sequence(&p, Some(home.path())).unwrap().unwrap();
        assert_eq!(seq.main.unwrap().role, Role::Default);
        let off = plugin(&[("sieve_enabled", "no")]);
        assert_eq!(script_sequence(&off, Some(home.path())).unwrap(), None);
        assert!(script_sequence(&plugin(&[]), Some(home.path())).unwrap().unwrap().is_empty());
    }

    #[test]
    fn before_dirs_are_sorted_bytewise_and_numbering_stops_at_a_gap() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("before.d");
        std::fs::create_dir(&dir).unwrap();
        for name in ["20-b.sieve", "10-a.sieve", "README"] {
            std::fs::write(dir.join(name), "keep;").unwrap();
        }
        let one = home.path().join("one.sieve");
        std::fs::write(&one, "keep;").unwrap();
        let p = plugin(&[
            ("sieve_before", dir.to_str().unwrap()),
            ("sieve_before2", one.to_str().unwrap()),
            ("sieve_before4", one.to_str().unwrap()),
        ]);
        let seq = script_sequence(&p, Some(home.path())).unwrap().unwrap();
        let names: Vec<_> = seq.before.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["10-a", "20-b", "one"]);
    }
}
