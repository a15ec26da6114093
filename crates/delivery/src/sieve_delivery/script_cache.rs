//! The on-disk cache of compiled Sieve scripts (`NAME.lbsvbin` beside `NAME.sieve`, or in
//! `bindir=`), the counterpart of Pigeonhole's `.svbin` files.
//!
//! A cache is used only when it decodes under the current settings ([`CacheKey`]) and every
//! file the compile read is unchanged: the script (stat following symlinks, so re-pointing an
//! active-script symlink invalidates) and each script `include` asked for, including the ones
//! that did not exist. "Unchanged" means same existence, size, mtime (with nanoseconds), device
//! and inode. Files are stat'ed *before* they are read, so a change during a compile leaves a
//! cache that looks stale, never one that looks fresh but is wrong. We never use Pigeonhole's
//! `.svbin` name: Dovecot itself may share the directory and must not find our format there.
//!
//! The cache is an optimisation only: a cache that cannot be read, does not decode or cannot be
//! written is reported as a note (the caller's debug log) and delivery goes on with a compile.
//! Scripts with compile errors never get a cache. Writing is atomic (temporary file in the same
//! directory, then rename) and the file gets the script's permission bits, as Pigeonhole does,
//! so a cache an administrator makes with `sievec` stays readable for whoever may read the
//! script.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use sieve::binary::{self, CacheKey, Dependency, FileStamp};
use sieve::{CompileOptions, Compiled, IncludeLocation, IncludeResolver};

/// File name suffix of our cache files.
pub const CACHE_SUFFIX: &str = ".lbsvbin";

/// The cache path for a script or for Pigeonhole's binary path of it: a trailing `.sieve` or
/// `.svbin` is replaced by `.lbsvbin`, any other name gets `.lbsvbin` appended
/// (`~/.dovecot.sieve` → `~/.dovecot.lbsvbin`).
pub fn cache_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".sieve").or_else(|| name.strip_suffix(".svbin"));
    path.with_file_name(format!("{}{CACHE_SUFFIX}", stem.unwrap_or(&name)))
}

/// Where `include` finds scripts: `<dir>/<name>.sieve` in the personal or global directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncludeDirs {
    /// The user's script storage (`include :personal`).
    pub personal: Option<PathBuf>,
    /// `sieve_global` (`include :global`).
    pub global: Option<PathBuf>,
}

impl IncludeDirs {
    /// The file of script `name` at `location`, or why there is none.
    pub fn script_path(&self, location: IncludeLocation, name: &str) -> Result<PathBuf, String> {
        let dir = match location {
            IncludeLocation::Personal => &self.personal,
            IncludeLocation::Global => &self.global,
        };
        let Some(dir) = dir else {
            return Err(format!("include: no {location:?} script location is configured"));
        };
        if name.contains('/') || name.starts_with('.') {
            return Err(format!("include: invalid script name '{name}'"));
        }
        Ok(dir.join(format!("{name}.sieve")))
    }
}

/// One script to compile and where its cache lives.
#[derive(Debug, Clone, Copy)]
pub struct CacheTarget<'a> {
    /// The script file (symlinks are followed).
    pub script: &'a Path,
    /// The cache file ([`cache_path`]).
    pub cache: &'a Path,
    /// Script name for messages (file name without `.sieve`).
    pub name: &'a str,
}

/// Why a script could not be made ready to run.
#[derive(Debug)]
pub enum CompileFailure {
    /// The file could not be read.
    Read(std::io::Error),
    /// Compile errors (and warnings).
    Diagnostics(sieve::Diagnostics),
}

/// Why a compiled script was not written to its cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheWriteError {
    /// The program holds host-provided commands.
    #[error("script uses commands that cannot be cached")]
    NotCacheable,
    /// The script could not be stat'ed, so freshness could not be recorded.
    #[error("cannot stat {}: {source}", path.display())]
    Stat {
        /// The script.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Creating, writing or renaming the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file that failed (temporary or final).
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Loads the compiled script from its cache when it is fresh, otherwise compiles it (with
/// `opts`, whose `includes` is replaced by a resolver over `dirs`) and writes the cache.
/// `notes` receives one debug line per cache event.
pub fn load_or_compile(
    target: CacheTarget<'_>,
    opts: &CompileOptions,
    dirs: &IncludeDirs,
    notes: &mut Vec<String>,
) -> Result<Compiled, CompileFailure> {
    let key = CacheKey::new(opts);
    // Stat before anything is read (see the module doc).
    let stamp = fs::metadata(target.script).map(|m| stamp_of(&m));
    if let Ok(stamp) = &stamp
        && let Some(compiled) = load(target, &key, *stamp, dirs, notes)
    {
        return Ok(compiled);
    }
    let (compiled, written) = compile_with_stamp(target, opts, dirs, stamp)?;
    notes.push(match written {
        Ok(()) => format!(
            "sieve: Compiled script {} and cached it in {}",
            target.script.display(),
            target.cache.display()
        ),
        Err(e) => format!("sieve: Compiled script {}, not cached: {e}", target.script.display()),
    });
    Ok(compiled)
}

/// Compiles the script and writes its cache whatever is there (what `sievec` does). The
/// second value tells whether the cache was written.
pub fn compile_and_cache(
    target: CacheTarget<'_>,
    opts: &CompileOptions,
    dirs: &IncludeDirs,
) -> Result<(Compiled, Result<(), CacheWriteError>), CompileFailure> {
    let stamp = fs::metadata(target.script).map(|m| stamp_of(&m));
    compile_with_stamp(target, opts, dirs, stamp)
}

/// Compiles the script without looking at or writing any cache (what `sieve-test` does).
pub fn compile_uncached(
    target: CacheTarget<'_>,
    opts: &CompileOptions,
    dirs: &IncludeDirs,
) -> Result<Compiled, CompileFailure> {
    compile_recording(target, opts, dirs).map(|(compiled, _, _)| compiled)
}

/// Compiles with a recording include resolver: the program, the options used (for the key)
/// and the includes looked up.
fn compile_recording(
    target: CacheTarget<'_>,
    opts: &CompileOptions,
    dirs: &IncludeDirs,
) -> Result<(Compiled, CompileOptions, Vec<Dependency>), CompileFailure> {
    let bytes = fs::read(target.script).map_err(CompileFailure::Read)?;
    let source = String::from_utf8_lossy(&bytes);
    let recorder = Arc::new(RecordingIncludes { dirs: dirs.clone(), seen: Mutex::default() });
    let mut opts = opts.clone();
    opts.includes = Some(recorder.clone());
    let compiled =
        sieve::compile(&source, target.name, &opts).map_err(CompileFailure::Diagnostics)?;
    let seen = std::mem::take(&mut *recorder.seen.lock().unwrap_or_else(PoisonError::into_inner));
    Ok((compiled, opts, seen))
}

fn compile_with_stamp(
    target: CacheTarget<'_>,
    opts: &CompileOptions,
    dirs: &IncludeDirs,
    stamp: std::io::Result<FileStamp>,
) -> Result<(Compiled, Result<(), CacheWriteError>), CompileFailure> {
    let (compiled, opts, includes) = compile_recording(target, opts, dirs)?;
    let written = stamp
        .map_err(|source| CacheWriteError::Stat { path: target.script.to_path_buf(), source })
        .and_then(|stamp| {
            let mut deps = vec![Dependency { include: None, stamp: Some(stamp) }];
            deps.extend(includes);
            let bytes = binary::encode(&compiled.script, &CacheKey::new(&opts), &deps)
                .ok_or(CacheWriteError::NotCacheable)?;
            write_atomically(target, &bytes)
        });
    Ok((compiled, written))
}

/// The cached program when the cache exists, decodes and is fresh; notes why not otherwise.
fn load(
    target: CacheTarget<'_>,
    key: &CacheKey,
    script_stamp: FileStamp,
    dirs: &IncludeDirs,
    notes: &mut Vec<String>,
) -> Option<Compiled> {
    let cache = target.cache.display();
    let bytes = match fs::read(target.cache) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            notes.push(format!("sieve: Ignoring compiled script {cache}: {e}"));
            return None;
        }
    };
    let cached = match binary::decode_header(&bytes, key) {
        Ok(cached) => cached,
        Err(e) => {
            notes.push(format!("sieve: Ignoring compiled script {cache}: {e}"));
            return None;
        }
    };
    if let Some(stale) = cached.deps.iter().find(|d| !is_fresh(d, script_stamp, dirs)) {
        let what = match &stale.include {
            None => target.script.display().to_string(),
            Some((location, name)) => format!("{location:?} include '{name}'"),
        };
        notes.push(format!("sieve: Compiled script {cache} is stale ({what} changed)"));
        return None;
    }
    match cached.script() {
        Ok(mut script) => {
            script.name = target.name.to_owned();
            script.main.name = target.name.to_owned();
            notes.push(format!("sieve: Loaded compiled script from {cache}"));
            Some(Compiled { script, warnings: Vec::new() })
        }
        Err(e) => {
            notes.push(format!("sieve: Ignoring compiled script {cache}: {e}"));
            None
        }
    }
}

/// Whether a recorded dependency still looks the same.
fn is_fresh(dep: &Dependency, script_stamp: FileStamp, dirs: &IncludeDirs) -> bool {
    match &dep.include {
        None => dep.stamp == Some(script_stamp),
        Some((location, name)) => match dirs.script_path(*location, name) {
            Ok(path) => match fs::metadata(&path) {
                Ok(meta) => dep.stamp == Some(stamp_of(&meta)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => dep.stamp.is_none(),
                Err(_) => false,
            },
            Err(_) => false,
        },
    }
}

fn stamp_of(meta: &fs::Metadata) -> FileStamp {
    FileStamp {
        size: meta.size(),
        mtime_sec: meta.mtime(),
        mtime_nsec: meta.mtime_nsec(),
        dev: meta.dev(),
        ino: meta.ino(),
    }
}

/// Writes `bytes` to a temporary file beside the cache and renames it into place; the file
/// gets the script's permission bits.
fn write_atomically(target: CacheTarget<'_>, bytes: &[u8]) -> Result<(), CacheWriteError> {
    let mode = fs::metadata(target.script).map(|m| m.mode() & 0o666).unwrap_or(0o600) | 0o600;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let file_name = target.cache.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = target.cache.with_file_name(format!(
        "{}.{}.{nanos}.tmp",
        file_name.unwrap_or_default(),
        std::process::id()
    ));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CacheWriteError::Io { path, source }
    };
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))
        .and_then(|mut file| {
            file.write_all(bytes).map_err(io(&tmp))?;
            file.set_permissions(fs::Permissions::from_mode(mode)).map_err(io(&tmp))
        })
        .and_then(|()| fs::rename(&tmp, target.cache).map_err(io(target.cache)));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Serves `include` from [`IncludeDirs`] and records what each lookup found, stat'ed before
/// the file is read.
struct RecordingIncludes {
    dirs: IncludeDirs,
    seen: Mutex<Vec<Dependency>>,
}

impl IncludeResolver for RecordingIncludes {
    fn load(&self, location: IncludeLocation, name: &str) -> Result<Option<String>, String> {
        let path = self.dirs.script_path(location, name)?;
        let fail = |e: std::io::Error| format!("include: failed to read script '{name}': {e}");
        let stamp = match fs::metadata(&path) {
            Ok(meta) => Some(stamp_of(&meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(e)),
        };
        let dep = Dependency { include: Some((location, name.to_owned())), stamp };
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).push(dep);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fail(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_in(dir: &Path, notes: &mut Vec<String>) -> Result<Compiled, CompileFailure> {
        let script = dir.join("main.sieve");
        let cache = cache_path(&script);
        let target = CacheTarget { script: &script, cache: &cache, name: "main" };
        let dirs = IncludeDirs { personal: Some(dir.to_path_buf()), global: None };
        load_or_compile(target, &CompileOptions::default(), &dirs, notes)
    }

    #[test]
    fn cache_names_replace_sieve_or_svbin_and_append_otherwise() {
        assert_eq!(cache_path(Path::new("/h/.dovecot.sieve")), Path::new("/h/.dovecot.lbsvbin"));
        assert_eq!(cache_path(Path::new("/b/foo.svbin")), Path::new("/b/foo.lbsvbin"));
        assert_eq!(cache_path(Path::new("/h/script")), Path::new("/h/script.lbsvbin"));
    }

    #[test]
    fn include_names_cannot_leave_the_directory() {
        let dirs = IncludeDirs { personal: Some("/s".into()), global: None };
        assert_eq!(
            dirs.script_path(IncludeLocation::Personal, "a").unwrap(),
            Path::new("/s/a.sieve")
        );
        assert!(dirs.script_path(IncludeLocation::Personal, "../x").is_err());
        assert!(dirs.script_path(IncludeLocation::Personal, ".hidden").is_err());
        assert!(dirs.script_path(IncludeLocation::Global, "a").is_err());
    }

    #[test]
    fn miss_then_hit_then_stale_after_an_include_appears() {
        let dir = tempfile::tempdir().unwrap();
        let main = "require [\"include\", \"fileinto\"];\ninclude :optional \"extra\";\nkeep;\n";
        fs::write(dir.path().join("main.sieve"), main).unwrap();
        let mut notes = Vec::new();
        let fresh = compile_in(dir.path(), &mut notes).unwrap();
        assert!(notes[0].contains("and cached it in"), "{notes:?}");
        let mut notes = Vec::new();
        let cached = compile_in(dir.path(), &mut notes).unwrap();
        assert!(notes[0].starts_with("sieve: Loaded compiled script"), "{notes:?}");
        assert_eq!(format!("{:?}", fresh.script), format!("{:?}", cached.script));
        fs::write(dir.path().join("extra.sieve"), "discard;\n").unwrap();
        let mut notes = Vec::new();
        let recompiled = compile_in(dir.path(), &mut notes).unwrap();
        assert!(notes[0].contains("Personal include 'extra' changed"), "{notes:?}");
        assert_eq!(recompiled.script.includes.len(), 1);
    }

    #[test]
    fn unwritable_cache_is_only_a_note() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("main.sieve"), "keep;\n").unwrap();
        // A directory where the cache file should be makes the rename fail, even for root.
        fs::create_dir(dir.path().join("main.lbsvbin")).unwrap();
        let mut notes = Vec::new();
        assert!(compile_in(dir.path(), &mut notes).is_ok());
        assert!(notes.iter().any(|n| n.contains("not cached")), "{notes:?}");
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file left behind");
    }

    #[test]
    fn compile_errors_write_no_cache() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("main.sieve"), "frop;\n").unwrap();
        let result = compile_in(dir.path(), &mut Vec::new());
        assert!(matches!(result, Err(CompileFailure::Diagnostics(_))));
        assert!(!dir.path().join("main.lbsvbin").exists());
    }
}
