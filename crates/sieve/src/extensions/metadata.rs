//! RFC 5490 `mboxmetadata` (`metadata`, `metadataexists`) and `servermetadata`
//! (`servermetadata`, `servermetadataexists`); values come from the host
//! ([`crate::ScriptEnvironment::metadata`]).

use crate::program::{PStr, Test};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg};

use super::{Extension, Registrar};

/// The `mboxmetadata` extension.
pub struct MboxMetadata;
/// The `servermetadata` extension.
pub struct ServerMetadata;

impl Extension for MboxMetadata {
    fn name(&self) -> &'static str {
        "mboxmetadata"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let args = vec![
            pos_arg("mailbox", ArgKind::Str),
            pos_arg("annotation-name", ArgKind::Str),
            pos_arg("key-list", ArgKind::StrList),
        ];
        r.command(CommandDef::test("metadata", args, |b, v| build_value(b, v, true)).with_match());
        let args =
            vec![pos_arg("mailbox", ArgKind::Str), pos_arg("annotation-names", ArgKind::StrList)];
        r.command(CommandDef::test("metadataexists", args, |b, v| build_exists(b, v, true)));
    }
}

impl Extension for ServerMetadata {
    fn name(&self) -> &'static str {
        "servermetadata"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let args =
            vec![pos_arg("annotation-name", ArgKind::Str), pos_arg("key-list", ArgKind::StrList)];
        r.command(
            CommandDef::test("servermetadata", args, |b, v| build_value(b, v, false)).with_match(),
        );
        let args = vec![pos_arg("annotation-names", ArgKind::StrList)];
        r.command(CommandDef::test("servermetadataexists", args, |b, v| build_exists(b, v, false)));
    }
}

/// RFC 5464 entry name: `/private/...` or `/shared/...`, no `*`, `%` or double slash.
pub fn valid_annotation(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let rooted = lower.starts_with("/private/") || lower.starts_with("/shared/");
    rooted
        && !name.ends_with('/')
        && !name.contains("//")
        && !name.contains(['*', '%'])
        && name.is_ascii()
}

fn warn_annotations(b: &mut Builder<'_>, v: &Validated, names: &[PStr]) {
    for n in names.iter().filter_map(PStr::as_literal) {
        if !valid_annotation(n) {
            b.warning(
                v.pos,
                format!("{} test: specified annotation name `{n}' is invalid", v.name),
            );
        }
    }
}

fn warn_mailbox(b: &mut Builder<'_>, v: &Validated, mailbox: &PStr) {
    if let Some(m) = mailbox.as_literal().filter(|m| m.contains('\u{fffd}')) {
        let shown = m.replace('\u{fffd}', "?");
        b.warning(
            v.pos,
            format!("{} test: invalid mailbox name `{shown}' specified: invalid utf-8", v.name),
        );
    }
}

fn build_value(b: &mut Builder<'_>, v: &mut Validated, mailbox: bool) -> Option<Test> {
    let off = usize::from(mailbox);
    let mbox = match (&v.positional[0], mailbox) {
        (Arg::Str(m), true) => Some(b.string(m)),
        _ => None,
    };
    let Arg::Str(name) = &v.positional[off] else { return None };
    let annotation = b.string(name);
    warn_annotations(b, v, std::slice::from_ref(&annotation));
    if let Some(m) = &mbox {
        warn_mailbox(b, v, m);
    }
    let keys = b.keys(&v.positional[off + 1], &v.spec);
    Some(Test::Metadata { mailbox: mbox, annotation, keys, spec: v.spec })
}

fn build_exists(b: &mut Builder<'_>, v: &mut Validated, mailbox: bool) -> Option<Test> {
    let off = usize::from(mailbox);
    let mbox = match (&v.positional[0], mailbox) {
        (Arg::Str(m), true) => Some(b.string(m)),
        _ => None,
    };
    let names = b.string_list(&v.positional[off]);
    warn_annotations(b, v, &names);
    if let Some(m) = &mbox {
        warn_mailbox(b, v, m);
    }
    Some(Test::MetadataExists { mailbox: mbox, annotations: names })
}
