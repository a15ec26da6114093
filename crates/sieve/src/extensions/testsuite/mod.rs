//! `vnd.dovecot.testsuite` (Pigeonhole's conformance-test language), compiled only with the
//! `testsuite` cargo feature. This module is the starting point for the conformance runner:
//! it declares the capability and the `tst` variable namespace (`${tst.path}`, answered by the
//! host through [`crate::ScriptEnvironment::host_variable`]).
//!
//! How to add the testsuite commands (`test`, `test_fail`, `test_set`, `test_result_*`,
//! `test_script_*`, `test_error`, ...): implement [`crate::interpret::custom::CustomCommand`]
//! or [`crate::interpret::custom::CustomTest`] for each, and register it in `register` with
//! `CommandDef { build: Build::CustomCommand(Arc::new(...)), .. }` (a block command sets
//! `block: true`; its compiled block arrives in `CustomArgs::block` and can be run with
//! [`crate::Machine::run_block`]). The implementation reaches the runner's own state through
//! [`crate::ScriptEnvironment::as_any_mut`] on `machine.env`, replaces the message with
//! [`crate::Machine::set_message`], and inspects/resets the result with
//! [`crate::Machine::result`] / [`crate::Machine::reset_result`]. The runner passes
//! `Arc::new(Testsuite)` in [`crate::CompileOptions::extra_extensions`].

use crate::extensions::{Extension, Registrar};

/// The `vnd.dovecot.testsuite` extension.
pub struct Testsuite;

impl Extension for Testsuite {
    fn name(&self) -> &'static str {
        "vnd.dovecot.testsuite"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.namespace("tst");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn tst_namespace_is_available_when_required() {
        let opts = crate::CompileOptions {
            extra_extensions: vec![Arc::new(Testsuite)],
            ..Default::default()
        };
        let src = "require [\"vnd.dovecot.testsuite\", \"variables\"]; set \"p\" \"${tst.path}\";";
        assert!(crate::compile(src, "t", &opts).is_ok());
        let src = "require \"variables\"; set \"p\" \"${tst.path}\";";
        assert!(crate::compile(src, "t", &opts).is_err());
    }
}
