//! The `count` quota backend: usage is the sum of virtual sizes and the number of messages
//! over all mailboxes not `ignore`d; nothing is written.
//!
//! Dovecot 2.3 (src/plugins/quota/quota-count.c) asks each mailbox for its totals, which
//! come from the `hdr-vsize` extension of `dovecot.index`. letterbox does not read that
//! index: it computes the same numbers from the Maildir itself, the `,W=<n>` field of each
//! file name, or the file's content (bytes plus one per bare LF) when the name has none
//! (`spec/quota.md` §5). No per-process cache is kept: one delivery asks twice at most.

use std::path::Path;

use crate::check::RootUsage;
use crate::error::QuotaError;
use crate::rule::RuleSet;
use crate::scan::{NamespaceLayout, SizeKind, scan_maildir};

/// Usage of a `count` root over the Maildir++ tree at `root`.
pub fn count_usage(
    root: &Path,
    layout: &NamespaceLayout,
    rules: &RuleSet,
) -> Result<RootUsage, QuotaError> {
    let totals = scan_maildir(root, layout, SizeKind::Virtual, &|m| rules.is_ignored(m))?;
    Ok(RootUsage {
        bytes: i64::try_from(totals.bytes).unwrap_or(i64::MAX),
        count: i64::try_from(totals.count).unwrap_or(i64::MAX),
        backend_limits: None,
    })
}
