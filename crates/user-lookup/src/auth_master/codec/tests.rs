use super::*;

#[test]
fn request_matches_observed_lda_bytes() {
    let mut out = HANDSHAKE.to_vec();
    out.extend(encode_user_request(1, "specuser", &[("service", "lda")]).unwrap());
    assert_eq!(out, b"VERSION\t1\t0\nUSER\t1\tspecuser\tservice=lda\n");
}

#[test]
fn unsendable_names_are_refused() {
    for bad in ["a\tb", "a\nb", "a\rb"] {
        assert_eq!(encode_user_request(1, bad, &[("service", "lda")]), None, "{bad:?}");
        assert_eq!(encode_user_request(1, "ok", &[("service", bad)]), None);
    }
}

#[test]
fn parses_observed_success_reply() {
    let line = b"USER\t1\tspecuser\tuid=1002\tgid=1002\thome=/home/specuser\t\
mail=maildir:~/MaildirB\tquota_rule=*:storage=1G\tmail_plugins=\tsystem_groups_user=specuser\tflag";
    let ServerLine::User { id, username, fields } = parse_server_line(line).unwrap() else {
        panic!("not a USER line");
    };
    assert_eq!((id, username.as_deref()), (1, Some("specuser")));
    let rec = user_record("specuser", &fields);
    assert_eq!((rec.uid, rec.gid), (Some(1002), Some(1002)));
    assert_eq!(rec.home.as_deref(), Some(std::path::Path::new("/home/specuser")));
    let keys: Vec<&str> = rec.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["mail", "quota_rule", "mail_plugins", "system_groups_user", "flag"]);
    assert_eq!(rec.field("mail_plugins"), Some(""));
    assert_eq!(rec.field("flag"), Some(""));
}

#[test]
fn parses_other_lines() {
    assert_eq!(
        parse_server_line(b"VERSION\t1\t1").unwrap(),
        ServerLine::Version { major: 1, minor: 1 }
    );
    assert!(matches!(parse_server_line(b"VERSION\tx\t1"), Err(CodecError::BadVersion(_))));
    let bare = parse_server_line(b"USER\t1\tbob\t").unwrap();
    assert_eq!(bare, ServerLine::User { id: 1, username: Some("bob".into()), fields: vec![] });
    assert_eq!(parse_server_line(b"SPID\t123").unwrap(), ServerLine::Spid);
    assert_eq!(parse_server_line(b"NOTFOUND\t7").unwrap(), ServerLine::NotFound { id: 7 });
    assert_eq!(
        parse_server_line(b"FAIL\t1\treason=backend\x01tdown").unwrap(),
        ServerLine::Fail { id: 1, reason: Some("backend\tdown".into()) }
    );
    assert_eq!(parse_server_line(b"FAIL\t1").unwrap(), ServerLine::Fail { id: 1, reason: None });
    assert!(matches!(parse_server_line(b"NOTFOUND\tx"), Err(CodecError::BadId(_))));
    assert_eq!(
        parse_server_line(b"").unwrap(),
        ServerLine::Other { command: String::new(), id: None }
    );
}

#[test]
fn line_buffer_enforces_limit() {
    let mut lines = LineBuffer::new();
    lines.push(&vec![b'a'; MAX_INPUT - 1]);
    assert_eq!(lines.next_line(), Ok(None));
    lines.push(b"a");
    assert_eq!(lines.next_line(), Err(CodecError::LineTooLong));
    let mut lines = LineBuffer::new();
    let mut long = vec![b'a'; MAX_INPUT];
    long.push(b'\n');
    lines.push(&long);
    assert_eq!(lines.next_line(), Err(CodecError::LineTooLong));
    let mut lines = LineBuffer::new();
    lines.push(&long[1..]);
    assert_eq!(lines.next_line().unwrap().map(|l| l.len()), Some(MAX_INPUT - 1));
}

const SESSION: &[u8] = b"VERSION\t1\t1\nSPID\t42\nUSER\t1\talice\tuid=1001\tgid=1001\t\
home=/home/alice\tmail=maildir:~/Maildir\n";

/// Feeds `input` to a fresh exchange in chunks of `size` bytes.
fn run(input: &[u8], size: usize) -> Step {
    let mut lines = LineBuffer::new();
    let mut exchange = Exchange::new(1);
    for chunk in input.chunks(size) {
        lines.push(chunk);
        while let Some(line) = lines.next_line().unwrap() {
            if let done @ Step::Done(_) = exchange.feed(&line) {
                return done;
            }
        }
    }
    Step::Continue
}

#[test]
fn trickle_gives_same_result_for_every_chunk_size() {
    let whole = run(SESSION, SESSION.len());
    let Step::Done(Ok(Some(rec))) = &whole else { panic!("{whole:?}") };
    assert_eq!(rec.username, "alice");
    assert_eq!(rec.field("mail"), Some("maildir:~/Maildir"));
    for size in 1..SESSION.len() {
        assert_eq!(run(SESSION, size), whole, "chunk size {size}");
    }
    assert_eq!(run(&SESSION[..SESSION.len() - 1], 1), Step::Continue);
}

fn outcome(input: &[u8]) -> Result<Option<UserRecord>, (LookupErrorKind, String)> {
    match run(input, 3) {
        Step::Done(r) => r,
        Step::Continue => panic!("no outcome for {:?}", String::from_utf8_lossy(input)),
    }
}

#[test]
fn exchange_outcomes() {
    assert_eq!(outcome(b"VERSION\t1\t5\nNOTFOUND\t1\n"), Ok(None));
    let err = outcome(b"VERSION\t1\t1\nFAIL\t1\treason=backend down\n").unwrap_err();
    assert_eq!(err, (LookupErrorKind::Failed, "backend down".into()));
    let err = outcome(b"VERSION\t1\t1\nFAIL\t1\n").unwrap_err();
    assert!(err.1.starts_with("Internal error occurred"), "{err:?}");
    let err = outcome(b"VERSION\t2\t0\nUSER\t1\ta\n").unwrap_err();
    assert!(err.1.contains("version mismatch"), "{err:?}");
    let err = outcome(b"VERSION\t1\t1\nUSER\t1\n").unwrap_err();
    assert_eq!(err.1, "Lookup didn't return username");
    let err = outcome(b"VERSION\t1\t1\nUSER\t2\tbob\n").unwrap_err();
    assert!(err.1.starts_with("BUG: Unexpected input"), "{err:?}");
    let err = outcome(b"VERSION\t1\t1\nMAYBE\t1\n").unwrap_err();
    assert_eq!(err.1, "Unknown reply: MAYBE");
    let err = outcome(b"VERSION\t1\t1\nCUID\t5\n").unwrap_err();
    assert!(err.1.contains("auth client socket"), "{err:?}");
    let err = outcome(b"USER\t1\talice\n").unwrap_err();
    assert_eq!(err.0, LookupErrorKind::Protocol);
}

/// A cheap deterministic fuzz: random bytes must never panic the decoder.
#[test]
fn random_input_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let mut input = b"VERSION\t1\t1\n".to_vec();
        for _ in 0..(seed % 64) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let alphabet = b"\t\n\x01=USERNOTFAILVERSION0123456789 tr";
            input.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let _ = run(&input, 1 + (seed % 5) as usize);
    }
}
