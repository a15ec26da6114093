//! mbox delivery through the same core (mbox.md).

use crate::support::*;

#[test]
fn mbox_inbox_gets_a_from_line_with_the_envelope_sender() {
    let t = TestHome::with_config("mail_location = mbox:~/mail:INBOX=~/mail/inbox\n");
    assert_code(&t.deliver(&["-f", "alice@example.com"], &sample_message("mb1")), 0);
    assert_code(
        &t.deliver(
            &[],
            b"From bob@example.org Tue Nov 25 10:00:00 2025\nSubject: two\n\nFrom here\n",
        ),
        0,
    );
    let text = std::fs::read_to_string(t.home.join("mail/inbox")).unwrap();
    assert!(text.starts_with("From alice@example.com "), "{text}");
    assert!(text.contains("\nFrom bob@example.org "), "{text}");
    assert!(text.contains("Hello mb1"), "{text}");
    assert_eq!(
        text.matches("\nFrom ").count(),
        2,
        "body From lines are escaped or not as Dovecot does: {text}"
    );
}

#[test]
fn mbox_folder_with_dash_m() {
    let t = TestHome::with_config("mail_location = mbox:~/mail:INBOX=~/mail/inbox\n");
    assert_code(&t.deliver(&["-m", "Archive"], &sample_message("mb2")), 0);
    let text = std::fs::read_to_string(t.home.join("mail/Archive")).unwrap();
    assert!(text.contains("Hello mb2"), "{text}");
}
