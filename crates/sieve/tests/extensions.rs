//! One or more behaviour tests per extension, with our own scripts and messages.

mod common;

use std::sync::Arc;

use common::{MSG, TestHost, all_options, compile_all, envelope, errors, run, run_with};
use sieve::{Action, IncludeLocation, IncludeResolver, Limits, MessageView};

fn fileinto(m: &str, flags: &[&str]) -> Action {
    Action::FileInto {
        mailbox: m.into(),
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        create: false,
        copy: false,
        special_use: None,
    }
}

#[test]
fn variables_set_modifiers_and_match_values() {
    let src = "require [\"variables\", \"fileinto\"];\n\
               set :upperfirst \"who\" \"bob\";\n\
               set :length \"n\" \"${who}\";\n\
               if header :matches \"subject\" \"* on *?\" { fileinto \"${who}-${2}-${n}\"; }";
    assert_eq!(run(src).actions, vec![fileinto("Bob-Friday-3", &[])]);
    let src = "require [\"variables\", \"fileinto\"]; set \"a\" \"x\"; if string :is \"${a}${unknown}\" \"x\" { fileinto \"ok\"; }";
    assert_eq!(run(src).actions, vec![fileinto("ok", &[])]);
}

#[test]
fn variables_are_truncated_to_the_limit() {
    let src = "require [\"variables\", \"relational\", \"comparator-i;ascii-numeric\"];\n\
               set \"a\" \"0123456789\"; set \"b\" \"${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}\";\n\
               set \"c\" \"${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}\";\n\
               set :length \"len\" \"${c}\";\n\
               if string :value \"eq\" :comparator \"i;ascii-numeric\" \"${len}\" \"4096\" { discard; }";
    assert_eq!(run(src).actions, vec![Action::Discard]);
}

#[test]
fn imap4flags_internal_variable_and_flags_tag() {
    let src = "require [\"imap4flags\", \"fileinto\"];\n\
               setflag \"\\\\Seen\"; addflag [\"$work\", \"\\\\seen\"]; fileinto \"A\";\n\
               removeflag \"\\\\Seen\"; fileinto :flags \"\\\\Flagged\" \"B\";\n\
               if hasflag :contains \"work\" { keep; }";
    let r = run(src);
    assert_eq!(
        r.actions,
        vec![
            fileinto("A", &["\\Seen", "$work"]),
            fileinto("B", &["\\Flagged"]),
            Action::Keep { flags: vec!["$work".into()] }
        ]
    );
    let r = run("require \"imap4flags\"; addflag \"\\\\Seen\";");
    assert!(r.implicit_keep);
    assert_eq!(r.implicit_keep_flags, vec!["\\Seen".to_owned()]);
    let r = run(
        "require [\"imap4flags\", \"variables\"]; addflag \"v\" \"a b\"; if hasflag :is \"v\" \"b\" { discard; }",
    );
    assert_eq!(r.actions, vec![Action::Discard]);
}

#[test]
fn relational_count_and_value() {
    let pre = "require [\"relational\", \"comparator-i;ascii-numeric\"];";
    let cases = [
        ("address :count \"eq\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"3\"", true),
        ("address :count \"gt\" :comparator \"i;ascii-numeric\" \"to\" \"2\"", false),
        ("header :value \"ge\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"5\"", true),
        ("header :value \"lt\" \"subject\" \"M\"", true),
    ];
    for (t, want) in cases {
        let r = run(&format!("{pre} if {t} {{ discard; }}"));
        assert_eq!(r.actions == vec![Action::Discard], want, "{t}");
    }
}

#[test]
fn subaddress_parts() {
    let src = "require [\"subaddress\", \"envelope\", \"fileinto\", \"variables\"];\n\
               if envelope :detail :matches \"to\" \"*\" { fileinto \"${1}\"; }\n\
               if address :user \"to\" \"bob\" { discard; }";
    assert_eq!(run(src).actions, vec![fileinto("lists", &[]), Action::Discard]);
    let r = run("require \"subaddress\"; if address :detail \"cc\" \"\" { discard; }");
    assert!(r.actions.is_empty(), "no detail part must not match");
}

#[test]
fn body_transforms() {
    let msg = "From: a@b.c\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\n\
               Content-Type: text/plain\r\n\r\nplain words\r\n--x\r\nContent-Type: text/html\r\n\r\n\
               <p>html <i>words</i></p>\r\n--x--\r\n";
    let host = &mut TestHost::default();
    let yes = [
        "body :contains \"plain words\"",
        "body :text :contains \"words\"",
        "not body :text :contains \"<i>\"",
        "body :content \"text\" :contains \"<i>words</i>\"",
        "body :content \"text/html\" :contains \"<i>\"",
        "body :raw :contains \"--x--\"",
        "not body :content \"text/plain\" :contains \"html\"",
    ];
    for t in yes {
        let r = run_with(&format!("require \"body\"; if {t} {{ discard; }}"), msg, host).unwrap();
        assert_eq!(r.actions, vec![Action::Discard], "{t}");
    }
}

#[test]
fn regex_match_and_captures() {
    let src = "require [\"regex\", \"variables\", \"fileinto\"];\n\
               if header :regex \"subject\" \"^lunch on ([a-z]+)\\\\?$\" { fileinto \"${1}\"; }";
    assert_eq!(run(src).actions, vec![fileinto("Friday", &[])]);
    let e = errors("require \"regex\"; if header :regex \"subject\" \"(a\" {}");
    assert!(e[0].starts_with("invalid regular expression '(a' for regex match"), "{e:?}");
    let src = "require [\"regex\", \"variables\"]; set :quoteregex \"q\" \"a.b\"; if string :regex \"axb\" \"${q}\" { discard; }";
    assert!(run(src).actions.is_empty());
}

#[test]
fn regex_is_linear_on_pathological_patterns() {
    let msg = format!("Subject: {}b\r\n\r\n", "a".repeat(50_000));
    let start = std::time::Instant::now();
    let r = run_with(
        "require \"regex\"; if header :regex \"subject\" \"^(a+)+$\" { discard; }",
        &msg,
        &mut TestHost::default(),
    )
    .unwrap();
    assert!(r.actions.is_empty());
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn vacation_parameters_and_handle() {
    let src = "require \"vacation\"; vacation :days 3 :subject \"Away\" :addresses [\"bob@example.com\"] \"I am away\";";
    let r = run(src);
    let Action::Vacation(v) = &r.actions[0] else { panic!("no vacation: {:?}", r.actions) };
    assert_eq!(v.seconds, 3 * 86400);
    assert_eq!(v.subject.as_deref(), Some("Away"));
    assert_eq!(v.addresses, vec!["bob@example.com".to_owned()]);
    assert_eq!(v.handle, "I am awayAway<default-from><NO-MIME>");
    assert!(r.implicit_keep, "vacation keeps the implicit keep");
    let r = run("require \"vacation\"; vacation \"x\";");
    let Action::Vacation(v) = &r.actions[0] else { panic!() };
    assert_eq!(v.seconds, 7 * 86400);
    let r = run("require \"vacation-seconds\"; vacation :seconds 10 :handle \"h\" \"x\";");
    let Action::Vacation(v) = &r.actions[0] else { panic!() };
    assert_eq!((v.seconds, v.handle.as_str()), (86400, "h"));
    let e = run_with(
        "require \"vacation\"; vacation \"a\"; vacation \"b\";",
        MSG,
        &mut TestHost::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "duplicate vacation action not allowed (previously triggered one was here: test: line 1)"
    );
    let e = errors("require \"vacation\"; vacation :from \"Error\" \"x\";");
    assert_eq!(
        e[0],
        "specified :from address 'Error' is invalid for vacation action: invalid or lonely local part 'Error' (expecting '@')"
    );
}

struct DirResolver(std::path::PathBuf);

impl IncludeResolver for DirResolver {
    fn load(&self, location: IncludeLocation, name: &str) -> Result<Option<String>, String> {
        let sub = match location {
            IncludeLocation::Personal => "personal",
            IncludeLocation::Global => "global",
        };
        match std::fs::read_to_string(self.0.join(sub).join(format!("{name}.sieve"))) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[test]
fn include_personal_global_once_optional_and_globals() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("personal")).unwrap();
    std::fs::create_dir_all(dir.path().join("global")).unwrap();
    std::fs::write(
        dir.path().join("personal/lists.sieve"),
        "require [\"include\", \"variables\", \"fileinto\"]; global \"box\"; fileinto \"${box}\"; return; discard;",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("global/spam.sieve"),
        "require \"fileinto\"; fileinto \"Spam\";",
    )
    .unwrap();
    let mut opts = all_options();
    opts.includes = Some(Arc::new(DirResolver(dir.path().to_path_buf())));
    let src = "require [\"include\", \"variables\"]; global \"box\"; set \"box\" \"Lists\";\n\
               include \"lists\"; include :once \"lists\"; include :global \"spam\"; include :optional \"missing\";";
    let c = sieve::compile(src, "main", &opts).unwrap_or_else(|d| panic!("{d}"));
    let msg = MessageView::parse(MSG.as_bytes());
    let r = sieve::run(&c.script, &msg, &envelope(), &mut TestHost::default(), &Limits::default())
        .unwrap();
    assert_eq!(r.actions, vec![fileinto("Lists", &[]), fileinto("Spam", &[])]);
    let d = sieve::compile("require \"include\"; include \"missing\";", "main", &opts).unwrap_err();
    assert_eq!(d.errors[0].message, "included personal script 'missing' does not exist");
    std::fs::write(
        dir.path().join("personal/loop.sieve"),
        "require \"include\"; include \"loop\";",
    )
    .unwrap();
    let d = sieve::compile("require \"include\"; include \"loop\";", "main", &opts).unwrap_err();
    assert!(d.errors.iter().any(|e| e.message.contains("circular include")), "{d}");
}

#[test]
fn mailbox_create_and_mailboxexists() {
    let mut host = TestHost::default();
    host.mailboxes.insert("Lists".into());
    let src = "require [\"mailbox\", \"fileinto\"]; if mailboxexists \"Lists\" { fileinto :create \"Lists/new\"; }";
    let r = run_with(src, MSG, &mut host).unwrap();
    assert_eq!(
        r.actions,
        vec![Action::FileInto {
            mailbox: "Lists/new".into(),
            flags: vec![],
            create: true,
            copy: false,
            special_use: None,
        }]
    );
}

#[test]
fn date_and_currentdate() {
    let pre = "require [\"date\", \"relational\"];";
    let yes = [
        "date :originalzone \"date\" \"hour\" \"10\"",
        "date :zone \"+0000\" \"date\" \"time\" \"09:20:30\"",
        "date \"date\" \"date\" \"2005-03-15\"",
        "currentdate \"year\" \"2005\"",
        "currentdate :value \"ge\" \"date\" \"2005-01-01\"",
        "date :originalzone \"date\" \"zone\" \"+0100\"",
    ];
    for t in yes {
        let r = run(&format!("{pre} if {t} {{ discard; }}"));
        assert_eq!(r.actions, vec![Action::Discard], "{t}");
    }
}

#[test]
fn index_selects_one_field() {
    let msg = "Received: one\r\nReceived: two\r\nReceived: three\r\n\r\n";
    let host = &mut TestHost::default();
    let r = run_with(
        "require \"index\"; if header :index 2 \"received\" \"two\" { discard; }",
        msg,
        host,
    )
    .unwrap();
    assert_eq!(r.actions, vec![Action::Discard]);
    let r = run_with(
        "require \"index\"; if header :index 1 :last \"received\" \"three\" { discard; }",
        msg,
        host,
    )
    .unwrap();
    assert_eq!(r.actions, vec![Action::Discard]);
    assert_eq!(
        errors("require \"index\"; if header :index 0 \"a\" \"b\" {}")[0],
        "the :index tag for the header test cannot be zero"
    );
}

#[test]
fn editheader_changes_what_later_tests_see() {
    let src = "require [\"editheader\"];\n\
               addheader \"X-Tag\" \"one\"; addheader :last \"X-Tag\" \"two\";\n\
               deleteheader :index 1 \"x-tag\";\n\
               deleteheader \"received\";\n\
               if header :is \"x-tag\" \"two\" { discard; }";
    let r =
        run_with(src, "Received: x\r\nSubject: s\r\n\r\nb\r\n", &mut TestHost::default()).unwrap();
    assert_eq!(r.actions, vec![Action::Discard]);
    let edited = r.edited_headers.unwrap();
    let names: Vec<&str> = edited.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, vec!["Received", "Subject", "X-Tag"], "Received is protected");
    let e = errors("require \"editheader\"; addheader \"X field\" \"v\";");
    assert_eq!(e[0], "addheader command: specified field name `X field' is invalid");
}

#[test]
fn duplicate_asks_the_host_and_records_ids() {
    let mut host = TestHost::default();
    let r = run_with("require \"duplicate\"; if duplicate { discard; }", MSG, &mut host).unwrap();
    assert!(r.actions.is_empty());
    assert_eq!(r.duplicate_marks.len(), 1);
    let (id, period) = r.duplicate_marks[0].clone();
    assert_eq!(period, 14 * 86400);
    host.seen.insert(id);
    let r = run_with("require \"duplicate\"; if duplicate { discard; }", MSG, &mut host).unwrap();
    assert_eq!(r.actions, vec![Action::Discard]);
}

#[test]
fn environment_and_ihave() {
    let mut host = TestHost::default();
    host.items.insert("phase".into(), "during".into());
    let src = "require \"environment\"; if environment :is \"phase\" \"during\" { discard; }";
    assert_eq!(run_with(src, MSG, &mut host).unwrap().actions, vec![Action::Discard]);
    let src = "require \"ihave\"; if ihave \"nonsense\" { nonsense_command; } elsif ihave \"fileinto\" { fileinto \"X\"; }";
    assert_eq!(run(src).actions, vec![fileinto("X", &[])]);
    let r = run_with("require \"ihave\"; error \"giving up\";", MSG, &mut host);
    assert_eq!(r.unwrap_err().message, "giving up");
}

#[test]
fn spamtest_uses_the_host_score() {
    let mut host = TestHost { score: Some("8".into()), ..TestHost::default() };
    let src = "require [\"spamtest\", \"relational\", \"comparator-i;ascii-numeric\"];\n\
               if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"5\" { discard; }";
    assert_eq!(run_with(src, MSG, &mut host).unwrap().actions, vec![Action::Discard]);
}

#[test]
fn enotify_notify_and_encodeurl() {
    let src = "require [\"enotify\", \"variables\"]; set :encodeurl \"s\" \"a b\";\n\
               notify :message \"${s}\" \"mailto:bob@example.com\";\n\
               if valid_notify_method \"mailto:x@example.com\" { discard; }";
    let r = run(src);
    let Action::Notify(n) = &r.actions[0] else { panic!("{:?}", r.actions) };
    assert_eq!(n.message.as_deref(), Some("a%20b"));
    assert_eq!(r.actions[1], Action::Discard);
    assert_eq!(
        errors("require \"enotify\"; notify \"xmpp:a@b\";")[0],
        "notify command: invalid method 'xmpp'"
    );
}

#[test]
fn encoded_character() {
    let src =
        "require [\"encoded-character\", \"fileinto\"]; fileinto \"${hex:41 42}${unicode:263A}\";";
    assert_eq!(run(src).actions, vec![fileinto("AB\u{263a}", &[])]);
    let e = errors("require \"encoded-character\"; redirect \"${unicode:D800}@example.com\";");
    assert_eq!(e[0], "invalid unicode character 0x0000d800 in encoded character substitution");
}

#[test]
fn copy_preserves_implicit_keep() {
    let r = run("require [\"copy\", \"fileinto\"]; fileinto :copy \"A\";");
    assert!(r.implicit_keep);
    let c = compile_all("require \"copy\"; redirect :copy \"a@example.com\";").unwrap();
    assert_eq!(c.script.name, "test");
}

#[test]
fn notify_method_capability_and_uri_checks() {
    let src = "require \"enotify\"; if notify_method_capability \"mailto:a@example.org\" \"online\" \"maybe\" { discard; }";
    assert_eq!(run(src).actions, vec![Action::Discard]);
    let e = errors("require \"enotify\"; notify \"mailto:a@example.org;\";");
    assert_eq!(e[0], "notify command: mailto URI: invalid character ';' in 'to' part");
    let e = errors("require \"enotify\"; notify :from \"\" \"mailto:a@example.org\";");
    assert_eq!(
        e[0],
        "notify command: specified :from address '' is invalid for the mailto method: empty address"
    );
}

#[test]
fn debug_log_reaches_the_host_only() {
    let r = run("require \"vnd.dovecot.debug\"; debug_log \"hello\";");
    assert!(r.actions.is_empty());
    assert!(r.implicit_keep);
}

#[test]
fn special_use_and_metadata_ask_the_host() {
    let r =
        run("require [\"special-use\", \"fileinto\"]; fileinto :specialuse \"\\\\Junk\" \"Spam\";");
    let Action::FileInto { special_use, .. } = &r.actions[0] else { panic!("{:?}", r.actions) };
    assert_eq!(special_use.as_deref(), Some("\\Junk"));
    let r = run("require \"special-use\"; if specialuse_exists \"\\\\Sent\" { discard; }");
    assert!(r.actions.is_empty(), "the default host knows no special-use mailboxes");
    let e = errors("require \"special-use\"; if specialuse_exists \"frop\" {}");
    assert_eq!(e[0], "specialuse_exists test: invalid special-use flag `frop' specified");
    let r = run(
        "require [\"mboxmetadata\", \"servermetadata\"]; if anyof (metadataexists \"INBOX\" \"/private/x\", servermetadata \"/shared/y\" \"z\") { discard; }",
    );
    assert!(r.actions.is_empty());
}

#[test]
fn report_and_deprecated_conflicts() {
    let r = run(
        "require \"vnd.dovecot.report\"; report :headers_only \"abuse\" \"spam!\" \"Abuse <abuse@example.com>\";",
    );
    let Action::Report(rep) = &r.actions[0] else { panic!("{:?}", r.actions) };
    assert_eq!(
        (rep.feedback_type.as_str(), rep.address.as_str(), rep.headers_only),
        ("abuse", "abuse@example.com", true)
    );
    assert!(r.implicit_keep);
    let e = errors("require \"vnd.dovecot.duplicate\";\nrequire \"duplicate\";");
    assert_eq!(
        e[0],
        "the (deprecated) vnd.dovecot.duplicate extension cannot be used together with the duplicate extension"
    );
    assert!(compile_all("require \"vnd.dovecot.duplicate\"; if duplicate { keep; }").is_ok());
}
