//! The quota of one user around a Maildir save: the API the delivery core calls.
//!
//! Order of calls, as Dovecot's quota plugin hooks a save (quota-storage.c):
//! 1. [`Quota::check_before_save`] with the message size before writing anything; it
//!    refreshes each root's usage (recalculating `maildirsize` when its rules demand it).
//! 2. The caller saves the message (into `new/` or `cur/`) only on [`QuotaVerdict::Ok`].
//! 3. [`Quota::record_saved`] after the message is in place: appends the usage line and
//!    returns the warning scripts whose thresholds the delivery crossed.
//!
//! Dovecot checks a second time after writing, with the exact size; a caller that only
//! learns the size while writing may call [`Quota::check_before_save`] again then, and
//! discard the written file on refusal. Sizes are physical, or virtual with
//! `quota_vsizes = yes`; a `maildirsize` recalculation always sums the physical `S=` sizes,
//! exactly as Dovecot 2.3.19 does (observed: vsize lines `32 1` become `56 2` after
//! `doveadm quota recalc` of two 28-byte messages). When the Maildir root does not exist
//! yet, nothing is written before the save; [`Quota::record_saved`] then creates the file
//! from a scan (Dovecot, which creates the mailbox first, writes a `0 0` line before it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::backend_count::count_usage;
use crate::check::QuotaVerdict;
use crate::check::{RootUsage, check, crossed_warning};
use crate::error::QuotaError;
use crate::maildirsize::{self, MAILDIRSIZE_FILENAME, judge};
use crate::rule::Limits;
use crate::scan::{NamespaceLayout, SizeKind, scan_maildir};
use crate::settings::{BackendKind, QuotaSettings, RootSettings};
use crate::warning::{UsagePoint, WarningCommand};

/// All quota roots of one user, bound to the user's Maildir.
#[derive(Debug, Clone)]
pub struct Quota {
    settings: QuotaSettings,
    maildir_root: PathBuf,
    layout: NamespaceLayout,
}

/// The name the delivery brief uses for [`Quota`]; it covers every configured root.
pub type QuotaRoot = Quota;

impl Quota {
    /// Reads the quota settings from the `plugin { }` map (userdb fields merged in by the
    /// caller) for the Maildir++ tree at `maildir_root` (INBOX, where `maildirsize` lives).
    /// `None` when the user has no quota at all.
    pub fn from_plugin_settings(
        plugin: &BTreeMap<String, String>,
        maildir_root: &Path,
    ) -> Result<Option<Quota>, QuotaError> {
        Ok(QuotaSettings::from_plugin(plugin)?.map(|settings| Quota {
            settings,
            maildir_root: maildir_root.to_path_buf(),
            layout: NamespaceLayout::default(),
        }))
    }

    /// Sets the namespace prefix and separator used to name folders when matching rules
    /// (default: no prefix, separator `.`).
    pub fn with_namespace(mut self, layout: NamespaceLayout) -> Quota {
        self.layout = layout;
        self
    }

    /// The parsed settings (for logging `notes`, or for the pure [`check`]).
    pub fn settings(&self) -> &QuotaSettings {
        &self.settings
    }

    /// `<maildir root>/maildirsize`.
    pub fn maildirsize_path(&self) -> PathBuf {
        self.maildir_root.join(MAILDIRSIZE_FILENAME)
    }

    /// Current usage of every root, index-aligned with `settings().roots`.
    ///
    /// For `maildir` roots this may recalculate and rewrite `maildirsize`.
    pub fn usage(&self) -> Result<Vec<RootUsage>, QuotaError> {
        self.settings.roots.iter().map(|r| self.root_usage(r)).collect()
    }

    /// Decides whether a message of `size` bytes (physical, or virtual with
    /// `quota_vsizes = yes`) may be saved into `mailbox_vname`.
    ///
    /// On `Err` (a backend I/O error) Dovecot logs the error and saves the mail anyway;
    /// callers should do the same.
    pub fn check_before_save(
        &self,
        mailbox_vname: &str,
        size: u64,
    ) -> Result<QuotaVerdict, QuotaError> {
        let mut usages = Vec::with_capacity(self.settings.roots.len());
        for root in &self.settings.roots {
            let relevant = !root.noenforcing
                && root.applies_to(mailbox_vname)
                && !root.rules.is_ignored(mailbox_vname);
            usages.push(if relevant { self.root_usage(root)? } else { RootUsage::default() });
        }
        Ok(check(&self.settings, &usages, size, mailbox_vname))
    }

    /// Records that `count` messages of `size` bytes in total were saved into
    /// `mailbox_vname` (call it after the files are in `new/`/`cur/`). For `maildir` roots
    /// one line `<size> <count>` is appended to `maildirsize` (or the file is recalculated,
    /// which then already includes the new messages). Returns the warning scripts to run.
    pub fn record_saved(
        &self,
        mailbox_vname: &str,
        size: u64,
        count: u64,
    ) -> Result<Vec<WarningCommand>, QuotaError> {
        let delta = UsagePoint {
            bytes: i64::try_from(size).unwrap_or(i64::MAX),
            count: i64::try_from(count).unwrap_or(i64::MAX),
        };
        let mut warnings = Vec::new();
        for root in &self.settings.roots {
            if !root.applies_to(mailbox_vname) || root.rules.is_ignored(mailbox_vname) {
                continue;
            }
            let Some((limits, after)) = self.apply_delta(root, delta)? else { continue };
            let before =
                UsagePoint { bytes: after.bytes - delta.bytes, count: after.count - delta.count };
            warnings.extend(crossed_warning(root, limits, before, after));
        }
        Ok(warnings)
    }

    /// Applies a saved delta to one root; returns the backend limits and the usage after it,
    /// or `None` when the root does not track usage (unlimited).
    fn apply_delta(
        &self,
        root: &RootSettings,
        delta: UsagePoint,
    ) -> Result<Option<(Option<Limits>, UsagePoint)>, QuotaError> {
        match root.backend {
            BackendKind::Count => {
                let u = count_usage(&self.maildir_root, &self.layout, &root.rules)?;
                Ok(Some((None, u.point())))
            }
            BackendKind::Maildir => {
                let path = self.maildirsize_path();
                let read = maildirsize::read(&path)?;
                let state = read.parsed.clone().and_then(|s| {
                    judge(&s, root.rules.default_forced.then_some(root.rules.default), read.age)
                        .map(|l| (s, l))
                });
                if let Ok((size, limits)) = state
                    && maildirsize::append(&path, delta.bytes, delta.count)?
                {
                    let after = UsagePoint {
                        bytes: size.bytes + delta.bytes,
                        count: size.count + delta.count,
                    };
                    return Ok(Some((Some(limits), after)));
                }
                // Missing or untrusted: a recalculation counts the new messages already.
                let limits = self.limits_for_recalc(root, read.file_limits);
                if limits.is_unlimited() && !root.rules.default_forced {
                    return Ok(None);
                }
                let u = self.recalculate(root, limits)?;
                Ok(Some((u.backend_limits, u.point())))
            }
        }
    }

    fn root_usage(&self, root: &RootSettings) -> Result<RootUsage, QuotaError> {
        match root.backend {
            BackendKind::Count => count_usage(&self.maildir_root, &self.layout, &root.rules),
            BackendKind::Maildir => self.maildir_usage(root),
        }
    }

    /// The limits a recalculation writes: the forced rule, else line 1 of the old file,
    /// else the non-forced default rule.
    fn limits_for_recalc(&self, root: &RootSettings, file_limits: Option<Limits>) -> Limits {
        if root.rules.default_forced {
            root.rules.default
        } else {
            file_limits.unwrap_or(root.rules.default)
        }
    }

    fn maildir_usage(&self, root: &RootSettings) -> Result<RootUsage, QuotaError> {
        let read = maildirsize::read(&self.maildirsize_path())?;
        let forced = root.rules.default_forced.then_some(root.rules.default);
        if let Ok(size) = &read.parsed
            && let Ok(limits) = judge(size, forced, read.age)
        {
            return Ok(RootUsage {
                bytes: size.bytes,
                count: size.count,
                backend_limits: Some(limits),
            });
        }
        let limits = self.limits_for_recalc(root, read.file_limits);
        if limits.is_unlimited() {
            if root.rules.default_forced {
                // An explicit `*:storage=0`: no limit, and no file either.
                maildirsize::remove(&self.maildirsize_path())?;
            }
            return Ok(RootUsage::default());
        }
        self.recalculate(root, limits)
    }

    /// Scans the Maildir and rewrites `maildirsize`, unless a directory changed during the
    /// scan (then the file is left alone, or removed under a forced rule).
    fn recalculate(&self, root: &RootSettings, limits: Limits) -> Result<RootUsage, QuotaError> {
        let totals = scan_maildir(&self.maildir_root, &self.layout, SizeKind::Physical, &|m| {
            root.rules.is_ignored(m)
        })?;
        let path = self.maildirsize_path();
        if totals.changed_since_scan() {
            if root.rules.default_forced {
                maildirsize::remove(&path)?;
            }
        } else if self.maildir_root.is_dir() {
            maildirsize::rewrite(&path, limits, totals.bytes, totals.count)?;
        }
        Ok(RootUsage {
            bytes: i64::try_from(totals.bytes).unwrap_or(i64::MAX),
            count: i64::try_from(totals.count).unwrap_or(i64::MAX),
            backend_limits: Some(limits),
        })
    }
}
