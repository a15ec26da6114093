//! RFC 5232 `imap4flags`: `setflag`/`addflag`/`removeflag [<variablename: string>]
//! <list-of-flags: string-list>`, `hasflag [MATCH-TYPE] [COMPARATOR] [<variable-list:
//! string-list>] <list-of-flags: string-list>`, and `:flags` on `keep`/`fileinto`.

use crate::program::{FlagAction, OpKind, Test, VarRef};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{
    ArgKind, CommandBuildFn, CommandDef, OptionalArg, SubTests, Validated, pos_arg, tag,
};

use super::{Extension, Registrar};

/// The `imap4flags` extension.
pub struct Imap4flags;

impl Extension for Imap4flags {
    fn name(&self) -> &'static str {
        "imap4flags"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let args = || {
            vec![pos_arg("variable name", ArgKind::Str), pos_arg("list of flags", ArgKind::StrList)]
        };
        let builds: [(&'static str, CommandBuildFn); 3] = [
            ("setflag", |b, v| build_flags(b, v, FlagAction::Set)),
            ("addflag", |b, v| build_flags(b, v, FlagAction::Add)),
            ("removeflag", |b, v| build_flags(b, v, FlagAction::Remove)),
        ];
        for (name, build) in builds {
            r.command(CommandDef {
                optional: OptionalArg::Leading,
                ..CommandDef::command(name, args(), build)
            });
        }
        let hasflag = CommandDef::test(
            "hasflag",
            vec![
                pos_arg("variable list", ArgKind::StrList),
                pos_arg("list of flags", ArgKind::StrList),
            ],
            build_hasflag,
        );
        r.command(CommandDef {
            optional: OptionalArg::Leading,
            subtests: SubTests::None,
            ..hasflag.with_match()
        });
        r.tag("keep", tag("flags", Some(ArgKind::StrList)));
        r.tag("fileinto", tag("flags", Some(ArgKind::StrList)));
    }
}

fn variable_arg(b: &mut Builder<'_>, arg: &Arg) -> Option<VarRef> {
    let Arg::Str(s) = arg else { return None };
    b.variable(&s.value, s.pos)
}

fn build_flags(b: &mut Builder<'_>, v: &mut Validated, action: FlagAction) -> Option<OpKind> {
    let (var, list) = match v.positional.as_slice() {
        [var, list] => (Some(variable_arg(b, var)?), list),
        [list] => (None, list),
        _ => return None,
    };
    let flags = b.string_list(list);
    Some(OpKind::Flags { action, var, flags })
}

fn build_hasflag(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    let (vars, list) = match v.positional.as_slice() {
        [vars, list] => {
            let names: Vec<crate::syntax::ast::StrLit> = match vars {
                Arg::Str(s) => vec![s.clone()],
                Arg::List(l, _) => l.clone(),
                _ => return None,
            };
            let mut refs = Vec::new();
            for n in names {
                refs.push(variable_arg(b, &Arg::Str(n))?);
            }
            (Some(refs), list)
        }
        [list] => (None, list),
        _ => return None,
    };
    let keys = b.keys(list, &v.spec);
    Some(Test::HasFlag { vars, keys, spec: v.spec })
}
