//! RFC 7352 `duplicate [":handle" string] [":header" string / ":uniqueid" string]
//! [":seconds" number] [":last"]`; the host answers whether an id was seen and records the
//! ids listed in the result once the delivery succeeds.

use crate::program::{DuplicateTest, Test};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, tag};

use super::{Extension, Registrar};

/// The `duplicate` extension.
pub struct Duplicate;

/// Pigeonhole's deprecated `vnd.dovecot.duplicate`: the same `duplicate` test.
pub struct VndDuplicate;

impl Extension for VndDuplicate {
    fn name(&self) -> &'static str {
        "vnd.dovecot.duplicate"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["duplicate"]
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, _r: &mut Registrar<'_>) {}
}

impl Extension for Duplicate {
    fn name(&self) -> &'static str {
        "duplicate"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let def = CommandDef::test("duplicate", vec![], build).with_tags(&[
            tag("handle", Some(ArgKind::Str)),
            tag("header", Some(ArgKind::Str)),
            tag("uniqueid", Some(ArgKind::Str)),
            tag("seconds", Some(ArgKind::Number)),
            tag("last", None),
        ]);
        r.command(def);
    }
}

fn str_tag(b: &mut Builder<'_>, v: &Validated, name: &str) -> Option<crate::program::PStr> {
    match &v.tag(name)?.param {
        Some(Arg::Str(s)) => Some(b.string(s)),
        _ => None,
    }
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    if v.has("header") && v.has("uniqueid") {
        b.error(
            v.pos,
            "conflicting :header and :uniqueid arguments specified for the duplicate test",
        );
        return None;
    }
    let seconds = match v.tag("seconds").and_then(|t| t.param.clone()) {
        Some(Arg::Number(n, _)) => Some(n),
        _ => None,
    };
    let test = DuplicateTest {
        handle: str_tag(b, v, "handle"),
        header: str_tag(b, v, "header"),
        unique_id: str_tag(b, v, "uniqueid"),
        seconds,
        last: v.has("last"),
    };
    Some(Test::Duplicate(Box::new(test)))
}
