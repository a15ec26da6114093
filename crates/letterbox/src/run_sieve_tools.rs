//! `letterbox sievec` and `letterbox sieve-test`: Pigeonhole's command-line tools for users and
//! admins (sieve-behaviour.md §12): check a script, or dry-run it against a message and print
//! what it would do.

use std::collections::BTreeMap;
use std::path::Path;

use delivery::sieve_delivery::script_cache::{
    self, CacheTarget, CacheWriteError, CompileFailure, IncludeDirs,
};
use sieve::{CompileOptions, Compiled, Envelope, ExtensionConfig, MessageView};

use crate::exit_status::ExitStatus;

/// Pigeonhole's exit status for a script that does not compile.
const EXIT_COMPILE_FAILED: u8 = 89;

/// Options shared by both tools.
#[derive(Debug, Default)]
struct ToolArgs {
    positional: Vec<String>,
    extensions: Option<String>,
    from: Option<String>,
    rcpt: Option<String>,
    orig: Option<String>,
    mailbox: Option<String>,
    before: Vec<String>,
}

fn parse(args: &[String], with_values: &str) -> Result<ToolArgs, String> {
    let mut out = ToolArgs::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let letter =
            arg.strip_prefix('-').and_then(|r| r.chars().next()).filter(|_| arg.len() == 2);
        match letter {
            Some(l) if with_values.contains(l) => {
                i += 1;
                let v = args.get(i).cloned().ok_or(format!("option -{l} requires an argument"))?;
                match l {
                    'x' => out.extensions = Some(v),
                    'f' => out.from = Some(v),
                    'r' => out.rcpt = Some(v),
                    'a' => out.orig = Some(v),
                    'm' => out.mailbox = Some(v),
                    's' => out.before.push(v),
                    _ => {}
                }
            }
            Some(l) if l != '-' => return Err(format!("invalid option -- '{l}'")),
            _ => out.positional.push(arg.clone()),
        }
        i += 1;
    }
    Ok(out)
}

/// Compiles the script at `path` with the default extensions (plus `-x`), `include :personal`
/// reading from the script's own directory; with `cache`, the compiled script is also written
/// to its cache file (`NAME.lbsvbin`, as Pigeonhole's sievec writes `NAME.svbin`; sieve-test
/// neither reads nor writes caches, as Pigeonhole's does not). The cache
/// serves a delivery only when the delivery compiles with the same settings; otherwise the
/// delivery simply compiles again.
fn compile_file(
    path: &str,
    extensions: Option<&str>,
    cache: bool,
) -> Result<(Compiled, Option<Result<(), CacheWriteError>>), String> {
    let mut settings = BTreeMap::new();
    if let Some(x) = extensions {
        settings.insert("sieve_extensions".to_string(), x.to_string());
    }
    let script = Path::new(path);
    let dirs = IncludeDirs {
        personal: Some(script.parent().map(Path::to_path_buf).unwrap_or_default()),
        global: None,
    };
    let opts = CompileOptions {
        extensions: ExtensionConfig::from_settings(&settings),
        ..CompileOptions::default()
    };
    let name = script.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.strip_suffix(".sieve").unwrap_or(&name).to_string();
    let cache_file = script_cache::cache_path(script);
    let target = CacheTarget { script, cache: &cache_file, name: &name };
    let result = if cache {
        script_cache::compile_and_cache(target, &opts, &dirs).map(|(c, w)| (c, Some(w)))
    } else {
        script_cache::compile_uncached(target, &opts, &dirs).map(|c| (c, None))
    };
    result.map_err(|failure| match failure {
        CompileFailure::Read(e) => format!("{path}: {e}\n"),
        CompileFailure::Diagnostics(diags) => {
            let mut text = String::new();
            for d in diags.errors.iter().chain(diags.warnings.iter()) {
                text.push_str(&format!(
                    "{path}:{}: {}\n",
                    d.line,
                    d.to_string().split_once(": ").map_or("", |(_, r)| r)
                ));
            }
            text.push_str(&format!("{name}: error: validation failed.\n"));
            text
        }
    })
}

/// `letterbox sievec [-x EXTENSIONS] SCRIPT...`: exit 0 when every script compiles, 89 (as
/// Pigeonhole's tools) when one does not.
pub fn run_sievec(args: &[String]) -> crate::exit_status::ExitCode {
    let parsed = match parse(args, "x") {
        Ok(p) if !p.positional.is_empty() => p,
        Ok(_) => {
            eprintln!("Usage: letterbox sievec [-x <extensions>] <script-file>...");
            return ExitStatus::Usage.into();
        }
        Err(e) => {
            eprintln!("sievec: {e}");
            return ExitStatus::Usage.into();
        }
    };
    let mut ok = true;
    for path in &parsed.positional {
        match compile_file(path, parsed.extensions.as_deref(), true) {
            Ok((compiled, written)) => {
                for w in &compiled.warnings {
                    eprintln!(
                        "{path}:{}: {}",
                        w.line,
                        w.to_string().split_once(": ").map_or("", |(_, r)| r)
                    );
                }
                // Like Pigeonhole's sievec: an error line, but the script did compile (exit 0).
                if let Some(Err(e)) = written {
                    eprintln!("sievec: Error: failed to save compiled script for {path}: {e}");
                }
            }
            Err(text) => {
                eprint!("{text}");
                ok = false;
            }
        }
    }
    if ok { ExitStatus::Ok.into() } else { crate::exit_status::ExitCode::from(EXIT_COMPILE_FAILED) }
}

/// sieve-test's answers: no mailboxes, no duplicates, Pigeonhole's `MS`/`post` environment.
struct ToolHost {
    default_mailbox: String,
}

impl sieve::ScriptEnvironment for ToolHost {
    fn environment_item(&mut self, name: &str) -> Option<String> {
        if let Some(value) = sieve::implementation_item(name) {
            return Some(value);
        }
        Some(match name {
            "location" => "MS".into(),
            "phase" => "post".into(),
            _ => return None,
        })
    }

    fn default_mailbox(&self) -> String {
        self.default_mailbox.clone()
    }
}

/// The envelope sieve-test assumes when options do not give one.
fn default_envelope(view: &MessageView, parsed: &ToolArgs) -> Envelope {
    let first_addr = |names: &[&str]| {
        names.iter().find_map(|n| {
            let v = view.header_values(n).into_iter().next()?;
            sieve::message::parse_addresses(v.as_bytes()).into_iter().next().map(|a| a.address)
        })
    };
    let from = parsed.from.clone().or_else(|| first_addr(&["return-path", "sender", "from"]));
    let to = parsed
        .rcpt
        .clone()
        .or_else(|| first_addr(&["envelope-to", "to"]))
        .unwrap_or_else(|| "recipient@example.com".into());
    Envelope {
        from: Some(from.unwrap_or_else(|| "sender@example.com".into())),
        orig_to: Some(parsed.orig.clone().unwrap_or_else(|| to.clone())),
        to,
        auth: None,
    }
}

/// `letterbox sieve-test [-f FROM] [-r RCPT] [-a ORIG] [-m MAILBOX] [-x EXT] [-s SCRIPT]...
/// SCRIPT MESSAGE`: prints the actions the script would perform. Exit 0 on success, 1 when the
/// run failed, 89 when a script does not compile.
pub fn run_sieve_test(args: &[String]) -> crate::exit_status::ExitCode {
    let parsed = match parse(args, "xframs") {
        Ok(p) if p.positional.len() == 2 => p,
        _ => {
            eprintln!(
                "Usage: letterbox sieve-test [-f <from>] [-r <rcpt>] [-a <orig-rcpt>] [-m <mailbox>] [-x <extensions>] [-s <script>]... <script> <message>"
            );
            return ExitStatus::Usage.into();
        }
    };
    let raw = match std::fs::read(&parsed.positional[1]) {
        Ok(raw) => raw,
        Err(e) => {
            eprintln!("sieve-test: {}: {e}", parsed.positional[1]);
            return ExitStatus::TempFail.into();
        }
    };
    let view = MessageView::parse(&raw);
    let envelope = default_envelope(&view, &parsed);
    let mut env =
        ToolHost { default_mailbox: parsed.mailbox.clone().unwrap_or_else(|| "INBOX".into()) };
    let scripts: Vec<&String> =
        parsed.before.iter().chain(std::iter::once(&parsed.positional[0])).collect();
    for script in &scripts {
        let compiled = match compile_file(script, parsed.extensions.as_deref(), false) {
            Ok((c, _)) => c,
            Err(text) => {
                eprint!("{text}");
                eprintln!("sieve-test: Fatal: failed to compile sieve script");
                return crate::exit_status::ExitCode::from(EXIT_COMPILE_FAILED);
            }
        };
        if scripts.len() > 1 {
            println!("\n## Executing script: {script}");
        }
        match sieve::run(&compiled.script, &view, &envelope, &mut env, &sieve::Limits::default()) {
            Ok(result) => print!("{}", sieve::dry_run_report(&result)),
            Err(e) => {
                eprintln!("{}: line {}: error: {}.", compiled.script.name, e.line, e.message);
                eprintln!(
                    "sieve-test: Info: final result: failed; resolved with successful implicit keep"
                );
                return crate::exit_status::ExitCode::from(1);
            }
        }
    }
    eprintln!("sieve-test: Info: final result: success");
    ExitStatus::Ok.into()
}
