//! Sieve mail filtering (RFC 5228 and extensions) for letterbox.
//!
//! This crate compiles Sieve scripts ([`compile`]) and evaluates them ([`run`]) against one
//! message and envelope, producing the list of actions (keep, fileinto, redirect, reject,
//! vacation, notify, header edits) with RFC 5228's implicit-keep rule and Pigeonhole's
//! duplicate/conflict rules applied. It performs **no I/O**: everything a script may ask about
//! the outside world (mailbox existence, duplicate tracking, environment items, the current
//! time, spam scores) is answered by the host through [`ScriptEnvironment`]; included scripts
//! are loaded at compile time through [`IncludeResolver`]; the host executes the resulting
//! actions. It deliberately does not read script or cache files, store mail or send messages;
//! [`binary`] only converts a compiled [`Script`] to and from the bytes of the host's
//! compiled-script cache. Behaviour, error wording and limits mirror Pigeonhole 0.5.19
//! (`src/lib-sieve/`), the Sieve plugin of Dovecot 2.3.19; no code was taken from it.
//!
//! Typical use: build [`CompileOptions`] from the plugin settings
//! ([`ExtensionConfig::from_settings`], [`Limits::from_settings`], an [`IncludeResolver`]),
//! [`compile`] the script (errors come back as [`Diagnostics`] whose `Display` is Pigeonhole's
//! log format), parse the message once with [`MessageView::parse`], then [`run`] it with a
//! [`ScriptEnvironment`] and execute the [`SieveResult`]. [`dry_run_report`] prints a result
//! the way `sieve-test` does.
//!
//! Extensions are listed once in [`extensions::ALL_EXTENSIONS`]. Code outside this crate (the
//! conformance runner's `vnd.dovecot.testsuite`) adds its own [`Extension`]s through
//! [`CompileOptions::extra_extensions`]; their commands and tests are
//! [`interpret::custom::CustomCommand`]/[`interpret::custom::CustomTest`] implementations that
//! receive the running [`Machine`].

pub mod address;
pub mod binary;
pub mod diag;
pub mod extensions;
pub mod interpret;
mod language;
pub mod mailto;
pub mod matching;
pub mod message;
pub mod mime;
pub mod program;
pub mod result;
pub mod scores;
pub mod syntax;
pub mod validate;

use std::sync::Arc;

pub use diag::{Diagnostic, Diagnostics, Pos, Severity};
pub use extensions::{Extension, ExtensionConfig, Registrar};
pub use interpret::{
    Envelope, ErrorClass, HostError, Limits, Machine, Now, NullEnvironment, RuntimeError,
    ScriptEnvironment, implementation_item, run, run_appending,
};
pub use message::MessageView;
pub use program::{IncludeLocation, Script};
pub use result::{Action, NotifyAction, ReportAction, SieveResult, VacationAction, dry_run_report};

/// Loads scripts named by `include` while compiling.
pub trait IncludeResolver: Send + Sync {
    /// The source of script `name` at `location`; `Ok(None)` when it does not exist.
    fn load(&self, location: IncludeLocation, name: &str) -> Result<Option<String>, String>;
}

/// Everything `compile` needs besides the source.
#[derive(Clone, Default)]
pub struct CompileOptions {
    /// Enabled extensions and extension settings.
    pub extensions: ExtensionConfig,
    /// Limits (script size, include depth and count).
    pub limits: Limits,
    /// Where `include` finds scripts; without one every include fails to compile.
    pub includes: Option<Arc<dyn IncludeResolver>>,
    /// Extensions from outside this crate (e.g. `vnd.dovecot.testsuite`).
    pub extra_extensions: Vec<Arc<dyn Extension>>,
    /// True for admin scripts (sieve_before/after/default/global), which may also use
    /// `sieve_global_extensions`.
    pub admin: bool,
}

impl std::fmt::Debug for CompileOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileOptions")
            .field("extensions", &self.extensions)
            .field("limits", &self.limits)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// A successfully compiled script and its warnings.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The program.
    pub script: Script,
    /// Warnings (e.g. a vacation period below the minimum).
    pub warnings: Vec<Diagnostic>,
}

/// Compiles `source`; `script_name` (file name without `.sieve`) prefixes diagnostics.
pub fn compile(
    source: &str,
    script_name: &str,
    opts: &CompileOptions,
) -> Result<Compiled, Diagnostics> {
    let registry =
        Arc::new(extensions::Registry::new(&opts.extensions, &opts.extra_extensions, opts.admin));
    let mut unit = validate::Unit {
        registry,
        options: opts.clone(),
        diags: Diagnostics::default(),
        globals: Vec::new(),
        includes: Vec::new(),
        include_sources: Vec::new(),
        include_stack: Vec::new(),
    };
    let max = opts.limits.max_script_size;
    if max > 0 && source.len() as u64 > max {
        unit.diags.error(
            script_name,
            Pos::default(),
            format!("script is too large (max {max} bytes)"),
        );
        return Err(unit.diags);
    }
    let main = validate::compile_program(&mut unit, source, script_name);
    if let Err(stage) = &main {
        unit.diags.error(script_name, Pos::default(), stage.summary());
    }
    match main {
        Ok(main) if !unit.diags.has_errors() => Ok(Compiled {
            script: Script {
                name: script_name.to_owned(),
                main,
                includes: unit.includes,
                globals: unit.globals,
            },
            warnings: unit.diags.warnings,
        }),
        _ => Err(unit.diags),
    }
}
