//! Golden tests: mails captured from the real dovecot-lda 2.3.19.1 / Pigeonhole 0.5.19 (with
//! `sendmail_path` pointing at a capture script) must be reproduced byte for byte.
//!
//! Each `testdata/golden/<case>/` holds `input.eml` (the delivered message), `params` (the
//! envelope and settings used), `expected.eml` (what Dovecot piped into sendmail) and
//! `expected.argv` (its argv, program renamed to `/usr/sbin/sendmail`). The volatile values
//! (Message-ID, Date, boundary with the LDA's pid) are read back from `expected.eml` and fed
//! into our builders, so everything else must match exactly.

use std::collections::HashMap;
use std::path::Path;

use chrono::DateTime;
use outgoing_mail::redirect::{
    PIGEONHOLE_X_SIEVE, RedirectEnvelope, RedirectEnvelopeFrom, redirect_envelope_sender,
    redirected_message,
};
use outgoing_mail::vacation_reply::{
    VacationContext, VacationReply, VacationSettings, build_vacation_reply, check_vacation,
    reply_from_header, reply_subject, reply_to_header,
};
use outgoing_mail::{RejectionDecision, RejectionMail, Sendmail, build_dsn, build_mdn, decide};

struct Case {
    name: String,
    params: HashMap<String, String>,
    input: Vec<u8>,
    expected: Vec<u8>,
    argv: Vec<String>,
}

impl Case {
    fn load(dir: &Path) -> Case {
        let read =
            |f: &str| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{dir:?}/{f}: {e}"));
        let params = String::from_utf8_lossy(&read("params"))
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.replace("\\n", "\n")))
            .collect();
        let argv =
            String::from_utf8_lossy(&read("expected.argv")).lines().map(str::to_owned).collect();
        Case {
            name: dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            params,
            input: read("input.eml"),
            expected: read("expected.eml"),
            argv,
        }
    }

    fn p(&self, key: &str) -> &str {
        self.params.get(key).map(String::as_str).unwrap_or("")
    }

    fn opt(&self, key: &str) -> Option<&str> {
        Some(self.p(key)).filter(|v| !v.is_empty())
    }

    /// The value of the first line of `expected.eml` starting with `prefix`.
    fn expected_value(&self, prefix: &str) -> Option<String> {
        String::from_utf8_lossy(&self.expected)
            .lines()
            .find_map(|l| l.strip_prefix(prefix).map(|v| v.trim_end_matches('\r').to_owned()))
    }

    fn expected_date(&self) -> DateTime<chrono::FixedOffset> {
        let date = self.expected_value("Date: ").unwrap_or_default();
        DateTime::parse_from_rfc2822(&date)
            .unwrap_or_else(|e| panic!("{}: date {date}: {e}", self.name))
    }

    fn check(&self, actual: &[u8], envelope_from: Option<&str>, rcpt: &str) {
        if actual != self.expected.as_slice() {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/golden")
                .join(&self.name)
                .join("actual.eml");
            let _ = std::fs::write(&path, actual);
            panic!(
                "{}: output differs from Dovecot's (written to {path:?})\n--- expected\n{}\n--- actual\n{}",
                self.name,
                String::from_utf8_lossy(&self.expected),
                String::from_utf8_lossy(actual)
            );
        }
        let argv = Sendmail::new("/usr/sbin/sendmail -oi").argv(envelope_from, &[rcpt.to_owned()]);
        assert_eq!(argv, self.argv, "{}: argv", self.name);
    }
}

fn run_rejection(c: &Case) {
    let decision = decide(&c.input, c.opt("sender"), c.p("postmaster"), c.p("reason"));
    let Ok(RejectionDecision::Send { return_address, postmaster, .. }) = decision else {
        panic!("{}: expected a rejection to be sent, got {decision:?}", c.name);
    };
    let message_id = c.expected_value("Message-ID: ").unwrap_or_default();
    let boundary = c.expected_value("\tboundary=\"").unwrap_or_default();
    let boundary = boundary.trim_end_matches('"');
    let mail = RejectionMail {
        original: &c.input,
        return_address: &return_address,
        postmaster: &postmaster,
        final_recipient: c.p("final_recipient"),
        reason: c.p("reason"),
        rejection_subject: c.p("rejection_subject"),
        rejection_reason: c.p("rejection_reason"),
        hostname: c.p("hostname"),
        message_id: &message_id,
        boundary,
        now: c.expected_date(),
    };
    let built = if c.p("kind") == "dsn" { build_dsn(&mail) } else { build_mdn(&mail) };
    c.check(&built.message, None, &return_address);
}

fn run_vacation(c: &Case) {
    let settings = VacationSettings::default();
    let addresses: Vec<String> = c.opt("addresses").map(|a| vec![a.to_owned()]).unwrap_or_default();
    let ctx = VacationContext {
        original: &c.input,
        sender: c.opt("sender"),
        final_recipient: c.opt("final_recipient"),
        original_recipient: None,
        user_email: None,
        addresses: &addresses,
        settings: &settings,
    };
    let allowed = check_vacation(&ctx, || false).unwrap_or_else(|e| panic!("{}: {e:?}", c.name));
    let from = reply_from_header(c.opt("from"), &allowed, "unused@invalid");
    let to = reply_to_header(&c.input, &allowed.to, false);
    let subject = reply_subject(c.opt("subject"), &c.input, &settings);
    let message_id = c.expected_value("Message-ID: ").unwrap_or_default();
    let reply = VacationReply {
        original: &c.input,
        x_sieve: PIGEONHOLE_X_SIEVE,
        message_id: &message_id,
        now: c.expected_date(),
        from: &from,
        to: &to,
        subject: &subject,
        reason: c.p("reason"),
        mime: c.p("mime") == "yes",
    };
    c.check(&build_vacation_reply(&reply), None, &allowed.to);
}

fn run_redirect(c: &Case) {
    let message_id =
        c.expected_value("Message-ID: <dovecot-sieve-").map(|v| format!("<dovecot-sieve-{v}"));
    let message_id = message_id.unwrap_or_else(|| "<not-used@invalid>".to_owned());
    let out = redirected_message(&c.input, PIGEONHOLE_X_SIEVE, c.p("final_recipient"), &message_id);
    let env = RedirectEnvelope { sender: c.opt("sender"), ..RedirectEnvelope::default() };
    let sender = redirect_envelope_sender(&RedirectEnvelopeFrom::Sender, &env);
    c.check(&out, sender.as_deref(), c.p("target"));
}

#[test]
fn golden_mails_match_dovecot_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/golden");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{root:?}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("params").is_file())
        .collect();
    dirs.sort();
    let mut ran = 0;
    for dir in &dirs {
        let case = Case::load(dir);
        match case.p("kind") {
            "mdn" | "dsn" => run_rejection(&case),
            "vacation" => run_vacation(&case),
            "redirect" => run_redirect(&case),
            other => panic!("{}: unknown kind {other}", case.name),
        }
        ran += 1;
    }
    assert!(ran >= 20, "only {ran} golden cases ran");
}
