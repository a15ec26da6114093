//! The compiled-script cache format (`NAME.lbsvbin`): a [`Script`] turned into bytes and back,
//! so that a delivery can skip parsing and validation when nothing changed.
//!
//! This module only converts; the host reads and writes the file, stats the files the script
//! depends on and decides whether the cache is still fresh (Pigeonhole's `.svbin` plays the
//! same role, but its format is its own: we never read or write `.svbin`, because Dovecot
//! shares the directory and must not find our bytes there).
//!
//! Layout: [`MAGIC`], [`FORMAT_VERSION`] (u32 LE), an FNV-1a 64 checksum (u64 LE) of the
//! rest, then the rest: a header (crate version, the [`CacheKey`] text, the host's
//! [`Dependency`] list) and the program, both in postcard. The key is stored verbatim, so a
//! cache written under other settings is rejected exactly, never by a hash collision.
//! Warnings are not stored: like Pigeonhole loading a `.svbin`, a cached script is silent.

pub(crate) mod serde_impls;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::CompileOptions;
use crate::extensions::ExtensionConfig;
use crate::interpret::Limits;
use crate::program::{IncludeLocation, Program, Script};
use crate::validate::strings::MAX_VARIABLES;

/// First bytes of every cache file.
pub const MAGIC: [u8; 8] = *b"LBSVBIN\0";

/// Version of the layout and of the serialized program types; bump it whenever a type in
/// `program.rs` changes shape (the crate version check catches releases, this catches
/// development builds of the same version).
pub const FORMAT_VERSION: u32 = 1;

/// The version of this crate, recorded in and checked against every cache file.
const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Bytes before the checksummed part: magic, format version, checksum.
const PREFIX_LEN: usize = 8 + 4 + 8;

/// Everything a compile depends on besides the sources: two compiles with equal keys and equal
/// sources produce the same program. A cache made under another key is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `opts`. It lists exactly what the compiler reads: the extensions the script
    /// may use (for an admin script that includes `sieve_global_extensions`, so a script
    /// compiled by `sievec` also serves as an admin script when those are equal), the
    /// extension settings and the compile-time limits. The destructuring is exhaustive, so a
    /// new setting cannot be forgotten here.
    pub fn new(opts: &CompileOptions) -> CacheKey {
        let ExtensionConfig {
            enabled,
            global_only,
            unknown: _,
            vacation_min_period,
            vacation_max_period,
            vacation_default_period,
            max_redirects,
        } = &opts.extensions;
        let allowed: BTreeSet<&str> = enabled
            .iter()
            .chain(global_only.iter().filter(|_| opts.admin))
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = opts.extra_extensions.iter().map(|e| e.name()).collect();
        let Limits {
            max_script_size,
            max_nesting,
            max_include_depth,
            max_includes,
            // Run-time only.
            max_actions: _,
            max_redirects: _,
            max_variable_size: _,
            cpu_steps: _,
            max_time: _,
        } = &opts.limits;
        CacheKey(format!(
            "extensions={allowed:?} extra={extra:?} vacation={vacation_min_period},\
             {vacation_max_period},{vacation_default_period} redirects={max_redirects} \
             script_size={max_script_size} nesting={max_nesting} \
             include_depth={max_include_depth} includes={max_includes}"
        ))
    }

    /// The key as stored in the file.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file the compiled script was made from, as the host saw it before reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// `None` for the script itself; for an include, its location and name as the script
    /// asked for it (the host maps them to a path again when checking).
    pub include: Option<(IncludeLocation, String)>,
    /// The file's metadata, `None` when it did not exist (an `:optional` include that is
    /// created later must make the cache stale).
    pub stamp: Option<FileStamp>,
}

/// File metadata that changes whenever the file is replaced or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds.
    pub mtime_sec: i64,
    /// Modification time, nanoseconds.
    pub mtime_nsec: i64,
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

/// Why a cache file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a cache file (or an empty/truncated one).
    #[error("not a compiled Sieve script (bad magic)")]
    BadMagic,
    /// Written in another layout.
    #[error("format version {found}, expected {FORMAT_VERSION}")]
    FormatVersion {
        /// The version in the file.
        found: u32,
    },
    /// The bytes were changed after writing.
    #[error("checksum mismatch")]
    Checksum,
    /// Written by another version of letterbox.
    #[error("written by version {found}, this is {CRATE_VERSION}")]
    CrateVersion {
        /// The version in the file.
        found: String,
    },
    /// Compiled under other settings (extensions, limits).
    #[error("compiled with other settings ({found})")]
    Options {
        /// The key in the file.
        found: String,
    },
    /// The header or the program does not decode.
    #[error("corrupt {part}: {reason}")]
    Corrupt {
        /// `header` or `program`.
        part: &'static str,
        /// What the decoder said.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Header {
    crate_version: String,
    key: String,
    deps: Vec<Dependency>,
}

/// The cache of `script`, with the host's dependency list; `None` when the script holds
/// host-provided (custom) commands or tests, which cannot be stored.
pub fn encode(script: &Script, key: &CacheKey, deps: &[Dependency]) -> Option<Vec<u8>> {
    let header =
        Header { crate_version: CRATE_VERSION.to_owned(), key: key.0.clone(), deps: deps.to_vec() };
    let mut body = postcard::to_allocvec(&header).ok()?;
    body.extend(postcard::to_allocvec(script).ok()?);
    let mut out = Vec::with_capacity(PREFIX_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&fnv1a64(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

/// A checked cache file whose program is not decoded yet: the host first compares the
/// dependencies, and pays for decoding (and rebuilding regexes) only when they still match.
#[derive(Debug)]
pub struct CachedScript<'a> {
    /// The dependencies recorded when the cache was written.
    pub deps: Vec<Dependency>,
    payload: &'a [u8],
}

/// Checks magic, format version, checksum, crate version and key, and reads the header.
pub fn decode_header<'a>(bytes: &'a [u8], key: &CacheKey) -> Result<CachedScript<'a>, DecodeError> {
    if bytes.len() < PREFIX_LEN || bytes[..8] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let (version, rest) = bytes[8..].split_at(4);
    let found = u32::from_le_bytes(version.try_into().map_err(|_| DecodeError::BadMagic)?);
    if found != FORMAT_VERSION {
        return Err(DecodeError::FormatVersion { found });
    }
    let (sum, body) = rest.split_at(8);
    let sum = u64::from_le_bytes(sum.try_into().map_err(|_| DecodeError::BadMagic)?);
    if sum != fnv1a64(body) {
        return Err(DecodeError::Checksum);
    }
    let (header, payload) = postcard::take_from_bytes::<Header>(body)
        .map_err(|e| DecodeError::Corrupt { part: "header", reason: e.to_string() })?;
    if header.crate_version != CRATE_VERSION {
        return Err(DecodeError::CrateVersion { found: header.crate_version });
    }
    if header.key != key.0 {
        return Err(DecodeError::Options { found: header.key });
    }
    Ok(CachedScript { deps: header.deps, payload })
}

impl CachedScript<'_> {
    /// Decodes the program (regexes are compiled again here).
    pub fn script(&self) -> Result<Script, DecodeError> {
        let corrupt = |reason: String| DecodeError::Corrupt { part: "program", reason };
        let (script, rest) = postcard::take_from_bytes::<Script>(self.payload)
            .map_err(|e| corrupt(e.to_string()))?;
        if !rest.is_empty() {
            return Err(corrupt(format!("{} trailing bytes", rest.len())));
        }
        // The interpreter allocates the local slots up front: never trust a count the compiler
        // could not have produced.
        let mut programs =
            std::iter::once(&script.main).chain(script.includes.iter().map(|i| &i.program));
        if let Some(p) = programs.find(|p: &&Program| p.local_vars > MAX_VARIABLES) {
            return Err(corrupt(format!("{} local variables in {}", p.local_vars, p.name)));
        }
        Ok(script)
    }
}

/// [`decode_header`] and [`CachedScript::script`] in one: the program and its dependencies.
pub fn decode(bytes: &[u8], key: &CacheKey) -> Result<(Script, Vec<Dependency>), DecodeError> {
    let cached = decode_header(bytes, key)?;
    let script = cached.script()?;
    Ok((script, cached.deps))
}

/// FNV-1a, 64 bit: catches every single-byte change (each step is a bijection of the state),
/// which is what a torn or bit-flipped file looks like; it is not meant against forgery (who
/// can write the cache can write the script).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
