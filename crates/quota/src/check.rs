//! The over-quota decision for one delivered message, without I/O.
//!
//! Mirrors the test of dovecot/core@2.3.19.1 src/plugins/quota/quota.c
//! (`quota_test_alloc` and the transaction limits) as `spec/quota.md` §3 describes it:
//! usage at or over the storage limit leaves no room; otherwise the room is
//! `limit - usage + grace`; the message count has no grace; `noenforcing` and `ignore`d
//! mailboxes are never refused; `quota_max_mail_size` is a separate *limit* error.

use crate::rule::{Limits, MailboxLimits};
use crate::settings::{QuotaSettings, RootSettings};
use crate::warning::{UsagePoint, WarningCommand};

/// Current usage of one root as its backend reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RootUsage {
    /// Bytes in use (signed: `maildirsize` may sum to a transiently negative value).
    pub bytes: i64,
    /// Messages stored.
    pub count: i64,
    /// Limits stored by the backend (`maildirsize` line 1), which win over a non-forced
    /// default rule.
    pub backend_limits: Option<Limits>,
}

impl RootUsage {
    /// The usage as a [`UsagePoint`] (for warnings).
    pub fn point(&self) -> UsagePoint {
        UsagePoint { bytes: self.bytes, count: self.count }
    }
}

/// Which limit refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaResource {
    /// The storage (bytes) limit.
    Storage,
    /// The message count limit.
    Messages,
}

/// The result of a quota check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaVerdict {
    /// The message fits.
    Ok,
    /// The message does not fit: Dovecot's "no quota" error (`MAIL_ERROR_NOQUOTA`). The LDA
    /// rejects (DSN 5.2.2, or `-e` → 77, or 75 with `quota_full_tempfail = yes`).
    OverQuota {
        /// Name of the root that refused (`User quota`).
        root: String,
        /// Which limit.
        resource: QuotaResource,
        /// True when the message alone is larger than the whole limit (Dovecot's internal
        /// "over quota limit"; same user-visible text).
        over_whole_limit: bool,
        /// The user-visible reason: `quota_exceeded_message`.
        message: String,
    },
    /// Larger than `quota_max_mail_size`: Dovecot's *limit* error (`MAIL_ERROR_LIMIT`),
    /// which the LDA treats as a temporary failure (exit 75).
    TooLarge {
        /// The message size.
        size: u64,
        /// `quota_max_mail_size`.
        max: u64,
    },
}

impl QuotaVerdict {
    /// Dovecot 2.3.19's text for a message over `quota_max_mail_size` (observed with
    /// `dovecot-lda -e`: printed on stderr, exit 75).
    pub const TOO_LARGE_TEXT: &'static str =
        "Mail size is larger than the maximum size allowed by server configuration";

    /// The user-visible text: the exceeded message, or Dovecot's size-limit text.
    pub fn public_reason(&self) -> Option<&str> {
        match self {
            QuotaVerdict::Ok => None,
            QuotaVerdict::OverQuota { message, .. } => Some(message),
            QuotaVerdict::TooLarge { .. } => Some(Self::TOO_LARGE_TEXT),
        }
    }
}

/// Checks one root; `Some((resource, over_whole_limit))` when it refuses the message.
///
/// `size` is the physical size, or the virtual size with `quota_vsizes = yes`.
pub fn check_root(
    root: &RootSettings,
    usage: &RootUsage,
    size: u64,
    mailbox: &str,
) -> Option<(QuotaResource, bool)> {
    if root.noenforcing || !root.applies_to(mailbox) {
        return None;
    }
    let default = root.rules.effective_default(usage.backend_limits);
    let (bytes, count) = match root.rules.mailbox_limits(mailbox, default) {
        MailboxLimits::Ignored => return None,
        MailboxLimits::Limited { bytes, count } => (bytes, count),
    };
    if let Some(limit) = bytes {
        let limit = i128::from(limit);
        let used = i128::from(usage.bytes);
        let room =
            if used >= limit { 0 } else { limit - used + i128::from(root.grace_bytes(default)) };
        if i128::from(size) > room {
            return Some((QuotaResource::Storage, i128::from(size) > limit));
        }
    }
    if let Some(limit) = count
        && i128::from(usage.count) + 1 > i128::from(limit)
    {
        return Some((QuotaResource::Messages, limit == 0));
    }
    None
}

/// Checks a message of `size` bytes for `mailbox` against every root.
///
/// `usages[i]` belongs to `settings.roots[i]`; a missing entry counts as empty usage.
pub fn check(
    settings: &QuotaSettings,
    usages: &[RootUsage],
    size: u64,
    mailbox: &str,
) -> QuotaVerdict {
    if settings.max_mail_size != 0 && size > settings.max_mail_size {
        return QuotaVerdict::TooLarge { size, max: settings.max_mail_size };
    }
    for (i, root) in settings.roots.iter().enumerate() {
        let usage = usages.get(i).copied().unwrap_or_default();
        if let Some((resource, over_whole_limit)) = check_root(root, &usage, size, mailbox) {
            return QuotaVerdict::OverQuota {
                root: root.name.clone(),
                resource,
                over_whole_limit,
                message: settings.exceeded_message.clone(),
            };
        }
    }
    QuotaVerdict::Ok
}

/// The warning of `root` fired by a move from `before` to `after`: the first matching
/// `quota_warning*` rule only, as Dovecot does.
pub fn crossed_warning(
    root: &RootSettings,
    backend_limits: Option<Limits>,
    before: UsagePoint,
    after: UsagePoint,
) -> Option<WarningCommand> {
    let default = root.rules.effective_default(backend_limits);
    root.warnings.iter().find_map(|(setting, rule)| {
        rule.fires(default, before, after).map(|reason| WarningCommand {
            root: root.name.clone(),
            setting: setting.clone(),
            command: rule.command.clone(),
            reason,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings(pairs: &[(&str, &str)]) -> QuotaSettings {
        let m: BTreeMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        QuotaSettings::from_plugin(&m).unwrap().unwrap()
    }

    fn usage(bytes: i64, count: i64) -> RootUsage {
        RootUsage { bytes, count, backend_limits: None }
    }

    #[test]
    fn spec_worked_example_with_grace() {
        let s = settings(&[
            ("quota", "maildir:User quota"),
            ("quota_rule", "*:storage=300B:messages=10"),
            ("quota_exceeded_message", "Sorry, mailbox full (specuser)"),
        ]);
        assert_eq!(check(&s, &[usage(0, 0)], 112, "INBOX"), QuotaVerdict::Ok);
        assert_eq!(check(&s, &[usage(112, 1)], 177, "INBOX"), QuotaVerdict::Ok, "218 >= 177");
        let v = check(&s, &[usage(289, 2)], 177, "INBOX");
        assert_eq!(
            v,
            QuotaVerdict::OverQuota {
                root: "User quota".into(),
                resource: QuotaResource::Storage,
                over_whole_limit: false,
                message: "Sorry, mailbox full (specuser)".into()
            }
        );
        assert_eq!(v.public_reason(), Some("Sorry, mailbox full (specuser)"));
        // Exactly the allowance fits; one byte more does not.
        assert_eq!(check(&s, &[usage(289, 2)], 41, "INBOX"), QuotaVerdict::Ok);
        assert_ne!(check(&s, &[usage(289, 2)], 42, "INBOX"), QuotaVerdict::Ok);
    }

    #[test]
    fn at_or_over_limit_leaves_no_room_but_empty_message_fits() {
        let s = settings(&[("quota", "maildir"), ("quota_rule", "*:storage=300B")]);
        assert_ne!(check(&s, &[usage(300, 1)], 1, "INBOX"), QuotaVerdict::Ok, "no grace at limit");
        assert_ne!(check(&s, &[usage(320, 1)], 1, "INBOX"), QuotaVerdict::Ok);
        assert_eq!(check(&s, &[usage(300, 1)], 0, "INBOX"), QuotaVerdict::Ok);
        match check(&s, &[usage(0, 0)], 400, "INBOX") {
            QuotaVerdict::OverQuota { over_whole_limit, .. } => assert!(over_whole_limit),
            v => panic!("{v:?}"),
        }
        // 330 = limit + grace fits into an empty mailbox (grace applies below the limit).
        assert_eq!(check(&s, &[usage(0, 0)], 330, "INBOX"), QuotaVerdict::Ok);
    }

    #[test]
    fn grace_forms() {
        let abs = settings(&[
            ("quota", "maildir"),
            ("quota_rule", "*:storage=1000B"),
            ("quota_grace", "0"),
        ]);
        assert_ne!(check(&abs, &[usage(900, 0)], 101, "INBOX"), QuotaVerdict::Ok);
        assert_eq!(check(&abs, &[usage(900, 0)], 100, "INBOX"), QuotaVerdict::Ok);
        let pct = settings(&[
            ("quota", "maildir"),
            ("quota_rule", "*:storage=1000B"),
            ("quota_grace", "50%%"),
        ]);
        assert_eq!(check(&pct, &[usage(900, 0)], 600, "INBOX"), QuotaVerdict::Ok);
        assert_ne!(check(&pct, &[usage(900, 0)], 601, "INBOX"), QuotaVerdict::Ok);
        let bytes = settings(&[
            ("quota", "maildir"),
            ("quota_rule", "*:storage=1000B"),
            ("quota_grace", "1K"),
        ]);
        assert_eq!(check(&bytes, &[usage(999, 0)], 1025, "INBOX"), QuotaVerdict::Ok);
    }

    #[test]
    fn message_count_has_no_grace() {
        let s = settings(&[("quota", "maildir"), ("quota_rule", "*:messages=3")]);
        assert_eq!(check(&s, &[usage(0, 2)], 10, "INBOX"), QuotaVerdict::Ok);
        match check(&s, &[usage(0, 3)], 10, "INBOX") {
            QuotaVerdict::OverQuota { resource, .. } => {
                assert_eq!(resource, QuotaResource::Messages)
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn per_mailbox_rules_percentages_and_ignore() {
        let s = settings(&[
            ("quota", "maildir"),
            ("quota_rule", "*:storage=1000B"),
            ("quota_rule2", "Trash:storage=+50%%"),
            ("quota_rule3", "Spam:ignore"),
            ("quota_rule4", "Tight:bytes=-500"),
            ("quota_grace", "0"),
        ]);
        let u = [usage(1200, 5)];
        assert_ne!(check(&s, &u, 1, "INBOX"), QuotaVerdict::Ok);
        assert_eq!(check(&s, &u, 300, "Trash"), QuotaVerdict::Ok);
        assert_ne!(check(&s, &u, 301, "Trash"), QuotaVerdict::Ok);
        assert_eq!(check(&s, &u, 1 << 30, "Spam"), QuotaVerdict::Ok);
        assert_ne!(check(&s, &[usage(400, 0)], 101, "Tight"), QuotaVerdict::Ok);
        assert_eq!(check(&s, &[usage(400, 0)], 100, "Tight"), QuotaVerdict::Ok);
    }

    #[test]
    fn backend_limits_versus_forced_rule() {
        let not_forced = settings(&[
            ("quota", "maildir"),
            ("quota_rule", "?:storage=1000B"),
            ("quota_grace", "0"),
        ]);
        let from_file = RootUsage {
            bytes: 500,
            count: 1,
            backend_limits: Some(Limits { bytes: 600, count: 0 }),
        };
        assert_ne!(check(&not_forced, &[from_file], 101, "INBOX"), QuotaVerdict::Ok);
        let forced = settings(&[
            ("quota", "maildir"),
            ("quota_rule", "*:storage=1000B"),
            ("quota_grace", "0"),
        ]);
        assert_eq!(check(&forced, &[from_file], 500, "INBOX"), QuotaVerdict::Ok);
    }

    #[test]
    fn noenforcing_ns_and_max_mail_size() {
        let s = settings(&[
            ("quota", "maildir:A:noenforcing"),
            ("quota_rule", "*:storage=1B"),
            ("quota2", "maildir:B:ns=Shared/"),
            ("quota2_rule", "*:storage=1B"),
            ("quota_max_mail_size", "1K"),
        ]);
        let u = [usage(100, 1), usage(100, 1)];
        assert_eq!(check(&s, &u, 1024, "INBOX"), QuotaVerdict::Ok);
        assert_eq!(check(&s, &u, 1025, "INBOX"), QuotaVerdict::TooLarge { size: 1025, max: 1024 });
        assert_eq!(
            QuotaVerdict::TooLarge { size: 1, max: 0 }.public_reason(),
            Some("Mail size is larger than the maximum size allowed by server configuration")
        );
        match check(&s, &u, 10, "Shared/x") {
            QuotaVerdict::OverQuota { root, .. } => assert_eq!(root, "B"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn unlimited_and_zero_rules() {
        let s = settings(&[("quota", "maildir"), ("quota_rule", "*:storage=0")]);
        assert_eq!(check(&s, &[usage(1 << 40, 1 << 20)], 1 << 30, "INBOX"), QuotaVerdict::Ok);
        let s = settings(&[("quota", "maildir")]);
        assert_eq!(check(&s, &[], 1 << 30, "INBOX"), QuotaVerdict::Ok);
    }

    #[test]
    fn warnings_first_match_only() {
        let s = settings(&[
            ("quota", "maildir:User quota"),
            ("quota_rule", "*:storage=1000B:messages=10"),
            ("quota_warning", "storage=95%% quota-warning 95 bob"),
            ("quota_warning2", "storage=80%% quota-warning 80 bob"),
            ("quota_warning3", "messages=5 quota-warning msgs bob"),
            ("quota_warning4", "-storage=100%% quota-ok bob"),
        ]);
        let r = &s.roots[0];
        let p = |b, c| UsagePoint { bytes: b, count: c };
        let w = crossed_warning(r, None, p(900, 1), p(960, 2)).unwrap();
        assert_eq!((w.setting.as_str(), w.command[1].as_str()), ("quota_warning", "95"));
        // Crossing both 80 % and 95 % at once fires only the first listed rule.
        let w = crossed_warning(r, None, p(700, 1), p(990, 2)).unwrap();
        assert_eq!(w.setting, "quota_warning");
        let w = crossed_warning(r, None, p(700, 1), p(850, 2)).unwrap();
        assert_eq!(w.setting, "quota_warning2");
        let w = crossed_warning(r, None, p(10, 4), p(20, 5)).unwrap();
        assert_eq!(w.setting, "quota_warning3");
        assert_eq!(crossed_warning(r, None, p(10, 1), p(20, 2)), None);
        let w = crossed_warning(r, None, p(1000, 9), p(900, 8)).unwrap();
        assert_eq!(w.setting, "quota_warning4");
        // Percentages follow backend limits when the rule is not forced: with `?` …
        let s2 = settings(&[
            ("quota", "maildir"),
            ("quota_rule", "?:storage=1000B"),
            ("quota_warning", "storage=50%% w"),
        ]);
        let file = Some(Limits { bytes: 100, count: 0 });
        assert!(crossed_warning(&s2.roots[0], file, p(40, 0), p(60, 1)).is_some());
        assert!(crossed_warning(&s2.roots[0], None, p(40, 0), p(60, 1)).is_none());
    }
}
