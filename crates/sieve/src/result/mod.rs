//! The result of a run: the ordered action list with Pigeonhole's merge and conflict rules
//! (sieve-behaviour.md §9.1, RFC 5228 §2.10), action limits and the implicit keep.

mod report;

pub use report::dry_run_report;

use crate::interpret::{ErrorClass, RuntimeError};

/// One action for the host to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Explicit `keep` into the default mailbox.
    Keep {
        /// IMAP flags for the stored message.
        flags: Vec<String>,
    },
    /// `fileinto`.
    FileInto {
        /// Target mailbox.
        mailbox: String,
        /// IMAP flags.
        flags: Vec<String>,
        /// `:create`.
        create: bool,
        /// `:copy` (does not cancel the implicit keep).
        copy: bool,
        /// `:specialuse` flag: store into the mailbox carrying it, if any (special-use).
        special_use: Option<String>,
    },
    /// `redirect`.
    Redirect {
        /// Normalised target address.
        address: String,
        /// `:copy`.
        copy: bool,
    },
    /// `discard`.
    Discard,
    /// `reject` / `ereject`.
    Reject {
        /// Reason text.
        reason: String,
        /// True for `ereject`.
        ereject: bool,
    },
    /// `vacation`.
    Vacation(Box<VacationAction>),
    /// `notify` (enotify).
    Notify(Box<NotifyAction>),
    /// `report` (vnd.dovecot.report): send an RFC 5965 feedback report.
    Report(Box<ReportAction>),
}

/// A feedback report to send (vnd.dovecot.report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportAction {
    /// Feedback type.
    pub feedback_type: String,
    /// Human-readable text.
    pub message: String,
    /// Recipient (normalised address).
    pub address: String,
    /// Attach only the header of the message.
    pub headers_only: bool,
}

/// A vacation auto-reply, with everything the host needs to compose and suppress it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VacationAction {
    /// Period in seconds (after clamping).
    pub seconds: u64,
    /// `:subject`, if given.
    pub subject: Option<String>,
    /// `:from`, if given.
    pub from: Option<String>,
    /// `:addresses`.
    pub addresses: Vec<String>,
    /// `:mime`.
    pub mime: bool,
    /// Handle: `:handle` or the one derived from the arguments.
    pub handle: String,
    /// Reply body (reason).
    pub reason: String,
}

/// An enotify notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyAction {
    /// Method URI (e.g. `mailto:...`).
    pub method: String,
    /// `:from`.
    pub from: Option<String>,
    /// `:importance` (1..3).
    pub importance: Option<String>,
    /// `:options`.
    pub options: Vec<String>,
    /// `:message`.
    pub message: Option<String>,
}

impl Action {
    /// Whether the action cancels the implicit keep.
    pub fn cancels_implicit_keep(&self) -> bool {
        match self {
            Action::Keep { .. } | Action::Discard | Action::Reject { .. } => true,
            Action::FileInto { copy, .. } | Action::Redirect { copy, .. } => !copy,
            Action::Vacation(_) | Action::Notify(_) | Action::Report(_) => false,
        }
    }

    /// Pigeonhole's action name in conflict messages (`keep` and `fileinto` are both `store`).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Keep { .. } | Action::FileInto { .. } => "store",
            Action::Redirect { .. } => "redirect",
            Action::Discard => "discard",
            Action::Reject { .. } => "reject",
            Action::Vacation(_) => "vacation",
            Action::Notify(_) => "notify",
            Action::Report(_) => "report",
        }
    }

    fn delivers(&self) -> bool {
        matches!(self, Action::Keep { .. } | Action::FileInto { .. } | Action::Redirect { .. })
    }
}

/// Where an action came from (for conflict messages and logs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionSource {
    /// Script name.
    pub script: String,
    /// Line of the command.
    pub line: u32,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SieveResult {
    /// Actions in order of first occurrence (duplicates merged).
    pub actions: Vec<Action>,
    /// Source of each action (same order as `actions`).
    pub sources: Vec<ActionSource>,
    /// Whether the implicit keep is still in effect.
    pub implicit_keep: bool,
    /// Flags for the implicit keep (imap4flags internal variable at the end).
    pub implicit_keep_flags: Vec<String>,
    /// The edited header block, when editheader changed the message.
    pub edited_headers: Option<Vec<crate::message::HeaderField>>,
    /// Ids the `duplicate` test asks to track once the delivery succeeds, with the period.
    pub duplicate_marks: Vec<(String, u64)>,
    /// Mailbox of `keep` and the implicit keep (from the host when the run started).
    pub default_mailbox: String,
}

/// Collects actions while a script runs.
#[derive(Debug, Default)]
pub(crate) struct ResultBuilder {
    pub result: SieveResult,
    pub default_mailbox: String,
    pub max_actions: usize,
    pub max_redirects: usize,
}

fn same_mailbox(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

impl ResultBuilder {
    fn store_target<'a>(&'a self, a: &'a Action) -> Option<&'a str> {
        match a {
            Action::Keep { .. } => Some(&self.default_mailbox),
            Action::FileInto { mailbox, .. } => Some(mailbox),
            _ => None,
        }
    }

    /// Adds an action applying merge, conflict and limit rules.
    pub fn add(&mut self, action: Action, src: ActionSource) -> Result<(), RuntimeError> {
        let err =
            |msg: String| RuntimeError { line: src.line, class: ErrorClass::Failure, message: msg };
        self.check_conflicts(&action, &src).map_err(|(line, message)| RuntimeError {
            line,
            class: ErrorClass::Failure,
            message,
        })?;
        if self.merge(&action) {
            return Ok(());
        }
        let n = self.result.actions.len() + 1;
        if self.max_actions > 0 && n > self.max_actions {
            return Err(err(format!(
                "total number of actions exceeds policy limit ({n} > {})",
                self.max_actions
            )));
        }
        if matches!(action, Action::Redirect { .. }) {
            let r =
                self.result.actions.iter().filter(|a| matches!(a, Action::Redirect { .. })).count()
                    + 1;
            if r > self.max_redirects {
                return Err(err(format!(
                    "number of redirect actions exceeds policy limit ({r} > {})",
                    self.max_redirects
                )));
            }
        }
        self.result.actions.push(action);
        self.result.sources.push(src);
        Ok(())
    }

    /// Pigeonhole's conflict rules; the error carries the line of the reject involved.
    fn check_conflicts(&self, new: &Action, src: &ActionSource) -> Result<(), (u32, String)> {
        for (old, osrc) in self.result.actions.iter().zip(&self.result.sources) {
            let dup = match (old, new) {
                (Action::Reject { .. }, Action::Reject { .. }) => Some("reject/ereject"),
                (Action::Vacation(_), Action::Vacation(_)) => Some("vacation"),
                _ => None,
            };
            if let Some(kind) = dup {
                let msg = format!(
                    "duplicate {kind} action not allowed (previously triggered one was here: {}: line {})",
                    osrc.script, osrc.line
                );
                return Err((src.line, msg));
            }
            let (other, other_src, reject_line) = match (old, new) {
                (Action::Reject { .. }, o) => (o, src, osrc.line),
                (o, Action::Reject { .. }) => (o, osrc, src.line),
                _ => continue,
            };
            let what = if other.delivers() {
                "tries to deliver the message"
            } else if matches!(other, Action::Vacation(_)) {
                "also sends a response to the sender"
            } else {
                continue;
            };
            let msg = format!(
                "reject/ereject action conflicts with other action: the {} action ({}: line {}) {what}",
                other.name(),
                other_src.script,
                other_src.line
            );
            return Err((reject_line, msg));
        }
        Ok(())
    }

    /// Merges `new` into an equivalent existing entry; true when merged.
    fn merge(&mut self, new: &Action) -> bool {
        if let Some(target) = self.store_target(new).map(str::to_owned) {
            let pos = self
                .result
                .actions
                .iter()
                .position(|a| self.store_target(a).is_some_and(|t| same_mailbox(t, &target)));
            let Some(i) = pos else { return false };
            let merged = match (&self.result.actions[i], new) {
                (
                    Action::FileInto { create: c1, copy: p1, .. },
                    Action::FileInto { mailbox, flags, create, special_use, .. },
                ) => Action::FileInto {
                    mailbox: mailbox.clone(),
                    flags: flags.clone(),
                    create: *c1 || *create,
                    // Pigeonhole keeps the first action's :copy (and a merged duplicate
                    // does not cancel the implicit keep).
                    copy: *p1,
                    special_use: special_use.clone(),
                },
                (_, Action::Keep { flags })
                | (Action::Keep { .. }, Action::FileInto { flags, .. }) => {
                    Action::Keep { flags: flags.clone() }
                }
                _ => return false,
            };
            self.result.actions[i] = merged;
            return true;
        }
        match new {
            // The first redirect's :copy stays, as for fileinto.
            Action::Redirect { address, .. } => self
                .result
                .actions
                .iter()
                .any(|a| matches!(a, Action::Redirect { address: old, .. } if old.eq_ignore_ascii_case(address))),
            Action::Discard => self.result.actions.contains(&Action::Discard),
            _ => false,
        }
    }

    /// Finishes: computes the implicit keep.
    pub fn finish(mut self, flags: Vec<String>) -> SieveResult {
        self.result.implicit_keep = !self.result.actions.iter().any(Action::cancels_implicit_keep);
        self.result.implicit_keep_flags = flags;
        self.result.default_mailbox = self.default_mailbox;
        self.result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ResultBuilder {
        ResultBuilder {
            default_mailbox: "INBOX".into(),
            max_actions: 3,
            max_redirects: 1,
            ..Default::default()
        }
    }

    fn src(line: u32) -> ActionSource {
        ActionSource { script: "s".into(), line }
    }

    fn fileinto(m: &str, copy: bool) -> Action {
        Action::FileInto {
            mailbox: m.into(),
            flags: vec![],
            create: false,
            copy,
            special_use: None,
        }
    }

    #[test]
    fn duplicates_merge_and_keep_equals_inbox() {
        let mut b = builder();
        b.add(fileinto("inbox", false), src(1)).unwrap();
        b.add(Action::Keep { flags: vec!["\\seen".into()] }, src(2)).unwrap();
        b.add(fileinto("A", true), src(3)).unwrap();
        b.add(fileinto("A", false), src(4)).unwrap();
        let r = b.finish(vec![]);
        assert_eq!(r.actions.len(), 2);
        assert_eq!(r.actions[0], Action::Keep { flags: vec!["\\seen".into()] });
        assert_eq!(r.actions[1], fileinto("A", true), "the first :copy stays");
        assert!(!r.implicit_keep, "the keep cancels it");
    }

    #[test]
    fn reject_conflicts_and_limits() {
        let mut b = builder();
        b.add(fileinto("A", true), src(2)).unwrap();
        let e = b.add(Action::Reject { reason: "no".into(), ereject: false }, src(3)).unwrap_err();
        assert_eq!(
            e.message,
            "reject/ereject action conflicts with other action: the store action (s: line 2) tries to deliver the message"
        );
        let mut b = builder();
        b.add(Action::Redirect { address: "a@b.c".into(), copy: true }, src(1)).unwrap();
        b.add(Action::Redirect { address: "A@b.c".into(), copy: true }, src(1)).unwrap();
        let e =
            b.add(Action::Redirect { address: "x@b.c".into(), copy: true }, src(2)).unwrap_err();
        assert_eq!(e.message, "number of redirect actions exceeds policy limit (2 > 1)");
        b.add(fileinto("B", true), src(3)).unwrap();
        b.add(fileinto("C", true), src(3)).unwrap();
        let e = b.add(fileinto("D", true), src(4)).unwrap_err();
        assert_eq!(e.message, "total number of actions exceeds policy limit (4 > 3)");
        assert!(b.finish(vec![]).implicit_keep);
    }
}
