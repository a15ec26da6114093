//! RFC 5490 `mailbox`: `fileinto :create` and `mailboxexists <mailbox-names: string-list>`.

use crate::program::Test;
use crate::validate::signature::{ArgKind, CommandDef, pos_arg, tag};

use super::{Extension, Registrar};

/// The `mailbox` extension.
pub struct Mailbox;

impl Extension for Mailbox {
    fn name(&self) -> &'static str {
        "mailbox"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.tag("fileinto", tag("create", None));
        r.command(CommandDef::test(
            "mailboxexists",
            vec![pos_arg("mailbox-names", ArgKind::StrList)],
            |b, v| Some(Test::MailboxExists(b.string_list(&v.positional[0]))),
        ));
    }
}
