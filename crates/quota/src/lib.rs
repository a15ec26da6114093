//! The quota plugin of Dovecot 2.3 for letterbox deliveries: quota roots and rules from the
//! `plugin { }` settings, the over-quota decision with grace, `quota_warning` thresholds,
//! and the `maildir` (Maildir++ `maildirsize`) and `count` backends.
//!
//! Settings arrive as the plain `plugin { }` map with userdb fields already merged in
//! ([`Quota::from_plugin_settings`], [`QuotaSettings::from_plugin`]); the decision itself is
//! the pure [`check`]. Around a Maildir save the delivery core calls
//! [`Quota::check_before_save`] and [`Quota::record_saved`], which keep `maildirsize`
//! exactly as Dovecot does (one `O_APPEND` line per transaction, recalculation by scanning
//! the Maildir when the file is missing, too large, corrupt, negative, stale over quota, or
//! its limits differ from a forced rule), so Dovecot and letterbox can share one Maildir.
//!
//! Deliberately not done here: %-variable expansion and `<file` values (the caller expands
//! the map; `%%` is still accepted as `%`), running warning scripts unasked
//! ([`WarningCommand::send`] speaks the script-service protocol when the caller wants it),
//! the `dict`/`fs`/`dirsize`/`imapc` backends, `quota_over_flag*`, the `ignoreunlimited`
//! and `hidden` root flags (parsed, no effect), the `LAYOUT=fs` and
//! `CONTROL=` variants of the Maildir walk, and decoding modified UTF-7 folder names for rule
//! matching. Dovecot's `count` backend reads per-mailbox totals from `dovecot.index`;
//! letterbox computes the same totals from the Maildir files ([`backend_count`]).
//! It mirrors dovecot/core@2.3.19.1 src/plugins/quota/ (quota.c, quota-util.c,
//! quota-maildir.c, quota-count.c, quota-storage.c) as described in `spec/quota.md`; no code
//! is taken from Dovecot. The library never prints or exits.

pub mod backend_count;
mod check;
mod error;
pub mod maildirsize;
mod quota;
pub mod rule;
pub mod scan;
mod settings;
pub mod warning;

pub use check::{QuotaResource, QuotaVerdict, RootUsage, check, check_root, crossed_warning};
pub use error::QuotaError;
pub use quota::{Quota, QuotaRoot};
pub use rule::{LimitValue, Limits, MailboxLimits, RuleSet};
pub use scan::NamespaceLayout;
pub use settings::{BackendKind, DEFAULT_EXCEEDED_MESSAGE, QuotaSettings, RootSettings};
pub use warning::{UsagePoint, WarningCommand, WarningRule};
