//! Fine points of Pigeonhole's behaviour that differ from a naive reading of the RFCs; each
//! was checked with Debian's `sieve-test` 0.5.19 or against Pigeonhole's own test scripts.

mod common;

use std::sync::Arc;

use common::{MSG, TestHost, all_options, compile_all, envelope, run, run_with};
use sieve::{Action, IncludeLocation, IncludeResolver, Limits, MessageView};

fn discards(src: &str, msg: &str) -> bool {
    run_with(src, msg, &mut TestHost::default()).unwrap_or_else(|e| panic!("{e}")).actions
        == vec![Action::Discard]
}

#[test]
fn string_test_defaults_to_octet() {
    assert!(!discards(
        "require \"variables\"; if string :is \"Value\" \"value\" { discard; }",
        MSG
    ));
    assert!(discards(
        "require \"variables\"; if string :comparator \"i;ascii-casemap\" :is \"Value\" \"value\" { discard; }",
        MSG
    ));
    assert!(discards("if header :is \"subject\" \"LUNCH ON FRIDAY?\" { discard; }", MSG));
}

#[test]
fn hasflag_keys_are_flag_lists() {
    let src = "require \"imap4flags\"; setflag \"A B\"; if hasflag :is \"b A\" { discard; }";
    assert!(discards(src, MSG));
}

#[test]
fn missing_date_header_counts_zero() {
    let src = "require [\"date\", \"relational\"]; if date :count \"eq\" \"resent-date\" \"date\" \"0\" { discard; }";
    assert!(discards(src, MSG));
}

#[test]
fn body_of_a_header_only_message_is_absent() {
    let msg = "From: a@example.org\r\nSubject: no body";
    assert!(!discards("require \"body\"; if body :raw :contains \"\" { discard; }", msg));
    let msg = "From: a@example.org\r\nSubject: empty body\r\n\r\n";
    assert!(discards("require \"body\"; if body :raw :is \"\" { discard; }", msg));
}

#[test]
fn body_content_of_containers() {
    let msg = "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\nthe preamble\r\n\
               --b\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: in\r\n\r\nx\r\n\
               --b--\r\nthe epilogue\r\n";
    assert!(discards(
        "require \"body\"; if body :content \"multipart\" :contains \"epilogue\" { discard; }",
        msg
    ));
    assert!(!discards(
        "require \"body\"; if body :content \"multipart\" :contains \"--b\" { discard; }",
        msg
    ));
    let src = "require \"body\"; if body :content \"message/rfc822\" :is \"From: inner@example.org\r\nSubject: in\r\n\" { discard; }";
    assert!(discards(src, msg));
    assert!(!discards(
        "require \"body\"; if body :content \"text/plain/x\" :contains \"\" { discard; }",
        msg
    ));
}

#[test]
fn invalid_address_fields_and_null_sender() {
    let msg = "From: stephan@\r\nCc: nonsense\r\nResent-To:\r\nSubject: x\r\n\r\nx\r\n";
    assert!(!discards("if address :localpart \"from\" \"stephan\" { discard; }", msg));
    assert!(discards("if address :all :is \"from\" \"stephan@\" { discard; }", msg));
    assert!(discards("if address :is :all \"resent-to\" \"\" { discard; }", msg));
    let c = compile_all("require \"envelope\"; if envelope :domain :is \"from\" \"\" { discard; }")
        .unwrap();
    let m = MessageView::parse(MSG.as_bytes());
    let env = sieve::Envelope { from: None, ..envelope() };
    let r = sieve::run(&c.script, &m, &env, &mut TestHost::default(), &Limits::default()).unwrap();
    assert_eq!(r.actions, vec![Action::Discard]);
}

#[test]
fn mime_options_on_other_fields() {
    let msg = "From: a@example.org\r\nContent-Disposition: inline; filename=\"frop.exe\"\r\n\
               Content-Type: application/x-stuff;\r\n\ttitle*0*=us-ascii'en'This%20is%20;\r\n\ttitle*1=\"fun\"\r\n\r\nx\r\n";
    assert!(discards(
        "require \"mime\"; if header :mime :contenttype \"content-disposition\" \"inline\" { discard; }",
        msg
    ));
    assert!(discards(
        "require \"mime\"; if header :mime :param \"title\" \"content-type\" \"This is fun\" { discard; }",
        msg
    ));
}

#[test]
fn anychild_exists_may_find_names_in_different_parts() {
    let msg = "X-A: 1\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-B: 2\r\n\r\nx\r\n--b--\r\n";
    assert!(discards(
        "require \"mime\"; if exists :mime :anychild [\"x-a\", \"x-b\"] { discard; }",
        msg
    ));
}

#[test]
fn encoded_character_needs_content_and_ihave_refuses_string_extensions() {
    let src = "require [\"encoded-character\", \"variables\"]; if string \"${hex:}\" \"${hex:24}{hex:}\" { discard; }";
    assert!(discards(src, MSG));
    let r = run("require \"ihave\"; if ihave \"variables\" { discard; }");
    assert!(r.actions.is_empty());
}

struct Mem(Vec<(&'static str, &'static str)>);

impl IncludeResolver for Mem {
    fn load(&self, _: IncludeLocation, name: &str) -> Result<Option<String>, String> {
        Ok(self.0.iter().find(|(n, _)| *n == name).map(|(_, s)| (*s).to_owned()))
    }
}

#[test]
fn include_once_allows_recursion_but_plain_cycles_fail() {
    let mut opts = all_options();
    opts.includes = Some(Arc::new(Mem(vec![
        ("a", "require \"include\"; include \"b\"; discard;"),
        ("b", "require \"include\"; include :once \"a\";"),
        ("c", "require \"include\"; include \"c\";"),
    ])));
    let c = sieve::compile("require \"include\"; include \"a\";", "main", &opts).unwrap();
    let m = MessageView::parse(MSG.as_bytes());
    let r = sieve::run(&c.script, &m, &envelope(), &mut TestHost::default(), &Limits::default())
        .unwrap();
    assert_eq!(r.actions, vec![Action::Discard]);
    let d = sieve::compile("require \"include\"; include \"c\";", "main", &opts).unwrap_err();
    let msgs: Vec<&str> = d.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "circular include",
            "failed to generate code for included script 'c'",
            "code generation failed"
        ]
    );
}
