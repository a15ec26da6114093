//! RFC 5228 §5.4 `envelope [COMPARATOR] [ADDRESS-PART] [MATCH-TYPE] <envelope-part: string-list>
//! <key-list: string-list>`.

use crate::program::Test;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg};

use super::{Extension, Registrar};

/// Envelope parts Pigeonhole supports.
const PARTS: &[&str] = &["from", "to", "auth", "orig_to"];

/// The `envelope` extension.
pub struct Envelope;

impl Extension for Envelope {
    fn name(&self) -> &'static str {
        "envelope"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let args =
            vec![pos_arg("envelope part", ArgKind::StrList), pos_arg("key list", ArgKind::StrList)];
        r.command(CommandDef::test("envelope", args, build).with_match().with_address_part());
    }
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    let parts = b.string_list(&v.positional[0]);
    let mut ok = true;
    for p in &parts {
        if let Some(name) = p.as_literal()
            && !PARTS.contains(&name.to_ascii_lowercase().as_str())
        {
            b.error(
                v.pos,
                format!("specified envelope part '{name}' is not supported by the envelope test"),
            );
            ok = false;
        }
    }
    let keys = b.keys(&v.positional[1], &v.spec);
    ok.then(|| Test::Envelope { parts, keys, spec: v.spec, part: v.part })
}
