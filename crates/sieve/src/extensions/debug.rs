//! Pigeonhole's `vnd.dovecot.debug`: `debug_log <message: string>` writes a debug message
//! through the host ([`crate::ScriptEnvironment::debug_log`]); it has no other effect.

use crate::program::OpKind;
use crate::syntax::ast::Arg;
use crate::validate::signature::{ArgKind, CommandDef, pos_arg};

use super::{Extension, Registrar};

/// The `vnd.dovecot.debug` extension.
pub struct VndDebug;

impl Extension for VndDebug {
    fn name(&self) -> &'static str {
        "vnd.dovecot.debug"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.command(CommandDef::command(
            "debug_log",
            vec![pos_arg("message", ArgKind::Str)],
            |b, v| {
                let Arg::Str(s) = &v.positional[0] else { return None };
                Some(OpKind::DebugLog(b.string(s)))
            },
        ));
    }
}
