//! `sieve-test`-style listing of a result (sieve-behaviour.md §12.2).

use std::fmt::Write as _;

use super::{Action, SieveResult};

/// IMAP system flags in the order Dovecot prints them.
const SYSTEM_FLAGS: &[&str] = &["\\answered", "\\flagged", "\\deleted", "\\seen", "\\draft"];

fn flags_line(out: &mut String, flags: &[String]) {
    if flags.is_empty() {
        return;
    }
    let lower: Vec<String> = flags.iter().map(|f| f.to_ascii_lowercase()).collect();
    let mut shown: Vec<String> = SYSTEM_FLAGS
        .iter()
        .filter(|s| lower.iter().any(|f| f == *s))
        .map(|s| (*s).to_owned())
        .collect();
    shown.extend(flags.iter().filter(|f| !f.starts_with('\\')).cloned());
    let _ = writeln!(out, "        + add IMAP flags: {}", shown.join(" "));
}

fn notify_lines(out: &mut String, n: &super::NotifyAction) {
    let (scheme, rest) = n.method.split_once(':').unwrap_or((n.method.as_str(), ""));
    let _ = writeln!(out, " * send notification with method '{scheme}:':");
    let _ = writeln!(out, "    => importance   : {}", n.importance.as_deref().unwrap_or("2"));
    if let Some(f) = &n.from {
        let _ = writeln!(out, "    => from         : {f}");
    }
    if let Some(m) = &n.message {
        let _ = writeln!(out, "    => subject      : {m}");
    }
    out.push_str("    => recipients   :\n");
    let to = rest.split('?').next().unwrap_or("");
    for r in to.split(',').filter(|r| !r.is_empty()) {
        let _ = writeln!(out, "       + To: {r}");
    }
    out.push('\n');
}

fn action_lines(out: &mut String, a: &Action, default_mailbox: &str) {
    match a {
        Action::Keep { flags } => {
            let _ = writeln!(out, " * store message in folder: {default_mailbox}");
            flags_line(out, flags);
        }
        Action::FileInto { mailbox, flags, create, copy, .. } => {
            let _ = writeln!(out, " * store message in folder: {mailbox}");
            if *copy {
                out.push_str("        + preserve implicit keep\n");
            }
            if *create {
                out.push_str("        + create mailbox if it does not exist\n");
            }
            flags_line(out, flags);
        }
        Action::Redirect { address, copy } => {
            let _ = writeln!(out, " * redirect message to: <{address}>");
            if *copy {
                out.push_str("        + preserve implicit keep\n");
            }
        }
        Action::Discard => out.push_str(" * discard\n"),
        Action::Reject { reason, .. } => {
            let _ = writeln!(out, " * reject message with reason: {reason}");
        }
        Action::Vacation(v) => {
            out.push_str(" * send vacation message:\n");
            let _ = writeln!(out, "    => seconds : {}", v.seconds);
            if let Some(s) = &v.subject {
                let _ = writeln!(out, "    => subject : {s}");
            }
            if let Some(f) = &v.from {
                let _ = writeln!(out, "    => from    : {f}");
            }
            let _ = writeln!(out, "    => handle  : {}", v.handle);
            let _ =
                writeln!(out, "\nSTART MESSAGE\n{}\nEND MESSAGE", v.reason.trim_end_matches('\n'));
        }
        Action::Notify(n) => notify_lines(out, n),
        Action::Report(r) => {
            let _ = writeln!(
                out,
                " * report incoming message as `{}' to <{}>",
                r.feedback_type, r.address
            );
        }
    }
}

/// Lists the actions one per line and the implicit keep, like Pigeonhole's `sieve-test`.
pub fn dry_run_report(result: &SieveResult) -> String {
    let default_mailbox = result.default_mailbox.as_str();
    let mut out = String::from("\nPerformed actions:\n\n");
    if result.actions.is_empty() {
        out.push_str("  (none)\n");
    }
    for a in &result.actions {
        action_lines(&mut out, a, default_mailbox);
    }
    out.push_str("\nImplicit keep:\n\n");
    if result.implicit_keep {
        let _ = writeln!(out, " * store message in folder: {default_mailbox}");
        flags_line(&mut out, &result.implicit_keep_flags);
    } else {
        out.push_str("  (none)\n");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_actions_like_sieve_test() {
        let r = SieveResult {
            actions: vec![
                Action::FileInto {
                    mailbox: "Archive".into(),
                    flags: vec!["$label1".into()],
                    create: false,
                    copy: true,
                    special_use: None,
                },
                Action::Redirect { address: "carol@example.net".into(), copy: false },
            ],
            implicit_keep: true,
            implicit_keep_flags: vec!["\\Seen".into()],
            default_mailbox: "INBOX".into(),
            ..SieveResult::default()
        };
        let text = dry_run_report(&r);
        assert_eq!(
            text,
            "\nPerformed actions:\n\n * store message in folder: Archive\n        + preserve implicit keep\n        \
             + add IMAP flags: $label1\n * redirect message to: <carol@example.net>\n\nImplicit keep:\n\n \
             * store message in folder: INBOX\n        + add IMAP flags: \\seen\n\n"
        );
    }
}
