//! RFC 5230 `vacation [":days" number] [":subject" string] [":from" string] [":addresses"
//! string-list] [":mime"] [":handle" string] <reason: string>` and RFC 6131
//! `vacation-seconds` (`:seconds`). The period is clamped to the configured limits at compile
//! time with a warning, as Pigeonhole does.

use crate::program::{OpKind, VacationOp};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `vacation` extension.
pub struct Vacation;

/// The `vacation-seconds` extension.
pub struct VacationSeconds;

impl Extension for Vacation {
    fn name(&self) -> &'static str {
        "vacation"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let def = CommandDef::command("vacation", vec![pos_arg("reason", ArgKind::Str)], build)
            .with_tags(&[
                tag("days", Some(ArgKind::Number)),
                tag("subject", Some(ArgKind::Str)),
                tag("from", Some(ArgKind::Str)),
                tag("addresses", Some(ArgKind::StrList)),
                tag("mime", None),
                tag("handle", Some(ArgKind::Str)),
            ]);
        r.command(def);
    }
}

impl Extension for VacationSeconds {
    fn name(&self) -> &'static str {
        "vacation-seconds"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["vacation"]
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.tag("vacation", tag("seconds", Some(ArgKind::Number)));
    }
}

fn str_tag(b: &mut Builder<'_>, v: &Validated, name: &str) -> Option<crate::program::PStr> {
    match &v.tag(name)?.param {
        Some(Arg::Str(s)) => Some(b.string(s)),
        _ => None,
    }
}

fn period(b: &mut Builder<'_>, v: &Validated) -> Option<u64> {
    let (days, seconds) = (v.tag("days"), v.tag("seconds"));
    if days.is_some() && seconds.is_some() {
        b.error(v.pos, "the vacation command cannot have both :days and :seconds");
        return None;
    }
    let cfg = &b.options().extensions;
    let (min, max, default) =
        (cfg.vacation_min_period, cfg.vacation_max_period, cfg.vacation_default_period);
    let (tag, unit) = match (days, seconds) {
        (Some(t), _) => (t, 86400u64),
        (_, Some(t)) => (t, 1),
        _ => return Some(default),
    };
    let Some(Arg::Number(n, _)) = tag.param else { return Some(default) };
    let (name, pos) = (tag.name, tag.pos);
    let value = n.saturating_mul(unit);
    if value < min {
        b.warning(pos, format!("specified :{name} value '{n}' is under the minimum"));
        return Some(min);
    }
    if max > 0 && value > max {
        b.warning(pos, format!("specified :{name} value '{n}' is over the maximum"));
        return Some(max);
    }
    Some(value)
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let seconds = period(b, v)?;
    let from = str_tag(b, v, "from");
    if let Some(f) = from.as_ref().and_then(|f| f.as_literal())
        && let Err(e) = crate::address::parse_single(f)
    {
        b.error(
            v.pos,
            format!("specified :from address '{f}' is invalid for vacation action: {e}"),
        );
        return None;
    }
    let addresses = match &v.tag("addresses").and_then(|t| t.param.clone()) {
        Some(a) => b.string_list(a),
        None => Vec::new(),
    };
    let Some(Arg::Str(reason)) = v.positional.first() else { return None };
    let op = VacationOp {
        seconds,
        subject: str_tag(b, v, "subject"),
        from,
        addresses,
        mime: v.has("mime"),
        handle: str_tag(b, v, "handle"),
        reason: b.string(reason),
    };
    Some(OpKind::Vacation(Box::new(op)))
}
