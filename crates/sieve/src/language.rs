//! The RFC 5228 base language: control commands (`require`, `if`/`elsif`/`else`, `stop`),
//! actions (`keep`, `discard`, `redirect`) and tests (`address`, `header`, `exists`, `size`,
//! `not`, `anyof`, `allof`, `true`, `false`). `require` itself is handled by the validator.

use crate::extensions::{Registrar, core_match_types};
use crate::program::{OpKind, Test};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, SubTests, Validated, pos_arg, tag};

/// Headers the `address` test may look at (Pigeonhole's list of address-carrying fields).
pub const ADDRESS_HEADERS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "resent-from",
    "resent-sender",
    "resent-reply-to",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "return-path",
    "disposition-notification-to",
    "delivered-to",
    "errors-to",
    "original-recipient",
    "x-envelope-to",
    "envelope-to",
];

/// Registers the base language.
pub fn register(r: &mut Registrar<'_>) {
    core_match_types(r);
    let req =
        CommandDef::command("require", vec![pos_arg("capabilities", ArgKind::StrList)], |_, _| {
            None
        });
    r.command(req);
    for name in ["if", "elsif"] {
        r.command(CommandDef {
            subtests: SubTests::One,
            block: true,
            ..CommandDef::command(name, vec![], build_if)
        });
    }
    r.command(CommandDef { block: true, ..CommandDef::command("else", vec![], build_else) });
    r.command(CommandDef::command("stop", vec![], |_, _| Some(OpKind::Stop)));
    r.command(CommandDef::command("keep", vec![], build_keep));
    r.command(CommandDef::command("discard", vec![], |_, _| Some(OpKind::Discard)));
    r.command(CommandDef::command(
        "redirect",
        vec![pos_arg("address", ArgKind::Str)],
        build_redirect,
    ));
    r.command(CommandDef::test("true", vec![], |_, _| Some(Test::True)));
    r.command(CommandDef::test("false", vec![], |_, _| Some(Test::False)));
    r.command(CommandDef { subtests: SubTests::One, ..CommandDef::test("not", vec![], build_not) });
    r.command(CommandDef {
        subtests: SubTests::List,
        ..CommandDef::test("anyof", vec![], build_anyof)
    });
    r.command(CommandDef {
        subtests: SubTests::List,
        ..CommandDef::test("allof", vec![], build_allof)
    });
    r.command(CommandDef::test(
        "exists",
        vec![pos_arg("header names", ArgKind::StrList)],
        build_exists,
    ));
    r.command(
        CommandDef::test("size", vec![pos_arg("limit", ArgKind::Number)], build_size)
            .with_tags(&[tag("over", None), tag("under", None)]),
    );
    let header_args =
        vec![pos_arg("header names", ArgKind::StrList), pos_arg("key list", ArgKind::StrList)];
    r.command(CommandDef::test("header", header_args, build_header).with_match());
    let address_args =
        vec![pos_arg("header list", ArgKind::StrList), pos_arg("key list", ArgKind::StrList)];
    r.command(
        CommandDef::test("address", address_args, build_address).with_match().with_address_part(),
    );
}

fn build_if(_: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let test = v.tests.pop()?;
    Some(OpKind::If { branches: vec![(test, std::mem::take(&mut v.block))], otherwise: None })
}

fn build_else(_: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    Some(OpKind::If { branches: Vec::new(), otherwise: Some(std::mem::take(&mut v.block)) })
}

/// The `:flags` argument (imap4flags) of keep/fileinto, if given.
pub fn flags_tag(b: &mut Builder<'_>, v: &Validated) -> Option<Vec<crate::program::PStr>> {
    let param = v.tag("flags")?.param.as_ref()?;
    Some(b.string_list(param))
}

fn build_keep(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    Some(OpKind::Keep { flags: flags_tag(b, v) })
}

fn build_redirect(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let Some(Arg::Str(lit)) = v.positional.first() else { return None };
    let address = b.string(lit);
    if b.options().extensions.max_redirects == 0 {
        b.error(v.pos, "local policy prohibits the use of a redirect action");
        return None;
    }
    if let Some(s) = address.as_literal()
        && let Err(e) = crate::address::parse_single(s)
    {
        b.error(v.pos, format!("specified redirect address '{s}' is invalid: {e}"));
        return None;
    }
    Some(OpKind::Redirect { address, copy: v.has("copy") })
}

fn build_not(_: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    Some(Test::Not(Box::new(v.tests.pop()?)))
}

fn build_anyof(_: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    Some(Test::AnyOf(std::mem::take(&mut v.tests)))
}

fn build_allof(_: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    Some(Test::AllOf(std::mem::take(&mut v.tests)))
}

fn build_exists(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    let mime = crate::extensions::mime_opts(b, v)?;
    Some(Test::Exists { names: b.string_list(&v.positional[0]), mime })
}

fn build_size(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    let (over, under) = (v.has("over"), v.has("under"));
    let given = v.tags.iter().filter(|t| t.name == "over" || t.name == "under").count();
    if given > 1 {
        b.error(
            v.pos,
            "exactly one of the ':under' or ':over' tags must be specified for the size test, but more were found",
        );
        return None;
    }
    if !over && !under {
        b.error(v.pos, "the size test requires either the :under or the :over tag to be specified");
        return None;
    }
    let Arg::Number(limit, _) = v.positional[0] else { return None };
    Some(Test::Size { over, limit })
}

/// Checks `:index`/`:last` (index extension): `:last` needs `:index`, and 0 is invalid.
pub fn check_index(b: &mut Builder<'_>, v: &Validated) -> Option<()> {
    let what = format!("the {} test", v.name);
    if v.has("last") && !v.has("index") {
        b.error(
            v.pos,
            format!("the :last tag for {what} cannot be specified without the :index tag"),
        );
        return None;
    }
    if matches!(index_tag(v), Some((0, _))) {
        b.error(v.pos, format!("the :index tag for {what} cannot be zero"));
        return None;
    }
    Some(())
}

/// The `:index n [:last]` tags of the index extension, if given.
pub fn index_tag(v: &Validated) -> Option<(u64, bool)> {
    match v.tag("index")?.param {
        Some(Arg::Number(n, _)) => Some((n, v.has("last"))),
        _ => None,
    }
}

fn build_header(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    check_index(b, v)?;
    let names = b.string_list(&v.positional[0]);
    let keys = b.keys(&v.positional[1], &v.spec);
    let mime = crate::extensions::mime_opts(b, v)?;
    Some(Test::Header { names, keys, spec: v.spec, index: index_tag(v), mime })
}

fn build_address(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    check_index(b, v)?;
    let headers = b.string_list(&v.positional[0]);
    let mut ok = true;
    for h in &headers {
        if let Some(name) = h.as_literal()
            && !ADDRESS_HEADERS.contains(&name.to_ascii_lowercase().as_str())
        {
            b.error(
                v.positional[0].pos(),
                format!("specified header '{name}' is not allowed for the address test"),
            );
            ok = false;
        }
    }
    let keys = b.keys(&v.positional[1], &v.spec);
    let mime = crate::extensions::mime_opts(b, v)?;
    ok.then(|| Test::Address {
        headers,
        keys,
        spec: v.spec,
        part: v.part,
        index: index_tag(v),
        mime,
    })
}
