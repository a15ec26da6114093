//! RFC 5235 `spamtest [":percent"] [COMPARATOR] [MATCH-TYPE] <value: string>` and
//! `virustest [COMPARATOR] [MATCH-TYPE] <value: string>`; the score comes from the host
//! (`ScriptEnvironment::score`), computed from the configured header as Pigeonhole does.

use crate::program::{ScoreTest, Test};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `spamtest` extension.
pub struct Spamtest;
/// The `spamtestplus` extension (`:percent`).
pub struct Spamtestplus;
/// The `virustest` extension.
pub struct Virustest;

fn build(b: &mut Builder<'_>, v: &mut Validated, virus: bool) -> Option<Test> {
    if v.has("percent") && !b.has_ext("spamtestplus") {
        let msg = "the spamtest test only accepts the :percent argument when the spamtestplus extension is active";
        b.error(v.pos, msg);
        return None;
    }
    let arg: &Arg = &v.positional[0];
    let keys = b.keys(arg, &v.spec);
    Some(Test::Score(Box::new(ScoreTest { virus, percent: v.has("percent"), keys, spec: v.spec })))
}

impl Extension for Spamtest {
    fn name(&self) -> &'static str {
        "spamtest"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.command(
            CommandDef::test("spamtest", vec![pos_arg("value", ArgKind::Str)], |b, v| {
                build(b, v, false)
            })
            .with_match()
            .with_tags(&[tag("percent", None)]),
        );
    }
}

impl Extension for Spamtestplus {
    fn name(&self) -> &'static str {
        "spamtestplus"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["spamtest"]
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    /// `:percent` is declared by `spamtest` and only accepted when this one is required.
    fn register(&self, _r: &mut Registrar<'_>) {}
}

impl Extension for Virustest {
    fn name(&self) -> &'static str {
        "virustest"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.command(
            CommandDef::test("virustest", vec![pos_arg("value", ArgKind::Str)], |b, v| {
                build(b, v, true)
            })
            .with_match(),
        );
    }
}
