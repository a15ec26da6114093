//! Making one script of a sequence ready to run: from its compiled-script cache when that is
//! fresh, otherwise compiled (and cached), with `include` served from the user's and the
//! administrator's script directories.

use std::collections::BTreeMap;
use std::path::Path;

use sieve::{CompileOptions, Compiled, ExtensionConfig, Limits};
use sieve_scripts::ScriptRef;

use super::script_cache::{self, CacheTarget, IncludeDirs};
use crate::deliver::{DeliveryError, DeliveryLog};

pub use super::script_cache::CompileFailure;

/// Sieve limits from the plugin settings (Pigeonhole's names and defaults).
pub fn limits_from(plugin: &BTreeMap<String, String>) -> Limits {
    Limits::from_settings(plugin)
}

/// Compile one script of the sequence, or load it from its cache (`.lbsvbin` beside
/// Pigeonhole's `.svbin` path); cache events go to the debug log. The outer error is a log
/// write failure only.
pub fn compile_script(
    script: &ScriptRef,
    plugin: &BTreeMap<String, String>,
    personal_dir: Option<&Path>,
    global_dir: Option<&Path>,
    log: &mut dyn DeliveryLog,
) -> Result<Result<Compiled, CompileFailure>, DeliveryError> {
    let opts = CompileOptions {
        extensions: ExtensionConfig::from_settings(plugin),
        limits: limits_from(plugin),
        includes: None,
        extra_extensions: Vec::new(),
        admin: script.role.is_admin(),
    };
    let dirs = IncludeDirs {
        personal: personal_dir.map(Path::to_path_buf),
        global: global_dir.map(Path::to_path_buf),
    };
    let cache = script_cache::cache_path(&script.bin_path);
    let target = CacheTarget { script: &script.path, cache: &cache, name: &script.name };
    let mut notes = Vec::new();
    let result = script_cache::load_or_compile(target, &opts, &dirs, &mut notes);
    for note in notes {
        log.debug(&note).map_err(DeliveryError::Log)?;
    }
    Ok(result)
}
