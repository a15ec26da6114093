//! RFC 5435 `enotify`: `notify [":from" string] [":importance" <"1" / "2" / "3">] [":options"
//! string-list] [":message" string] <method: string>`, `valid_notify_method
//! <notification-uris: string-list>`, and the `:encodeurl` modifier of `set`. Only the
//! `mailto:` method is known.

use crate::program::{NotifyOp, OpKind, Test};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `enotify` extension.
pub struct Enotify;

impl Extension for Enotify {
    fn name(&self) -> &'static str {
        "enotify"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let def = CommandDef::command("notify", vec![pos_arg("method", ArgKind::Str)], build)
            .with_tags(&[
                tag("from", Some(ArgKind::Str)),
                tag("importance", Some(ArgKind::Str)),
                tag("options", Some(ArgKind::StrList)),
                tag("message", Some(ArgKind::Str)),
            ]);
        r.command(def);
        let valid = CommandDef::test(
            "valid_notify_method",
            vec![pos_arg("notification uris", ArgKind::StrList)],
            |b, v| Some(Test::ValidNotifyMethod(b.string_list(&v.positional[0]))),
        );
        r.command(valid);
        r.tag("set", tag("encodeurl", None));
    }
}

fn str_tag(b: &mut Builder<'_>, v: &Validated, name: &str) -> Option<crate::program::PStr> {
    match &v.tag(name)?.param {
        Some(Arg::Str(s)) => Some(b.string(s)),
        _ => None,
    }
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let Some(Arg::Str(m)) = v.positional.first() else { return None };
    let method = b.string(m);
    if let Some(lit) = method.as_literal()
        && !lit.to_ascii_lowercase().starts_with("mailto:")
    {
        let scheme = lit.split(':').next().unwrap_or(lit);
        b.error(m.pos, format!("notify command: invalid method '{scheme}'"));
        return None;
    }
    if let Some(i) = str_tag(b, v, "importance")
        && i.as_literal().is_some_and(|s| !["1", "2", "3"].contains(&s))
    {
        b.error(v.pos, "the :importance tag for the notify command requires a value of 1, 2 or 3");
        return None;
    }
    let options = match v.tag("options").and_then(|t| t.param.clone()) {
        Some(a) => b.string_list(&a),
        None => Vec::new(),
    };
    let op = NotifyOp {
        method,
        from: str_tag(b, v, "from"),
        importance: str_tag(b, v, "importance"),
        options,
        message: str_tag(b, v, "message"),
    };
    Some(OpKind::Notify(Box::new(op)))
}
