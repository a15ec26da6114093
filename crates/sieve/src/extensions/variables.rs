//! RFC 5229 `variables`: `set [MODIFIER] <name: string> <value: string>`,
//! `string [MATCH-TYPE] [COMPARATOR] <source: string-list> <key-list: string-list>`, and
//! `${...}` substitution (done by the string compiler).

use crate::program::{Modifier, OpKind, Test};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `variables` extension.
pub struct Variables;

impl Extension for Variables {
    fn name(&self) -> &'static str {
        "variables"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let set = CommandDef::command(
            "set",
            vec![pos_arg("name", ArgKind::Str), pos_arg("value", ArgKind::Str)],
            build_set,
        )
        .with_tags(&[
            tag("lower", None),
            tag("upper", None),
            tag("lowerfirst", None),
            tag("upperfirst", None),
            tag("quotewildcard", None),
            tag("length", None),
        ]);
        r.command(set);
        let args = vec![pos_arg("source", ArgKind::StrList), pos_arg("key list", ArgKind::StrList)];
        r.command(CommandDef::test("string", args, build_string).with_match());
    }
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(match name {
        "lower" => Modifier::Lower,
        "upper" => Modifier::Upper,
        "lowerfirst" => Modifier::LowerFirst,
        "upperfirst" => Modifier::UpperFirst,
        "quotewildcard" => Modifier::QuoteWildcard,
        "quoteregex" => Modifier::QuoteRegex,
        "encodeurl" => Modifier::EncodeUrl,
        "length" => Modifier::Length,
        _ => return None,
    })
}

fn build_set(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let (Arg::Str(name), Arg::Str(value)) = (&v.positional[0], &v.positional[1]) else {
        return None;
    };
    let mut modifiers: Vec<Modifier> = v.tags.iter().filter_map(|t| modifier(t.name)).collect();
    modifiers.sort_by_key(|m| std::cmp::Reverse(m.precedence()));
    for pair in modifiers.windows(2) {
        if pair[0].precedence() == pair[1].precedence() && pair[0] != pair[1] {
            b.error(v.pos, "the set command cannot have multiple modifiers of the same precedence");
            return None;
        }
    }
    modifiers.dedup();
    let var = b.variable(&name.value, name.pos)?;
    let value = b.string(value);
    Some(OpKind::Set { var, value, modifiers })
}

fn build_string(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    // Pigeonhole's `string` test defaults to i;octet (checked with sieve-test).
    if !v.comparator_given {
        v.spec.comparator = crate::program::Comparator::Octet;
    }
    let sources = b.string_list(&v.positional[0]);
    let keys = b.keys(&v.positional[1], &v.spec);
    Some(Test::String { sources, keys, spec: v.spec })
}
