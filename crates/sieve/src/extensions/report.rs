//! Pigeonhole's `vnd.dovecot.report`: `report [":headers_only"] <feedback-type: string>
//! <message: string> <address: string>` sends an RFC 5965 abuse report (built by the host).

use crate::program::{OpKind, ReportOp};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `vnd.dovecot.report` extension.
pub struct VndReport;

impl Extension for VndReport {
    fn name(&self) -> &'static str {
        "vnd.dovecot.report"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let args = vec![
            pos_arg("feedback-type", ArgKind::Str),
            pos_arg("message", ArgKind::Str),
            pos_arg("address", ArgKind::Str),
        ];
        r.command(
            CommandDef::command("report", args, build).with_tags(&[tag("headers_only", None)]),
        );
    }
}

/// RFC 5965 feedback type: a token of letters, digits and `-`, `_`, `.`.
pub fn valid_feedback_type(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let (Arg::Str(t), Arg::Str(m), Arg::Str(a)) =
        (&v.positional[0], &v.positional[1], &v.positional[2])
    else {
        return None;
    };
    let feedback_type = b.string(t);
    if let Some(lit) = feedback_type.as_literal().filter(|l| !valid_feedback_type(l)) {
        let shown: String =
            lit.chars().map(|c| if c.is_ascii_graphic() { c } else { '?' }).collect();
        b.error(t.pos, format!("specified feedback type `{shown}' is invalid"));
        return None;
    }
    let address = b.string(a);
    if let Some(lit) = address.as_literal()
        && let Err(e) = crate::address::parse_single(lit)
    {
        b.error(a.pos, format!("specified report address '{lit}' is invalid: {e}"));
        return None;
    }
    let op = ReportOp {
        feedback_type,
        message: b.string(m),
        address,
        headers_only: v.has("headers_only"),
    };
    Some(OpKind::Report(Box::new(op)))
}
