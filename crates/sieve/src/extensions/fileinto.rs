//! RFC 5228 §4.1 `fileinto`: `fileinto <folder: string>` (plus `:copy`, `:create`, `:flags`
//! attached by copy, mailbox and imap4flags).

use crate::language::flags_tag;
use crate::program::OpKind;
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg};

use super::{Extension, Registrar};

/// The `fileinto` extension.
pub struct Fileinto;

impl Extension for Fileinto {
    fn name(&self) -> &'static str {
        "fileinto"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.command(CommandDef::command("fileinto", vec![pos_arg("folder", ArgKind::Str)], build));
    }
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let Some(Arg::Str(lit)) = v.positional.first() else { return None };
    let mailbox = b.string(lit);
    if let Some(name) = mailbox.as_literal()
        && name.contains('\u{fffd}')
    {
        b.error(
            v.pos,
            format!(
                "fileinto command: invalid folder name `{}' specified: invalid utf-8",
                name.replace('\u{fffd}', "?")
            ),
        );
        return None;
    }
    let flags = flags_tag(b, v);
    let special_use = crate::extensions::specialuse_tag(b, v)?;
    Some(OpKind::FileInto {
        mailbox,
        flags,
        create: v.has("create"),
        copy: v.has("copy"),
        special_use,
    })
}
