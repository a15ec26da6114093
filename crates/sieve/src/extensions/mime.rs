//! RFC 5703: `mime` (`:mime`, `:anychild`, `:type`, `:subtype`, `:contenttype`, `:param` on
//! `header`/`address`/`exists`), `foreverypart [":name" string] block`,
//! `break [":name" string]`, and `extracttext [MODIFIER] [":first" number] <varname: string>`.

use crate::program::{MimeOption, MimeOpts, Modifier, OpKind};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// Deepest nesting of `foreverypart` loops.
pub const MAX_LOOP_NESTING: usize = 4;

/// The `mime` extension.
pub struct Mime;
/// The `foreverypart` extension.
pub struct Foreverypart;
/// The `extracttext` extension.
pub struct Extracttext;

impl Extension for Mime {
    fn name(&self) -> &'static str {
        "mime"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        for cmd in ["header", "address", "exists"] {
            r.tag(cmd, tag("mime", None));
            r.tag(cmd, tag("anychild", None));
        }
        for t in ["type", "subtype", "contenttype"] {
            r.tag("header", tag(t, None));
        }
        r.tag("header", tag("param", Some(ArgKind::StrList)));
    }
}

impl Extension for Foreverypart {
    fn name(&self) -> &'static str {
        "foreverypart"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let fep = CommandDef::command("foreverypart", vec![], build_foreverypart);
        r.command(CommandDef { block: true, ..fep.with_tags(&[tag("name", Some(ArgKind::Str))]) });
        let brk = CommandDef::command("break", vec![], build_break);
        r.command(brk.with_tags(&[tag("name", Some(ArgKind::Str))]));
    }
}

impl Extension for Extracttext {
    fn name(&self) -> &'static str {
        "extracttext"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let def = CommandDef::command(
            "extracttext",
            vec![pos_arg("varname", ArgKind::Str)],
            build_extracttext,
        );
        r.command(def.with_tags(&[
            tag("first", Some(ArgKind::Number)),
            tag("lower", None),
            tag("upper", None),
            tag("lowerfirst", None),
            tag("upperfirst", None),
            tag("quotewildcard", None),
            tag("length", None),
        ]));
    }
}

/// The `:name` of a loop or break, if given as a string.
pub(crate) fn loop_name(args: &[Arg]) -> Option<String> {
    args.windows(2).find_map(|w| match w {
        [Arg::Tag(t, _), Arg::Str(s)] if t.eq_ignore_ascii_case("name") => Some(s.value.clone()),
        _ => None,
    })
}

/// Reads and checks the `:mime` family of tags of a header/address/exists test.
/// Outer `None` = error reported; inner `None` = no `:mime`.
pub(crate) fn mime_opts(b: &mut Builder<'_>, v: &Validated) -> Option<Option<MimeOpts>> {
    let what = format!("the {} test", v.name);
    let opts = ["type", "subtype", "contenttype", "param"];
    let given: Vec<&str> = opts.iter().copied().filter(|o| v.has(o)).collect();
    if !v.has("mime") {
        let first = if v.has("anychild") { Some("anychild") } else { given.first().copied() };
        if let Some(t) = first {
            b.error(
                v.pos,
                format!("the :{t} tag for {what} cannot be specified without the :mime tag"),
            );
            return None;
        }
        return Some(None);
    }
    if given.len() > 1 {
        b.error(
            v.pos,
            format!(
                "the :type, :subtype, :contenttype, and :param arguments for {what} are mutually exclusive, but more than one was specified"
            ),
        );
        return None;
    }
    let option = match given.first() {
        Some(&"type") => MimeOption::Type,
        Some(&"subtype") => MimeOption::Subtype,
        Some(&"contenttype") => MimeOption::ContentType,
        Some(_) => match v.tag("param").and_then(|t| t.param.clone()) {
            Some(a) => MimeOption::Param(b.string_list(&a)),
            None => MimeOption::None,
        },
        None => MimeOption::None,
    };
    Some(Some(MimeOpts { anychild: v.has("anychild"), option }))
}

fn build_foreverypart(_: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    Some(OpKind::ForEveryPart { block: std::mem::take(&mut v.block) })
}

fn build_break(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let name = match v.tag("name").and_then(|t| t.param.clone()) {
        Some(Arg::Str(s)) => Some(s.value),
        _ => None,
    };
    let Some(name) = name else {
        if b.loops.is_empty() {
            b.error(v.pos, "the break command is not placed inside a foreverypart loop");
            return None;
        }
        return Some(OpKind::Break(0));
    };
    match b.loops.iter().rposition(|l| l.as_deref() == Some(name.as_str())) {
        Some(i) => Some(OpKind::Break(b.loops.len() - 1 - i)),
        None => {
            b.error(
                v.pos,
                format!(
                    "the break command is not placed inside a foreverypart loop named `{name}'"
                ),
            );
            None
        }
    }
}

fn build_extracttext(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    if b.loops.is_empty() {
        b.error(v.pos, "the extracttext command is not placed inside a foreverypart loop");
        return None;
    }
    let Arg::Str(name) = &v.positional[0] else { return None };
    let var = b.variable(&name.value, name.pos)?;
    let first = match v.tag("first").and_then(|t| t.param.clone()) {
        Some(Arg::Number(n, _)) => Some(n),
        _ => None,
    };
    let mut modifiers: Vec<Modifier> = v
        .tags
        .iter()
        .filter_map(|t| match t.name {
            "lower" => Some(Modifier::Lower),
            "upper" => Some(Modifier::Upper),
            "lowerfirst" => Some(Modifier::LowerFirst),
            "upperfirst" => Some(Modifier::UpperFirst),
            "quotewildcard" => Some(Modifier::QuoteWildcard),
            "length" => Some(Modifier::Length),
            _ => None,
        })
        .collect();
    modifiers.sort_by_key(|m| std::cmp::Reverse(m.precedence()));
    Some(OpKind::ExtractText { var, first, modifiers })
}
