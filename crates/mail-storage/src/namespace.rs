//! Namespaces (`namespace NAME { prefix separator inbox … }`) and how a virtual mailbox
//! name finds its namespace and directory (lda-cli.md §6 step 2, observed with 2.3.19):
//! `INBOX` (any case) is the inbox namespace's INBOX; a name equal to the inbox
//! namespace's prefix is INBOX too; otherwise the longest matching prefix wins, and a name
//! outside every prefix "can't be created".

use crate::error::{ErrorKind, StorageError};
use crate::location::MailLocation;
use crate::mailbox_name::{storage_dir, verify_name};

/// `mailbox NAME { auto = … }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoMode {
    /// `auto = no` (default).
    #[default]
    No,
    /// `auto = create`: created when first opened.
    Create,
    /// `auto = subscribe`: created and subscribed when first opened.
    Subscribe,
}

/// A `mailbox NAME { auto = … }` block inside a namespace (name without the prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoMailbox {
    /// Mailbox name inside the namespace (`INBOX` matched case-insensitively).
    pub name: String,
    /// Its `auto` setting.
    pub auto: AutoMode,
}

/// One `namespace { }` block, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceSpec {
    /// The block's name.
    pub name: String,
    /// `prefix` (e.g. `INBOX/`), may be empty.
    pub prefix: String,
    /// `separator`; `None` = the layout's (`.` Maildir++, `/` fs).
    pub separator: Option<char>,
    /// `inbox = yes`.
    pub inbox: bool,
    /// `location`; `None` = the user's `mail_location`.
    pub location: Option<MailLocation>,
    /// `subscriptions = yes`.
    pub subscriptions: bool,
    /// `hidden`.
    pub hidden: bool,
    /// `list = yes`.
    pub list: bool,
    /// `mailbox { auto }` blocks.
    pub auto_mailboxes: Vec<AutoMailbox>,
}

impl NamespaceSpec {
    /// The implicit namespace Dovecot uses when none is configured.
    pub fn implicit_inbox() -> NamespaceSpec {
        NamespaceSpec {
            name: "inbox".into(),
            prefix: String::new(),
            separator: None,
            inbox: true,
            location: None,
            subscriptions: true,
            hidden: false,
            list: true,
            auto_mailboxes: Vec::new(),
        }
    }
}

/// A namespace with its location resolved.
#[derive(Debug, Clone)]
pub(crate) struct Namespace {
    pub spec: NamespaceSpec,
    pub location: MailLocation,
    pub sep: char,
}

impl Namespace {
    pub fn new(spec: NamespaceSpec, default_location: &MailLocation) -> Namespace {
        let location = spec.location.clone().unwrap_or_else(|| default_location.clone());
        let sep = spec.separator.unwrap_or_else(|| location.layout.separator());
        Namespace { spec, location, sep }
    }

    /// The `auto` mode configured for `name` (inside this namespace).
    pub fn auto_mode(&self, name: &str) -> AutoMode {
        let is_inbox = name.eq_ignore_ascii_case("INBOX");
        self.spec
            .auto_mailboxes
            .iter()
            .find(|m| m.name == name || (is_inbox && m.name.eq_ignore_ascii_case("INBOX")))
            .map_or(AutoMode::No, |m| m.auto)
    }
}

/// What a virtual name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// The user's INBOX.
    Inbox,
    /// Another mailbox: name inside the namespace, its levels, directory relative to the
    /// root, and the parents' relative directories (nearest first).
    Folder { name: String, levels: Vec<String>, rel: String, parents: Vec<String> },
}

/// Finds the namespace of `vname` and what it names there.
pub(crate) fn resolve<'a>(
    namespaces: &'a [Namespace],
    vname: &str,
) -> Result<(&'a Namespace, Resolved), StorageError> {
    let inbox_ns = namespaces.iter().find(|ns| ns.spec.inbox).ok_or_else(|| {
        StorageError::temp("namespace configuration error: inbox=yes namespace missing")
    })?;
    let vname = normalize_inbox(vname, inbox_ns.sep);
    if vname == "INBOX" {
        return Ok((inbox_ns, Resolved::Inbox));
    }
    let ns = namespaces
        .iter()
        .filter(|ns| vname.starts_with(&ns.spec.prefix) || is_bare_prefix(&vname, &ns.spec.prefix))
        .max_by_key(|ns| ns.spec.prefix.len())
        .ok_or_else(|| StorageError::new(ErrorKind::NotPossible, "Mailbox can't be created"))?;
    if is_bare_prefix(&vname, &ns.spec.prefix) || (vname == ns.spec.prefix && !vname.is_empty()) {
        return if ns.spec.inbox {
            Ok((ns, Resolved::Inbox))
        } else {
            Err(StorageError::new(ErrorKind::InvalidName, "Invalid mailbox name"))
        };
    }
    let name = &vname[ns.spec.prefix.len()..];
    if ns.spec.inbox && name == "INBOX" {
        return Ok((ns, Resolved::Inbox));
    }
    let levels = verify_name(name, ns.sep, ns.location.layout, false)?;
    let rel = storage_dir(&levels, ns.location.layout, ns.location.utf8)?;
    let parents = (1..levels.len())
        .rev()
        .map(|n| storage_dir(&levels[..n], ns.location.layout, ns.location.utf8))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ns, Resolved::Folder { name: name.to_owned(), levels, rel, parents }))
}

/// "inbox", "Inbox.x" → "INBOX", "INBOX.x" (Dovecot shows INBOX in uppercase everywhere).
fn normalize_inbox(vname: &str, sep: char) -> String {
    match vname.get(..5) {
        Some(head) if head.eq_ignore_ascii_case("INBOX") => {
            let rest = &vname[5..];
            if rest.is_empty() || rest.starts_with(sep) {
                format!("INBOX{rest}")
            } else {
                vname.to_owned()
            }
        }
        _ => vname.to_owned(),
    }
}

/// `INBOX` for prefix `INBOX/`: the prefix without its trailing separator.
fn is_bare_prefix(vname: &str, prefix: &str) -> bool {
    prefix.len() > 1
        && prefix.chars().last().is_some_and(|c| !c.is_alphanumeric())
        && vname == &prefix[..prefix.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Layout;

    fn ns(prefix: &str, sep: Option<char>, inbox: bool, layout: Layout) -> Namespace {
        let mut loc = MailLocation::parse("maildir:/m", None).unwrap();
        loc.layout = layout;
        let spec = NamespaceSpec {
            prefix: prefix.into(),
            separator: sep,
            inbox,
            ..NamespaceSpec::implicit_inbox()
        };
        Namespace::new(spec, &loc)
    }

    fn rel(r: &Resolved) -> &str {
        match r {
            Resolved::Folder { rel, .. } => rel,
            Resolved::Inbox => "INBOX",
        }
    }

    #[test]
    fn implicit_namespace() {
        let list = vec![ns("", None, true, Layout::MaildirPlusPlus)];
        assert_eq!(resolve(&list, "inbox").unwrap().1, Resolved::Inbox);
        assert_eq!(rel(&resolve(&list, "iNbOx.x").unwrap().1), ".INBOX.x");
        assert_eq!(rel(&resolve(&list, "Work.Sub").unwrap().1), ".Work.Sub");
        let (_, r) = resolve(&list, "a.b.c").unwrap();
        let Resolved::Folder { parents, .. } = r else { panic!("folder expected") };
        assert_eq!(parents, vec![".a.b".to_owned(), ".a".to_owned()]);
        assert!(resolve(&list, "a/b").is_err());
    }

    #[test]
    fn prefixed_inbox_namespace() {
        let list = vec![ns("INBOX/", Some('/'), true, Layout::Fs)];
        assert_eq!(resolve(&list, "INBOX/").unwrap().1, Resolved::Inbox);
        assert_eq!(resolve(&list, "INBOX").unwrap().1, Resolved::Inbox);
        assert_eq!(resolve(&list, "INBOX/INBOX").unwrap().1, Resolved::Inbox);
        assert_eq!(rel(&resolve(&list, "INBOX/Work/Sub").unwrap().1), "Work/Sub");
        assert_eq!(rel(&resolve(&list, "inbox/x").unwrap().1), "x");
        assert_eq!(rel(&resolve(&list, "INBOX/inbox").unwrap().1), "inbox");
        let err = resolve(&list, "Work").unwrap_err();
        assert_eq!(err.public_message(), "Mailbox can't be created");
        assert!(!err.is_temporary());
    }

    #[test]
    fn longest_prefix_wins() {
        let list = vec![
            ns("", Some('/'), true, Layout::MaildirPlusPlus),
            ns("Shared/", Some('/'), false, Layout::Fs),
        ];
        let (found, r) = resolve(&list, "Shared/x/y").unwrap();
        assert_eq!(found.spec.prefix, "Shared/");
        assert_eq!(rel(&r), "x/y");
        let (found, r) = resolve(&list, "Other/x").unwrap();
        assert_eq!(found.spec.prefix, "");
        assert_eq!(rel(&r), ".Other.x");
        assert_eq!(resolve(&list, "Shared/").unwrap_err().public_message(), "Invalid mailbox name");
    }

    #[test]
    fn auto_modes() {
        let mut n = ns("", None, true, Layout::MaildirPlusPlus);
        n.spec.auto_mailboxes = vec![
            AutoMailbox { name: "Spam".into(), auto: AutoMode::Create },
            AutoMailbox { name: "inbox".into(), auto: AutoMode::Subscribe },
        ];
        assert_eq!(n.auto_mode("Spam"), AutoMode::Create);
        assert_eq!(n.auto_mode("spam"), AutoMode::No);
        assert_eq!(n.auto_mode("INBOX"), AutoMode::Subscribe);
    }
}
