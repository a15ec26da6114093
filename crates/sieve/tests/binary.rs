//! The compiled-script cache format (`sieve::binary`): a decoded script behaves exactly like
//! the freshly compiled one, settings are part of the key, and no input makes decoding panic.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{MSG, TestHost, all_options, envelope};
use sieve::binary::{self, CacheKey, DecodeError, Dependency, FileStamp};
use sieve::{CompileOptions, IncludeLocation, IncludeResolver, Limits, MessageView, Script};

/// Included scripts served from memory.
struct MapIncludes(BTreeMap<String, String>);

impl IncludeResolver for MapIncludes {
    fn load(&self, _: IncludeLocation, name: &str) -> Result<Option<String>, String> {
        Ok(self.0.get(name).cloned())
    }
}

fn options() -> CompileOptions {
    let mut inc = BTreeMap::new();
    inc.insert(
        "common".to_owned(),
        "require [\"variables\", \"include\", \"fileinto\", \"copy\"];\nglobal \"folder\";\n\
         if header :contains \"subject\" \"lunch\" { set \"folder\" \"Food\"; }\n\
         if string :is \"${folder}\" \"Food\" { fileinto :copy \"Inc/${folder}\"; }\n"
            .to_owned(),
    );
    CompileOptions { includes: Some(Arc::new(MapIncludes(inc))), ..all_options() }
}

/// Scripts that together use every extension (several, because some actions conflict).
const SCRIPTS: &[&str] = &[
    r#"require ["fileinto", "envelope", "encoded-character", "comparator-i;ascii-numeric",
        "relational", "regex", "imap4flags", "subaddress", "copy", "variables", "include",
        "mailbox", "index", "date", "ihave", "environment", "vnd.dovecot.environment",
        "vnd.dovecot.debug", "spamtestplus", "virustest", "special-use", "mboxmetadata",
        "servermetadata", "duplicate"];
    global "folder";
    include :optional "missing";
    include :once "common";
    if header :regex "subject" "^lunch (on|at) ([a-z]+)\\?$" {
        set :upperfirst "day" "${2}";
        addflag "\\Seen";
        fileinto :create :flags ["$label1"] "Days/${day}";
    }
    if header :comparator "i;octet" :regex "subject" "^lunch" { fileinto "Octet"; }
    if address :user :is "to" "bob" { fileinto :copy "${env.vnd.dovecot.default-mailbox}"; }
    if address :detail "to" "lists" { addflag "$lists"; }
    if envelope :domain :is "from" "example.org" { setflag "flagvar" "\\Flagged"; }
    if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "5" {
        fileinto :specialuse "\\Junk" "Spam";
    }
    if header :count "eq" :comparator "i;ascii-numeric" "to" "1" { fileinto "One"; }
    if header :index 1 :is "received" "x" { discard; }
    if date :is "date" "year" "2005" { set "year" "2005"; fileinto "Y${year}"; }
    if currentdate :value "ge" "date" "2000-01-01" { addflag "$now"; }
    if ihave "nonexistent" { error "impossible"; }
    if environment :contains "name" "sieve" { debug_log "env: ${0}"; }
    if spamtest :percent :value "ge" :comparator "i;ascii-numeric" "50" { fileinto "Spammy"; }
    if virustest :value "eq" :comparator "i;ascii-numeric" "0" { keep; }
    if mailboxexists "INBOX" { keep :flags "${year}"; }
    if specialuse_exists ["\\Junk"] { fileinto "HasJunk"; }
    if metadataexists "INBOX" "/private/comment" { fileinto "Meta"; }
    if servermetadata :is "/shared/admin" "x" { fileinto "Server"; }
    if duplicate :seconds 60 { fileinto "Dup"; }
    if string :matches "${folder}" "F*d" { fileinto "Global-${1}"; }
    if hasflag :contains "$lists" { fileinto "Flagged${unicode:0041}"; }"#,
    r#"require ["body", "vacation", "vacation-seconds", "variables", "enotify", "regex",
        "vnd.dovecot.duplicate"];
    if body :text :contains "noon" { set "when" "noon"; }
    if body :raw :regex "meet at ([a-z]+)" { set "raw" "${1}"; }
    if body :content "text" :contains "shall" { set "c" "yes"; }
    if valid_notify_method "mailto:alice@example.org" {
        notify :importance "1" :message "lunch ${when}" "mailto:alice@example.org";
    }
    if notify_method_capability "mailto:x@example.org" "online" "maybe" { stop; }
    vacation :seconds 90000 :subject "Away ${when}" :from "bob@example.com"
        :addresses ["bob@example.com"] :handle "h1" "I am away (${raw}, ${c}).";"#,
    r#"require ["editheader", "mime", "foreverypart", "extracttext", "variables", "fileinto",
        "reject"];
    addheader "X-Cached" "yes";
    addheader :last "X-Last" "1";
    deleteheader :index 1 :contains "x-spam-score" "7";
    foreverypart {
        if header :mime :type "content-type" "text" {
            extracttext :first 5 "start";
            break;
        }
    }
    if exists :mime :anychild "content-type" { set "mime" "y"; }
    if header :mime :param "charset" "content-type" "utf-8" { set "cs" "utf8"; }
    set :length :lower "len" "${start}";
    if string :is "${len}" "0" { fileinto "Empty"; }
    if allof (not exists "x-none", anyof (size :over 10, false)) {
        fileinto "X${start}${mime}";
    }
    if false { reject "no"; }"#,
    r#"require ["ereject", "vnd.dovecot.report"];
    if header :contains "subject" "spam" { report "abuse" "spam" "abuse@example.org"; }
    if header :contains "subject" "Friday" { ereject "not on friday"; }"#,
];

const MULTIPART: &str = "From: a@example.org\r\nTo: bob@example.com\r\nSubject: spam\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nShall we meet at noon?\r\n--b--\r\n";

fn key() -> CacheKey {
    CacheKey::new(&options())
}

fn deps() -> Vec<Dependency> {
    let stamp = FileStamp { size: 10, mtime_sec: 1, mtime_nsec: 2, dev: 3, ino: 4 };
    vec![
        Dependency { include: None, stamp: Some(stamp) },
        Dependency { include: Some((IncludeLocation::Personal, "missing".into())), stamp: None },
    ]
}

fn compile(src: &str) -> Script {
    sieve::compile(src, "test", &options()).unwrap_or_else(|d| panic!("{d}\n{src}")).script
}

fn round_trip(script: &Script) -> Script {
    let bytes = binary::encode(script, &key(), &deps()).expect("cacheable");
    let (decoded, d) = binary::decode(&bytes, &key()).expect("decodes");
    assert_eq!(d, deps());
    decoded
}

fn hosts() -> Vec<TestHost> {
    let mut plain = TestHost::default();
    plain.items.insert("name".into(), "Pigeonhole Sieve".into());
    let mut rich = TestHost { score: Some("8".into()), ..TestHost::default() };
    rich.mailboxes.insert("INBOX".into());
    rich.seen.insert("<m1@example.org>".into());
    vec![plain, rich]
}

#[test]
fn decoded_scripts_run_exactly_like_fresh_ones() {
    for src in SCRIPTS {
        let fresh = compile(src);
        let decoded = round_trip(&fresh);
        assert_eq!(format!("{fresh:?}"), format!("{decoded:?}"));
        for msg in [MSG, MULTIPART] {
            let view = MessageView::parse(msg.as_bytes());
            for (mut h1, mut h2) in hosts().into_iter().zip(hosts()) {
                let limits = Limits::default();
                let a = sieve::run(&fresh, &view, &envelope(), &mut h1, &limits);
                let b = sieve::run(&decoded, &view, &envelope(), &mut h2, &limits);
                assert_eq!(a, b, "{src}");
                assert!(a.is_ok_and(|r| !r.actions.is_empty()), "script does something: {src}");
            }
        }
    }
}

#[test]
fn regex_case_sensitivity_survives_the_cache() {
    let casemap =
        compile("require \"regex\"; if header :regex \"subject\" \"^LUNCH\" { discard; }");
    let octet = compile(
        "require \"regex\"; if header :comparator \"i;octet\" :regex \"subject\" \"^LUNCH\" \
         { discard; }",
    );
    let view = MessageView::parse(MSG.as_bytes());
    let discards = |s: &Script| {
        let r = sieve::run(s, &view, &envelope(), &mut TestHost::default(), &Limits::default());
        r.expect("runs").actions == vec![sieve::Action::Discard]
    };
    assert!(discards(&casemap) && discards(&round_trip(&casemap)));
    assert!(!discards(&octet) && !discards(&round_trip(&octet)));
}

#[test]
fn other_settings_version_or_magic_are_typed_errors() {
    let script = compile(SCRIPTS[0]);
    let bytes = binary::encode(&script, &key(), &[]).expect("cacheable");
    let mut admin = options();
    admin.extensions.enabled.remove("fileinto");
    let other = CacheKey::new(&admin);
    assert_ne!(other, key());
    assert!(matches!(binary::decode(&bytes, &other), Err(DecodeError::Options { .. })));
    let mut v2 = bytes.clone();
    v2[8] ^= 0x40;
    assert!(matches!(binary::decode(&v2, &key()), Err(DecodeError::FormatVersion { .. })));
    assert_eq!(binary::decode(b"#!sieve\nkeep;\n", &key()).err(), Some(DecodeError::BadMagic));
    assert_eq!(binary::decode(b"", &key()).err(), Some(DecodeError::BadMagic));
}

#[test]
fn key_ignores_run_time_settings_and_sees_admin_extensions() {
    let base = CompileOptions::default();
    let mut runtime = base.clone();
    runtime.limits.max_actions = 3;
    runtime.limits.cpu_steps = 1;
    assert_eq!(CacheKey::new(&base), CacheKey::new(&runtime));
    let mut admin = base.clone();
    admin.admin = true;
    assert_eq!(CacheKey::new(&base), CacheKey::new(&admin), "no global-only extensions");
    admin.extensions.global_only.insert("vnd.dovecot.report".into());
    assert_ne!(CacheKey::new(&base), CacheKey::new(&admin));
    let mut vacation = base.clone();
    vacation.extensions.vacation_min_period = 60;
    assert_ne!(CacheKey::new(&base), CacheKey::new(&vacation));
    let mut includes = base;
    includes.limits.max_includes = 2;
    assert!(CacheKey::new(&includes).as_str().contains("includes=2"));
}

#[test]
fn every_truncation_and_byte_flip_is_an_error() {
    let script = compile(SCRIPTS[0]);
    let bytes = binary::encode(&script, &key(), &deps()).expect("cacheable");
    for len in 0..bytes.len() {
        assert!(binary::decode(&bytes[..len], &key()).is_err(), "truncated to {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(binary::decode(&longer, &key()).is_err());
    // A small xorshift generator: deterministic, no extra dependency.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2000 {
        let mut flipped = bytes.clone();
        let at = (next() % flipped.len() as u64) as usize;
        flipped[at] ^= (next() % 255 + 1) as u8;
        assert!(binary::decode(&flipped, &key()).is_err(), "byte {at} flipped");
    }
    for n in 0..500 {
        let garbage: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        assert!(binary::decode(&garbage, &key()).is_err());
        let mut prefixed = bytes[..20].to_vec();
        prefixed.extend(&garbage);
        assert!(binary::decode(&prefixed, &key()).is_err());
    }
}

#[test]
fn scripts_with_host_commands_are_not_cacheable() {
    use sieve::interpret::custom::{CustomCommand, CustomFlow};
    use sieve::program::{CustomArgs, CustomOpCall, Op, OpKind};
    struct Noop;
    impl CustomCommand for Noop {
        fn execute(
            &self,
            _: &CustomArgs,
            _: &mut sieve::Machine<'_>,
        ) -> Result<CustomFlow, sieve::RuntimeError> {
            Ok(CustomFlow::Continue)
        }
    }
    let mut script = compile("keep;");
    assert!(binary::encode(&script, &key(), &[]).is_some());
    let call = CustomOpCall { command: Arc::new(Noop), args: CustomArgs::default() };
    script.main.ops.push(Op { pos: sieve::Pos::default(), kind: OpKind::Custom(call) });
    assert!(binary::encode(&script, &key(), &[]).is_none());
}

#[test]
fn absurd_nesting_is_refused_instead_of_exhausting_the_stack() {
    use sieve::program::{Op, OpKind, Test};
    let mut test = Test::True;
    for _ in 0..1000 {
        test = Test::Not(Box::new(test));
    }
    let mut script = compile("keep;");
    let kind = OpKind::If { branches: vec![(test, Vec::new())], otherwise: None };
    script.main.ops.push(Op { pos: sieve::Pos::default(), kind });
    let bytes = binary::encode(&script, &key(), &[]).expect("cacheable");
    let err = binary::decode(&bytes, &key()).expect_err("too deep");
    // postcard reports the guard's error as a generic serde error; without the guard, 1000
    // levels would decode.
    assert!(matches!(err, DecodeError::Corrupt { part: "program", .. }), "{err:?}");
    // What the compiler allows (32 nested tests) decodes fine.
    let deep = format!("if {} true {{ discard; }}", "not ".repeat(31));
    assert!(binary::decode(&binary::encode(&compile(&deep), &key(), &[]).unwrap(), &key()).is_ok());
}
