//! `vnd.dovecot.testsuite` (Pigeonhole's conformance-test language), compiled only with the
//! `testsuite` cargo feature.
//!
//! This module declares the language side only: the capability, the `tst` variable namespace
//! (`${tst.path}`, answered by the host through [`crate::ScriptEnvironment::host_variable`]) and
//! the signatures of every testsuite command and test (`test`, `test_fail`, `test_set`,
//! `test_result_*`, `test_message`, `test_mailbox_*`, `test_config_*`, `test_script_*`,
//! `test_multiscript`, `test_binary_*`, `test_error`, `test_imap_metadata_set`), as Pigeonhole
//! 0.5.19's `src/testsuite/` accepts them. What they *do* (message and envelope state, a mail
//! store, captured SMTP, sub-script compilation) needs I/O, so it is deliberately left to the
//! runner: every command and test is dispatched by name to a [`TestsuiteHandler`] the runner
//! supplies (crate `sieve-testsuite`), which reaches its own state through
//! [`crate::ScriptEnvironment::as_any_mut`].

use std::sync::Arc;

use crate::extensions::{Extension, Registrar};
use crate::interpret::custom::{CustomCommand, CustomFlow, CustomTest};
use crate::interpret::{Machine, RuntimeError};
use crate::program::CustomArgs;
use crate::validate::signature::{ArgKind, Build, CommandDef, Positional, TagDef, pos_arg, tag};

/// What the runner implements: the behaviour of each testsuite command and test, by name.
pub trait TestsuiteHandler: Send + Sync {
    /// Runs the command `name` (e.g. `test`, `test_set`).
    fn command(
        &self,
        name: &'static str,
        args: &CustomArgs,
        m: &mut Machine<'_>,
    ) -> Result<CustomFlow, RuntimeError>;

    /// Evaluates the test `name` (e.g. `test_script_compile`, `test_error`).
    fn test(
        &self,
        name: &'static str,
        args: &CustomArgs,
        m: &mut Machine<'_>,
    ) -> Result<bool, RuntimeError>;
}

/// The `vnd.dovecot.testsuite` extension. Without a handler (e.g. in unit tests of the
/// compiler) the commands compile but every one of them fails at run time.
#[derive(Clone, Default)]
pub struct Testsuite {
    handler: Option<Arc<dyn TestsuiteHandler>>,
}

impl Testsuite {
    /// The extension with the runner's implementation of the commands.
    pub fn new(handler: Arc<dyn TestsuiteHandler>) -> Self {
        Testsuite { handler: Some(handler) }
    }
}

/// Forwards one command or test to the handler.
struct Dispatch {
    name: &'static str,
    handler: Option<Arc<dyn TestsuiteHandler>>,
}

impl Dispatch {
    fn missing(&self, m: &Machine<'_>) -> RuntimeError {
        m.failure(format!("{}: the testsuite extension has no runner attached", self.name))
    }
}

impl CustomCommand for Dispatch {
    fn execute(&self, args: &CustomArgs, m: &mut Machine<'_>) -> Result<CustomFlow, RuntimeError> {
        match &self.handler {
            Some(h) => h.command(self.name, args, m),
            None => Err(self.missing(m)),
        }
    }
}

impl CustomTest for Dispatch {
    fn evaluate(&self, args: &CustomArgs, m: &mut Machine<'_>) -> Result<bool, RuntimeError> {
        match &self.handler {
            Some(h) => h.test(self.name, args, m),
            None => Err(self.missing(m)),
        }
    }
}

/// One signature: name, test or command, positional arguments, own tags, match arguments.
struct Sig {
    name: &'static str,
    test: bool,
    positional: &'static [(&'static str, ArgKind)],
    tags: &'static [(&'static str, Option<ArgKind>)],
    match_args: bool,
    block: bool,
}

const fn cmd(
    name: &'static str,
    positional: &'static [(&'static str, ArgKind)],
    tags: &'static [(&'static str, Option<ArgKind>)],
) -> Sig {
    Sig { name, test: false, positional, tags, match_args: false, block: false }
}

const fn tst(
    name: &'static str,
    positional: &'static [(&'static str, ArgKind)],
    tags: &'static [(&'static str, Option<ArgKind>)],
) -> Sig {
    Sig { name, test: true, positional, tags, match_args: false, block: false }
}

const S: ArgKind = ArgKind::Str;
const L: ArgKind = ArgKind::StrList;
const N: ArgKind = ArgKind::Number;

/// Every command and test of the extension (Pigeonhole 0.5.19 signatures).
const SIGNATURES: &[Sig] = &[
    Sig { block: true, ..cmd("test", &[("test name", S)], &[]) },
    cmd("test_fail", &[("reason", S)], &[]),
    cmd("test_set", &[("object", S), ("value", S)], &[]),
    cmd("test_result_reset", &[], &[]),
    cmd("test_result_print", &[], &[]),
    cmd("test_message_print", &[], &[]),
    cmd("test_message", &[("index", N)], &[("smtp", None), ("folder", Some(S))]),
    tst("test_message", &[("index", N)], &[("smtp", None), ("folder", Some(S))]),
    cmd("test_mailbox_create", &[("mailbox", S)], &[]),
    cmd("test_mailbox_delete", &[("mailbox", S)], &[]),
    cmd("test_imap_metadata_set", &[("annotation", S), ("value", S)], &[("mailbox", Some(S))]),
    cmd("test_config_set", &[("setting", S), ("value", S)], &[]),
    cmd("test_config_unset", &[("setting", S)], &[]),
    cmd("test_config_reload", &[], &[("extension", Some(S))]),
    cmd("test_binary_save", &[("name", S)], &[]),
    cmd("test_binary_load", &[("name", S)], &[]),
    tst("test_result_execute", &[], &[]),
    Sig {
        match_args: true,
        ..tst("test_result_action", &[("key list", L)], &[("index", Some(N))])
    },
    Sig { match_args: true, ..tst("test_error", &[("key list", L)], &[("index", Some(N))]) },
    tst("test_script_compile", &[("script-name", S)], &[]),
    tst("test_script_run", &[], &[("append_result", None)]),
    tst("test_multiscript", &[("scripts", L)], &[]),
];

impl Sig {
    fn def(&self, handler: &Option<Arc<dyn TestsuiteHandler>>) -> CommandDef {
        let positional: Vec<Positional> =
            self.positional.iter().map(|(label, kind)| pos_arg(label, *kind)).collect();
        let tags: Vec<TagDef> = self.tags.iter().map(|(n, p)| tag(n, *p)).collect();
        let dispatch = Arc::new(Dispatch { name: self.name, handler: handler.clone() });
        let build =
            if self.test { Build::CustomTest(dispatch) } else { Build::CustomCommand(dispatch) };
        let base = if self.test {
            CommandDef::test(self.name, positional, |_, _| None)
        } else {
            CommandDef::command(self.name, positional, |_, _| None)
        };
        let base = base.with_tags(&tags);
        let base = if self.match_args { base.with_match() } else { base };
        CommandDef { block: self.block, build, ..base }
    }
}

impl Extension for Testsuite {
    fn name(&self) -> &'static str {
        "vnd.dovecot.testsuite"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.namespace("tst");
        for sig in SIGNATURES {
            r.command(sig.def(&self.handler));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{Envelope, Limits, MessageView, NullEnvironment};

    fn opts(ts: Testsuite) -> crate::CompileOptions {
        crate::CompileOptions { extra_extensions: vec![Arc::new(ts)], ..Default::default() }
    }

    #[test]
    fn tst_namespace_is_available_when_required() {
        let o = opts(Testsuite::default());
        let src = "require [\"vnd.dovecot.testsuite\", \"variables\"]; set \"p\" \"${tst.path}\";";
        assert!(crate::compile(src, "t", &o).is_ok());
        let src = "require \"variables\"; set \"p\" \"${tst.path}\";";
        assert!(crate::compile(src, "t", &o).is_err());
    }

    #[test]
    fn signatures_are_checked() {
        let o = opts(Testsuite::default());
        let ok = r#"require ["vnd.dovecot.testsuite", "relational"];
            test "a" { if test_message :smtp 0 { test_fail "x"; } test_message :folder "A" 1; }
            test_set "message" "x"; test_config_reload :extension "vacation";
            if test_error :count "eq" "1" { test_result_reset; }"#;
        assert!(crate::compile(ok, "t", &o).is_ok());
        let bad = r#"require "vnd.dovecot.testsuite"; test_fail 1;"#;
        assert!(crate::compile(bad, "t", &o).is_err());
        let bad = r#"require "vnd.dovecot.testsuite"; test "x";"#;
        assert!(crate::compile(bad, "t", &o).is_err());
    }

    /// Records the commands it sees and runs `test` blocks.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl TestsuiteHandler for Recorder {
        fn command(
            &self,
            name: &'static str,
            args: &CustomArgs,
            m: &mut Machine<'_>,
        ) -> Result<CustomFlow, RuntimeError> {
            self.0.lock().map_err(|_| m.failure("poisoned"))?.push(name.to_owned());
            if name == "test" {
                let stop = m.run_block(&args.block)?;
                return Ok(if stop { CustomFlow::Stop } else { CustomFlow::Continue });
            }
            Ok(CustomFlow::Continue)
        }

        fn test(
            &self,
            name: &'static str,
            _args: &CustomArgs,
            m: &mut Machine<'_>,
        ) -> Result<bool, RuntimeError> {
            self.0.lock().map_err(|_| m.failure("poisoned"))?.push(name.to_owned());
            Ok(true)
        }
    }

    #[test]
    fn commands_reach_the_handler() {
        let rec = Arc::new(Recorder::default());
        let o = opts(Testsuite::new(rec.clone()));
        let src = r#"require "vnd.dovecot.testsuite";
            test "a" { if test_script_run { test_fail "x"; } }"#;
        let c = crate::compile(src, "t", &o).expect("compiles");
        let msg = MessageView::parse(b"Subject: x\n\nbody\n");
        crate::run(&c.script, &msg, &Envelope::default(), &mut NullEnvironment, &Limits::default())
            .expect("runs");
        let seen = rec.0.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(seen, ["test", "test_script_run", "test_fail"]);
    }
}
