//! RFC 8579 `special-use`: `specialuse_exists [<mailbox: string>] <special-use-flags:
//! string-list>` and `fileinto :specialuse <special-use-flag: string>`; the host answers which
//! mailbox carries a special-use flag ([`crate::ScriptEnvironment::special_use_exists`]).

use crate::diag::Pos;
use crate::program::{PStr, Test};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `special-use` extension.
pub struct SpecialUse;

impl Extension for SpecialUse {
    fn name(&self) -> &'static str {
        "special-use"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let args =
            vec![pos_arg("mailbox", ArgKind::Str), pos_arg("special-use flags", ArgKind::StrList)];
        let def = CommandDef::test("specialuse_exists", args, build);
        r.command(CommandDef { positional_check: Some(check_args), ..def });
        r.tag("fileinto", tag("specialuse", Some(ArgKind::Str)));
    }
}

/// `\` followed by an IMAP atom.
pub fn valid_flag(flag: &str) -> bool {
    flag.strip_prefix('\\').is_some_and(|a| {
        !a.is_empty() && a.bytes().all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b))
    })
}

fn check_args(b: &mut Builder<'_>, def: &CommandDef, pos: Pos, args: &[Arg]) -> Option<()> {
    let what = def.what();
    match args {
        [] => b.error(pos, format!("{what} expects at least one argument, but none was found")),
        [Arg::Number(..) | Arg::Tag(..), ..] => b.error(
            pos,
            format!(
                "{what} expects either a string (mailbox) or a string-list (special-use flags) as first argument, but a {} was found",
                args[0].kind_name()
            ),
        ),
        [_, Arg::Number(..) | Arg::Tag(..)] => b.error(
            pos,
            format!(
                "{what} expects a string list (special-use flags) as second argument when two arguments are specified, but a {} was found",
                args[1].kind_name()
            ),
        ),
        [Arg::List(..), _] => b.error(pos, format!("{what} expects a string as argument 1 (mailbox), but a string list was found")),
        [_] | [_, _] => return Some(()),
        _ => b.error(pos, format!("{what} requires 2 positional argument(s), but {} is/are specified", args.len())),
    }
    None
}

fn check_flags(b: &mut Builder<'_>, flags: &[PStr], pos: Pos, prefix: &str) -> bool {
    for f in flags.iter().filter_map(PStr::as_literal) {
        if !valid_flag(f) {
            b.error(pos, format!("{prefix}: invalid special-use flag `{f}' specified"));
            return false;
        }
    }
    true
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    let (mailbox, flags_arg) = match v.positional.as_slice() {
        [Arg::Str(m), f] => (Some(b.string(m)), f.clone()),
        [f] => (None, f.clone()),
        _ => return None,
    };
    let flags = b.string_list(&flags_arg);
    if !check_flags(b, &flags, v.pos, "specialuse_exists test") {
        return None;
    }
    if let Some(m) = mailbox.as_ref().and_then(PStr::as_literal)
        && m.contains('\u{fffd}')
    {
        let shown = m.replace('\u{fffd}', "?");
        b.warning(
            v.pos,
            format!(
                "specialuse_exists test: invalid mailbox name `{shown}' specified: invalid utf-8"
            ),
        );
    }
    Some(Test::SpecialUseExists { mailbox, flags })
}

/// Checks the `:specialuse` tag of `fileinto`; `None` after an error.
pub(crate) fn specialuse_tag(b: &mut Builder<'_>, v: &Validated) -> Option<Option<PStr>> {
    let Some(Arg::Str(s)) = v.tag("specialuse").and_then(|t| t.param.clone()) else {
        return Some(None);
    };
    let flag = b.string(&s);
    if !check_flags(b, std::slice::from_ref(&flag), s.pos, "specialuse tag") {
        return None;
    }
    Some(Some(flag))
}
