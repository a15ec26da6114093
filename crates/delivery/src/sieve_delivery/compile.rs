//! Reading and compiling the scripts of a sequence, with `include` served from the user's and
//! the administrator's script directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sieve::{CompileOptions, Compiled, Diagnostics, ExtensionConfig, IncludeLocation, Limits};
use sieve_scripts::ScriptRef;

/// `include` reads `<dir>/<name>.sieve` from the personal or global directory.
struct FsIncludes {
    personal: Option<PathBuf>,
    global: Option<PathBuf>,
}

impl sieve::IncludeResolver for FsIncludes {
    fn load(&self, location: IncludeLocation, name: &str) -> Result<Option<String>, String> {
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
        match std::fs::read(dir.join(format!("{name}.sieve"))) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("include: failed to read script '{name}': {e}")),
        }
    }
}

/// Sieve limits from the plugin settings (Pigeonhole's names and defaults).
pub fn limits_from(plugin: &BTreeMap<String, String>) -> Limits {
    Limits::from_settings(plugin)
}

/// Why a script could not be made ready to run.
#[derive(Debug)]
pub enum CompileFailure {
    /// The file could not be read.
    Read(std::io::Error),
    /// Compile errors (and warnings).
    Diagnostics(Diagnostics),
}

/// Compile one script of the sequence.
pub fn compile_script(
    script: &ScriptRef,
    plugin: &BTreeMap<String, String>,
    personal_dir: Option<&Path>,
    global_dir: Option<&Path>,
) -> Result<Compiled, CompileFailure> {
    let bytes = std::fs::read(&script.path).map_err(CompileFailure::Read)?;
    let source = String::from_utf8_lossy(&bytes);
    let opts = CompileOptions {
        extensions: ExtensionConfig::from_settings(plugin),
        limits: limits_from(plugin),
        includes: Some(Arc::new(FsIncludes {
            personal: personal_dir.map(Path::to_path_buf),
            global: global_dir.map(Path::to_path_buf),
        })),
        extra_extensions: Vec::new(),
        admin: script.role.is_admin(),
    };
    sieve::compile(&source, &script.name, &opts).map_err(CompileFailure::Diagnostics)
}
