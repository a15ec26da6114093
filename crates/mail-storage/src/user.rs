//! A mail user: namespaces over one or more locations, opening mailboxes for delivery with
//! Dovecot's lazy creation rules (lda-cli.md §6 step 3), and the subscriptions file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dovecot_index::{Dotlock, DotlockSettings, Subscriptions};

use crate::driver;
use crate::error::StorageError;
use crate::location::MailLocation;
use crate::mailbox::{Mailbox, OpenOptions};
use crate::mailbox_name::{mutf7_decode, storage_levels, verify_name};
use crate::maildir::Target;
use crate::maildir::create::Permissions;
use crate::maildir::filename::unique_base;
use crate::namespace::{AutoMode, Namespace, NamespaceSpec, Resolved, resolve};
use crate::settings::StorageSettings;

/// The subscriptions lock: timeout 120 s, stale after 30 s (maildir.md §9).
const SUBSCRIPTIONS_LOCK_TIMEOUT: Duration = Duration::from_secs(120);
const SUBSCRIPTIONS_STALE: Duration = Duration::from_secs(30);

/// One user's mail: namespaces and settings.
#[derive(Debug, Clone)]
pub struct MailUser {
    namespaces: Vec<Namespace>,
    settings: Arc<StorageSettings>,
}

impl MailUser {
    /// No namespaces given → one implicit inbox namespace (prefix "", separator from the
    /// layout, inbox = yes). Exactly one namespace must have `inbox = yes`.
    pub fn new(
        default_location: MailLocation,
        namespaces: Vec<NamespaceSpec>,
        settings: StorageSettings,
    ) -> Result<MailUser, StorageError> {
        let specs =
            if namespaces.is_empty() { vec![NamespaceSpec::implicit_inbox()] } else { namespaces };
        let inboxes = specs.iter().filter(|s| s.inbox).count();
        if inboxes != 1 {
            return Err(StorageError::temp(format!(
                "namespace configuration error: {inboxes} namespaces with inbox=yes (need exactly 1)"
            )));
        }
        let namespaces =
            specs.into_iter().map(|spec| Namespace::new(spec, &default_location)).collect();
        Ok(MailUser { namespaces, settings: Arc::new(settings) })
    }

    /// Resolve a virtual mailbox name (as IMAP shows it, incl. namespace prefix) and open it
    /// for saving. INBOX is always created; other mailboxes only with `opts.autocreate` or a
    /// `mailbox { auto = create|subscribe }` block. A mailbox created by this call is
    /// subscribed when `opts.autosubscribe` or `auto = subscribe`.
    pub fn open_mailbox(&self, vname: &str, opts: &OpenOptions) -> Result<Mailbox, StorageError> {
        self.open_inner(vname, opts).map_err(|e| e.with_mailbox(vname))
    }

    fn open_inner(&self, vname: &str, opts: &OpenOptions) -> Result<Mailbox, StorageError> {
        let (ns, resolved) = resolve(&self.namespaces, vname)?;
        let (target, name, levels) = match resolved {
            Resolved::Inbox => (Target::Inbox, "INBOX".to_owned(), vec!["INBOX".to_owned()]),
            Resolved::Folder { name, levels, rel, parents } => {
                (Target::Folder { rel, parents }, name, levels)
            }
        };
        let auto = ns.auto_mode(&name);
        let autocreate = opts.autocreate || auto != AutoMode::No;
        let autosubscribe = opts.autosubscribe || auto == AutoMode::Subscribe;
        if autocreate && target != Target::Inbox && !driver::exists(&ns.location, &target) {
            // Dovecot's create-time checks (control characters) apply to new mailboxes only.
            verify_name(&name, ns.sep, ns.location.layout, true)?;
        }
        let (store, created) =
            driver::open(&ns.location, &target, autocreate, vname, &self.settings)?;
        if created && autosubscribe && ns.spec.subscriptions {
            let entry = storage_levels(&levels, ns.location.utf8 || target == Target::Inbox);
            self.subscribe(ns, entry)?;
        }
        Ok(Mailbox { vname: vname.to_owned(), created, store })
    }

    /// Directory where the delivery core may stage the incoming message (opening INBOX, and
    /// so creating it as Dovecot would): INBOX's Maildir `tmp/`, on the same filesystem so
    /// that saves can hard-link instead of copying; for an mbox INBOX `mail_temp_dir`.
    pub fn staging_dir(&self) -> Result<PathBuf, StorageError> {
        let inbox = self.open_mailbox("INBOX", &OpenOptions::default())?;
        Ok(inbox.store.staging_dir())
    }

    /// A Maildir-style unique base name (for staging files too).
    pub fn unique_name(&self) -> String {
        unique_base(&self.settings.hostname)
    }

    /// The settings in effect.
    pub fn settings(&self) -> &StorageSettings {
        &self.settings
    }

    /// Subscribed mailboxes as virtual names (prefix + levels joined by the separator,
    /// modified UTF-7 decoded), read from every namespace that keeps subscriptions.
    pub fn subscriptions(&self) -> Result<Vec<String>, StorageError> {
        let mut seen_files: Vec<PathBuf> = Vec::new();
        let mut names = Vec::new();
        for ns in self.namespaces.iter().filter(|ns| ns.spec.subscriptions) {
            let path = subscriptions_path(ns);
            if seen_files.contains(&path) {
                continue;
            }
            let subs = read_subscriptions(&path)?;
            for entry in subs.entries {
                names.push(vname_of(ns, &entry));
            }
            seen_files.push(path);
        }
        Ok(names)
    }

    fn subscribe(&self, ns: &Namespace, entry: Vec<Vec<u8>>) -> Result<(), StorageError> {
        let path = subscriptions_path(ns);
        let dir = path.parent().unwrap_or(Path::new("/"));
        let perms = Permissions::of_dir(dir)?.unwrap_or_default();
        let lock_settings = DotlockSettings {
            timeout: SUBSCRIPTIONS_LOCK_TIMEOUT,
            stale_timeout: SUBSCRIPTIONS_STALE,
            hostname: self.settings.hostname.clone(),
            file_mode: perms.file_mode,
            gid: perms.gid,
        };
        let lock = Dotlock::acquire(&path, &lock_settings)?;
        let mut subs = read_subscriptions(&path)?;
        if subs.add(entry) {
            lock.replace(&subs.to_bytes(), self.settings.fsync.enabled())?;
        } else {
            lock.release()?;
        }
        Ok(())
    }
}

fn subscriptions_path(ns: &Namespace) -> PathBuf {
    ns.location.control_root().join(&ns.location.subscriptions_file)
}

fn read_subscriptions(path: &Path) -> Result<Subscriptions, StorageError> {
    match fs::read(path) {
        Ok(data) => Ok(Subscriptions::parse(&data)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Subscriptions::default()),
        Err(e) => Err(StorageError::io("open", path, e, false)),
    }
}

fn vname_of(ns: &Namespace, entry: &[Vec<u8>]) -> String {
    let levels: Vec<String> = entry
        .iter()
        .map(|level| {
            let text = String::from_utf8_lossy(level).into_owned();
            if ns.location.utf8 { text.clone() } else { mutf7_decode(&text).unwrap_or(text) }
        })
        .collect();
    let joined = levels.join(&ns.sep.to_string());
    if ns.spec.inbox && joined == "INBOX" {
        return joined;
    }
    format!("{}{joined}", ns.spec.prefix)
}
