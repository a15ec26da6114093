//! Hostile scripts and messages end within the limits with a clear error, never a panic or
//! a hang (hostile-input.md).

mod common;

use common::{TestHost, compile_all, envelope};
use sieve::{ErrorClass, Limits, MessageView};

/// Tiny deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_scripts_never_panic() {
    const WORDS: &[&str] = &[
        "if",
        "elsif",
        "else",
        "require",
        "\"fileinto\"",
        "\"variables\"",
        "fileinto",
        "set",
        "header",
        ":is",
        ":matches",
        ":regex",
        ":comparator",
        "\"i;octet\"",
        "anyof",
        "allof",
        "not",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ",",
        ";",
        "\"a${1}\"",
        "\"${x}\"",
        "10K",
        "text:\nx\n.\n",
        "#c\n",
        "/*",
        "*/",
        "keep",
        "discard",
        "stop",
        "redirect",
        "\"a@b.c\"",
        "$",
        "\\",
        "\"",
        ":",
        "size",
        ":over",
        "foreverypart",
        "break",
        "\"${hex:41}\"",
        "true",
        "false",
        "exists",
        "string",
        "address",
    ];
    let mut rng = Lcg(42);
    let msg = MessageView::parse(common::MSG.as_bytes());
    for _ in 0..3000 {
        let len = (rng.next() % 40) as usize;
        let src: Vec<&str> = (0..len).map(|_| WORDS[(rng.next() as usize) % WORDS.len()]).collect();
        let src = src.join(" ");
        if let Ok(c) = compile_all(&src) {
            let _ = sieve::run(
                &c.script,
                &msg,
                &envelope(),
                &mut TestHost::default(),
                &Limits::default(),
            );
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Lcg(7);
    for _ in 0..2000 {
        let bytes: Vec<u8> = (0..(rng.next() % 200)).map(|_| (rng.next() % 128) as u8).collect();
        let src = String::from_utf8_lossy(&bytes);
        let _ = compile_all(&src);
    }
}

#[test]
fn very_deep_nesting_is_rejected_without_recursion_blowup() {
    let deep = "if true {".repeat(100_000) + &"}".repeat(100_000);
    assert!(compile_all(&deep).is_err());
    let tests = format!("if {} true {{}}", "not ".repeat(100_000));
    assert!(compile_all(&tests).is_err());
    let lists = format!("if {} true {}{{}}", "anyof(".repeat(100_000), ")".repeat(100_000));
    assert!(compile_all(&lists).is_err());
}

#[test]
fn foreverypart_blowup_hits_the_step_limit() {
    let mut raw = String::from("Subject: deep\r\n");
    for _ in 0..99 {
        raw.push_str("Content-Type: message/rfc822\r\n\r\n");
    }
    raw.push_str("Subject: x\r\n\r\nend\r\n");
    let src = "require [\"foreverypart\", \"variables\"];\n\
               foreverypart { foreverypart { foreverypart { foreverypart { set \"a\" \"b\"; } } } }";
    let c = compile_all(src).unwrap();
    let msg = MessageView::parse(raw.as_bytes());
    let limits = Limits { cpu_steps: 200_000, ..Limits::default() };
    let e =
        sieve::run(&c.script, &msg, &envelope(), &mut TestHost::default(), &limits).unwrap_err();
    assert_eq!(e.class, ErrorClass::ResourceLimit);
}

#[test]
fn huge_header_with_wildcards_is_bounded() {
    let raw = format!("Subject: {}\r\n\r\nbody\r\n", "ab".repeat(2_500_000));
    let msg = MessageView::parse(raw.as_bytes());
    let start = std::time::Instant::now();
    let c = compile_all("if header :matches \"subject\" \"*a*a*c\" { keep; }").unwrap();
    let r = sieve::run(&c.script, &msg, &envelope(), &mut TestHost::default(), &Limits::default());
    assert!(r.unwrap().actions.is_empty());
    let pattern = "*a".repeat(40) + "c";
    let c =
        compile_all(&format!("if header :matches \"subject\" \"{pattern}\" {{ keep; }}")).unwrap();
    let r = sieve::run(&c.script, &msg, &envelope(), &mut TestHost::default(), &Limits::default());
    assert_eq!(r.unwrap_err().class, ErrorClass::ResourceLimit);
    assert!(start.elapsed().as_secs() < 20);
}

#[test]
fn huge_regex_is_a_compile_error() {
    let e = common::errors(
        "require \"regex\"; if header :regex \"subject\" \"((a{1000}){1000}){1000}\" {}",
    );
    assert!(e[0].starts_with("invalid regular expression"), "{e:?}");
}

#[test]
fn many_actions_fail_cleanly() {
    let src: String = (0..1000).map(|i| format!("redirect \"u{i}@example.com\";\n")).collect();
    let c = compile_all(&src).unwrap();
    let msg = MessageView::parse(common::MSG.as_bytes());
    let e = sieve::run(&c.script, &msg, &envelope(), &mut TestHost::default(), &Limits::default())
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Failure);
}
