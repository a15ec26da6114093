//! RFC 5429 `reject <reason: string>` and `ereject <reason: string>`.

use crate::program::OpKind;
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg};

use super::{Extension, Registrar};

/// The `reject` extension.
pub struct Reject;

/// The `ereject` extension (not in Pigeonhole's standard builds; off by default).
pub struct Ereject;

impl Extension for Reject {
    fn name(&self) -> &'static str {
        "reject"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.command(CommandDef::command("reject", vec![pos_arg("reason", ArgKind::Str)], |b, v| {
            build(b, v, false)
        }));
    }
}

impl Extension for Ereject {
    fn name(&self) -> &'static str {
        "ereject"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.command(CommandDef::command("ereject", vec![pos_arg("reason", ArgKind::Str)], |b, v| {
            build(b, v, true)
        }));
    }
}

fn build(b: &mut Builder<'_>, v: &mut Validated, ereject: bool) -> Option<OpKind> {
    let Some(Arg::Str(lit)) = v.positional.first() else { return None };
    Some(OpKind::Reject { reason: b.string(lit), ereject })
}
