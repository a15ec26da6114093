//! RFC 5463 `ihave <capabilities: string-list>` (answered at compile time) and
//! `error <message: string>`.

use crate::program::{OpKind, Test};
use crate::syntax::ast::Arg;
use crate::validate::signature::{ArgKind, CommandDef, pos_arg};

use super::{Extension, Registrar};

/// The `ihave` extension.
pub struct Ihave;

impl Extension for Ihave {
    fn name(&self) -> &'static str {
        "ihave"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.command(CommandDef::test(
            "ihave",
            vec![pos_arg("capabilities", ArgKind::StrList)],
            |b, v| {
                let names: Vec<String> = match &v.positional[0] {
                    Arg::Str(s) => vec![s.value.clone()],
                    Arg::List(l, _) => l.iter().map(|s| s.value.clone()).collect(),
                    _ => Vec::new(),
                };
                // Extensions that change how strings are read cannot be loaded by `ihave`.
                let loadable =
                    |n: &String| !["encoded-character", "variables"].contains(&n.as_str());
                let all = names.iter().all(|n| loadable(n) && b.registry.capability(n).is_some());
                if all {
                    for n in &names {
                        if let Some((cap, _)) = b.registry.capability(n) {
                            b.required.insert(cap);
                        }
                    }
                }
                Some(Test::Ihave(all))
            },
        ));
        r.command(CommandDef::command("error", vec![pos_arg("message", ArgKind::Str)], |b, v| {
            let Arg::Str(s) = &v.positional[0] else { return None };
            Some(OpKind::Error(b.string(s)))
        }));
    }
}
