//! RFC 5293 `addheader [":last"] <field-name: string> <value: string>` and
//! `deleteheader [":index" <fieldno: number> [":last"]] [COMPARATOR] [MATCH-TYPE]
//! <field-name: string> [<value-patterns: string-list>]`.

use crate::program::{OpKind, PStr};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, OptionalArg, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `editheader` extension.
pub struct Editheader;

impl Extension for Editheader {
    fn name(&self) -> &'static str {
        "editheader"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let add = CommandDef::command(
            "addheader",
            vec![pos_arg("field name", ArgKind::Str), pos_arg("value", ArgKind::Str)],
            build_add,
        );
        r.command(add.with_tags(&[tag("last", None)]));
        let del = CommandDef::command(
            "deleteheader",
            vec![pos_arg("field name", ArgKind::Str), pos_arg("value patterns", ArgKind::StrList)],
            build_delete,
        );
        let del = CommandDef { optional: OptionalArg::Trailing, ..del };
        r.command(
            del.with_match().with_tags(&[tag("index", Some(ArgKind::Number)), tag("last", None)]),
        );
    }
}

/// RFC 5322 field name: printable ASCII except colon.
pub fn valid_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

fn field_name(b: &mut Builder<'_>, v: &Validated, cmd: &str) -> Option<PStr> {
    let Arg::Str(s) = &v.positional[0] else { return None };
    let name = b.string(s);
    if let Some(lit) = name.as_literal()
        && !valid_field_name(lit)
    {
        // Pigeonhole's deleteheader message lacks the space after the colon.
        let sep = if cmd == "deleteheader" { "" } else { " " };
        b.error(s.pos, format!("{cmd} command:{sep}specified field name `{lit}' is invalid"));
        return None;
    }
    Some(name)
}

fn build_add(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let name = field_name(b, v, "addheader")?;
    let Arg::Str(value) = &v.positional[1] else { return None };
    let value_pos = value.pos;
    let value = b.string(value);
    if let Some(lit) = value.as_literal()
        && lit.contains('\0')
    {
        let shown = lit.split('\0').next().unwrap_or("");
        let msg = format!(
            "addheader command: specified value `{shown}' is invalid (contains NUL character)"
        );
        b.error(value_pos, msg);
        return None;
    }
    Some(OpKind::AddHeader { name, value, last: v.has("last") })
}

fn build_delete(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    if v.has("last") && !v.has("index") {
        b.error(
            v.pos,
            "the :last tag for the deleteheader command cannot be specified without the :index tag",
        );
        return None;
    }
    let name = field_name(b, v, "deleteheader")?;
    let index = match v.tag("index").and_then(|t| t.param.clone()) {
        Some(Arg::Number(n, _)) => Some((n, v.has("last"))),
        _ => None,
    };
    let values = match v.positional.get(1) {
        Some(arg) => Some((b.keys(arg, &v.spec), v.spec)),
        None => None,
    };
    Some(OpKind::DeleteHeader { name, index, values })
}
