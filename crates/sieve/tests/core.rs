//! RFC 5228 base language: control flow, tests, comparators, match types, actions and the
//! result rules (implicit keep, merging, conflicts, limits).

mod common;

use common::{MSG, TestHost, compile_all, envelope, run, run_with};
use sieve::{Action, ErrorClass, Limits, MessageView};

fn fileinto(m: &str) -> Action {
    Action::FileInto {
        mailbox: m.into(),
        flags: vec![],
        create: false,
        copy: false,
        special_use: None,
    }
}

#[test]
fn empty_script_keeps_implicitly() {
    let r = run("");
    assert!(r.actions.is_empty());
    assert!(r.implicit_keep);
}

#[test]
fn if_elsif_else_chain() {
    let src = "require \"fileinto\";\n\
               if header :is \"subject\" \"nope\" { fileinto \"A\"; }\n\
               elsif header :contains \"subject\" \"friday\" { fileinto \"B\"; }\n\
               else { fileinto \"C\"; }";
    let r = run(src);
    assert_eq!(r.actions, vec![fileinto("B")]);
    assert!(!r.implicit_keep);
}

#[test]
fn stop_ends_the_script_but_keeps_actions() {
    let r = run("require \"fileinto\"; fileinto \"A\"; stop; fileinto \"B\";");
    assert_eq!(r.actions, vec![fileinto("A")]);
}

#[test]
fn header_tests_with_match_types_and_comparators() {
    let yes = [
        "header :is \"Subject\" \"lunch on friday?\"",
        "header :comparator \"i;octet\" :is \"Subject\" \"Lunch on Friday?\"",
        "not header :comparator \"i;octet\" :is \"Subject\" \"lunch on friday?\"",
        "header :matches \"subject\" \"*friday?\"",
        "header :matches \"subject\" \"lunch*fri??y\\\\?\"",
        "header :contains [\"x-nothing\", \"subject\"] [\"zzz\", \"on Fri\"]",
        "exists [\"From\", \"to\"]",
        "not exists [\"From\", \"X-None\"]",
        "size :over 100",
        "size :under 1K",
        "anyof (false, true)",
        "allof (true, not false)",
        "address :domain \"to\" \"EXAMPLE.NET\"",
        "address :localpart \"from\" \"alice\"",
        "address :all :is \"cc\" \"dave@example.com\"",
        "header :comparator \"i;ascii-numeric\" :is \"x-spam-score\" \"007\"",
    ];
    for t in yes {
        let r = run(&format!("require [\"comparator-i;ascii-numeric\"]; if {t} {{ discard; }}"));
        assert_eq!(r.actions, vec![Action::Discard], "test should be true: {t}");
    }
    let no = [
        "header :is \"subject\" \"lunch\"",
        "size :over 1M",
        "address :domain \"from\" \"example.com\"",
    ];
    for t in no {
        let r = run(&format!("if {t} {{ discard; }}"));
        assert!(r.actions.is_empty(), "test should be false: {t}");
    }
}

#[test]
fn envelope_test_and_null_sender() {
    let src = "require \"envelope\"; if envelope :is \"from\" \"alice@example.org\" { discard; }";
    assert_eq!(run(src).actions, vec![Action::Discard]);
    let c =
        compile_all("require \"envelope\"; if envelope :is \"from\" \"\" { discard; }").unwrap();
    let msg = MessageView::parse(MSG.as_bytes());
    let mut env = envelope();
    env.from = None;
    let r =
        sieve::run(&c.script, &msg, &env, &mut TestHost::default(), &Limits::default()).unwrap();
    assert_eq!(r.actions, vec![Action::Discard]);
}

#[test]
fn redirect_normalises_and_merges() {
    let r = run("redirect \"Carol <carol@example.net>\"; redirect \"carol@example.net\";");
    assert_eq!(
        r.actions,
        vec![Action::Redirect { address: "carol@example.net".into(), copy: false }]
    );
    assert!(!r.implicit_keep);
    let r = run("require \"copy\"; redirect :copy \"carol@example.net\";");
    assert!(r.implicit_keep);
}

#[test]
fn keep_and_fileinto_inbox_merge() {
    let r = run("require \"fileinto\"; fileinto \"INBOX\"; keep;");
    assert_eq!(r.actions, vec![Action::Keep { flags: vec![] }]);
    assert!(!r.implicit_keep);
}

#[test]
fn reject_conflicts_with_delivery() {
    let e = run_with(
        "require [\"reject\", \"fileinto\"];\nfileinto \"A\";\nreject \"no\";",
        MSG,
        &mut TestHost::default(),
    )
    .unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(e.class, ErrorClass::Failure);
    assert_eq!(
        e.message,
        "reject/ereject action conflicts with other action: the store action (test: line 2) tries to deliver the message"
    );
    let r = run("require \"reject\"; reject \"go away\"; discard;");
    assert_eq!(r.actions[0], Action::Reject { reason: "go away".into(), ereject: false });
    assert!(!r.implicit_keep);
}

#[test]
fn action_and_redirect_limits() {
    let many: String = (0..33).map(|i| format!("fileinto \"box{i}\";\n")).collect();
    let e = run_with(&format!("require \"fileinto\";\n{many}"), MSG, &mut TestHost::default())
        .unwrap_err();
    assert_eq!(e.message, "total number of actions exceeds policy limit (33 > 32)");
    let redirects: String = (0..5).map(|i| format!("redirect \"u{i}@example.com\";\n")).collect();
    let e = run_with(&redirects, MSG, &mut TestHost::default()).unwrap_err();
    assert_eq!(e.message, "number of redirect actions exceeds policy limit (5 > 4)");
}

#[test]
fn step_budget_stops_runaway_scripts() {
    let c = compile_all("require \"variables\"; if string :matches \"${x}\" \"*a*b*c*\" { keep; }")
        .unwrap();
    let msg = MessageView::parse(MSG.as_bytes());
    let limits = Limits { cpu_steps: 2, ..Limits::default() };
    let e =
        sieve::run(&c.script, &msg, &envelope(), &mut TestHost::default(), &limits).unwrap_err();
    assert_eq!(e.class, ErrorClass::ResourceLimit);
}

#[test]
fn encoded_headers_are_decoded() {
    let msg = "Subject: =?utf-8?q?Caf=C3=A9?= time\r\nFrom: x@y.z\r\n\r\nbody\r\n";
    let r = run_with(
        "if header :is \"subject\" \"Café time\" { discard; }",
        msg,
        &mut TestHost::default(),
    )
    .unwrap();
    assert_eq!(r.actions, vec![Action::Discard]);
}

#[test]
fn dry_run_report_lists_actions() {
    let r =
        run("require [\"fileinto\", \"imap4flags\"]; addflag \"\\\\Seen\"; fileinto \"Archive\";");
    let text = sieve::dry_run_report(&r);
    assert!(
        text.contains(" * store message in folder: Archive\n        + add IMAP flags: \\seen\n")
    );
    assert!(text.ends_with("Implicit keep:\n\n  (none)\n\n"));
}

#[test]
fn unparsable_address_fields_are_one_value_for_all_only() {
    let msg = "To: undisclosed-recipients:;\r\nFrom: a@b.c\r\n\r\nx\r\n";
    let host = &mut TestHost::default();
    let src = "if address :all :is \"to\" \"undisclosed-recipients:;\" { discard; }";
    assert_eq!(run_with(src, msg, host).unwrap().actions, vec![Action::Discard]);
    let src = "if address :localpart :matches \"to\" \"*\" { discard; }";
    assert!(run_with(src, msg, host).unwrap().actions.is_empty());
}

#[test]
fn strings_use_crlf_line_ends() {
    let src = "require [\"variables\", \"fileinto\"];\nset \"a\" text:\nab\n..c\n.\n;\n\
               set \"b\" \"x\ny\";\nif string :is \"${a}${b}\" \"ab\r\n.c\r\nx\r\ny\" { fileinto \"ok\"; }";
    assert_eq!(run(src).actions, vec![fileinto("ok")]);
}

#[test]
fn merged_duplicates_keep_the_first_copy_flag() {
    // Checked with sieve-test: the second (plain) fileinto is merged and does not cancel the
    // implicit keep that the first :copy one preserved.
    let r = run("require [\"fileinto\", \"copy\"]; fileinto :copy \"A\"; fileinto \"A\";");
    assert!(r.implicit_keep);
    let r = run("require \"copy\"; redirect :copy \"a@example.com\"; redirect \"a@example.com\";");
    assert_eq!(r.actions, vec![Action::Redirect { address: "a@example.com".into(), copy: true }]);
    assert!(r.implicit_keep);
    let r = run("require [\"fileinto\", \"copy\"]; fileinto \"A\"; fileinto :copy \"A\";");
    assert!(!r.implicit_keep);
}
