//! RFC 5435 `enotify`: `notify [":from" string] [":importance" <"1" / "2" / "3">] [":options"
//! string-list] [":message" string] <method: string>`, `valid_notify_method
//! <notification-uris: string-list>`, and the `:encodeurl` modifier of `set`. Only the
//! `mailto:` method is known.

use crate::program::{NotifyOp, OpKind, PStr, Test};
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
        let cap_args = vec![
            pos_arg("notification-uri", ArgKind::Str),
            pos_arg("notification-capability", ArgKind::Str),
            pos_arg("key-list", ArgKind::StrList),
        ];
        let cap = CommandDef::test("notify_method_capability", cap_args, |b, v| {
            let (Arg::Str(u), Arg::Str(c)) = (&v.positional[0], &v.positional[1]) else {
                return None;
            };
            let (uri, capability) = (b.string(u), b.string(c));
            let keys = b.keys(&v.positional[2], &v.spec);
            Some(Test::NotifyMethodCapability { uri, capability, keys, spec: v.spec })
        });
        r.command(cap.with_match());
        r.tag("set", tag("encodeurl", None));
    }
}

fn str_tag(b: &mut Builder<'_>, v: &Validated, name: &str) -> Option<PStr> {
    match &v.tag(name)?.param {
        Some(Arg::Str(s)) => Some(b.string(s)),
        _ => None,
    }
}

/// Compile-time checks of a constant `mailto:` method.
fn check_method(b: &mut Builder<'_>, lit: &str, pos: crate::diag::Pos) -> bool {
    if !lit.to_ascii_lowercase().starts_with("mailto:") {
        let scheme = lit.split(':').next().unwrap_or(lit);
        b.error(pos, format!("notify command: invalid method '{scheme}'"));
        return false;
    }
    match crate::mailto::parse_mailto(lit) {
        Ok(m) => {
            for w in m.warnings {
                b.warning(pos, format!("notify command: mailto URI: {w}"));
            }
            true
        }
        Err(e) => {
            b.error(pos, format!("notify command: mailto URI: {e}"));
            false
        }
    }
}

fn check_from_and_options(b: &mut Builder<'_>, v: &Validated, options: &[PStr]) -> bool {
    if let Some(from) = str_tag(b, v, "from")
        && let Some(f) = from.as_literal()
    {
        let err = if f.trim().is_empty() {
            Some("empty address".to_owned())
        } else {
            crate::address::parse_single(f).err()
        };
        if let Some(e) = err {
            let msg = format!(
                "notify command: specified :from address '{f}' is invalid for the mailto method: {e}"
            );
            b.error(v.pos, msg);
            return false;
        }
    }
    for o in options.iter().filter_map(PStr::as_literal) {
        if let Err(e) = crate::mailto::check_option(o) {
            b.error(v.pos, format!("notify command: {e}"));
            return false;
        }
    }
    true
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let Some(Arg::Str(m)) = v.positional.first() else { return None };
    let method = b.string(m);
    if let Some(lit) = method.as_literal()
        && !check_method(b, lit, m.pos)
    {
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
    if !check_from_and_options(b, v, &options) {
        return None;
    }
    let op = NotifyOp {
        method,
        from: str_tag(b, v, "from"),
        importance: str_tag(b, v, "importance"),
        options,
        message: str_tag(b, v, "message"),
    };
    Some(OpKind::Notify(Box::new(op)))
}
