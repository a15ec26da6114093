//! Protocol tests: whole sessions fed at once and byte by byte must give the same replies.

use super::*;

/// Runs a scripted session: recipients starting with "bad" are refused with 550, every
/// delivered message is recorded and answered with `250 <rcpt> saved`.
fn run(input: &[u8], chunk: usize, limits: Limits) -> (String, Vec<MessageData>) {
    let mut p = Protocol::new("mx", "ready", limits);
    let mut out = Vec::new();
    let mut messages = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        p.feed(piece);
        while let Some(event) = p.next_event() {
            match event {
                Event::Recipient(rcpt, _) => {
                    let ok = !rcpt.address.starts_with("bad");
                    let reply = if ok {
                        crate::reply::rcpt_ok()
                    } else {
                        Reply::enhanced(550, "5.1.1", format!("<{}> unknown", rcpt.address))
                    };
                    p.answer_rcpt(reply, ok);
                }
                Event::Message(data) => {
                    let replies = data
                        .recipients
                        .iter()
                        .map(|r| Reply::enhanced(250, "2.0.0", format!("<{}> saved", r.address)))
                        .collect();
                    messages.push(data);
                    p.answer_data(replies);
                }
                Event::Close => break,
            }
        }
        out.extend(p.take_output());
    }
    (String::from_utf8(out).unwrap(), messages)
}

const SESSION: &[u8] = b"LHLO client\r\nMAIL FROM:<s@x> BODY=8BITMIME SIZE=50\r\n\
RCPT TO:<a@x>\r\nRCPT TO:<bad@x>\r\nRCPT TO:<b+d@x> ORCPT=rfc822;o+2Bx@y\r\nDATA\r\n\
Subject: t\r\n\r\n..dot\r\n..\r\nbare lf\nlast\r\n.\r\nNOOP\r\nVRFY a\r\nQUIT\r\n";

#[test]
fn full_session_replies_in_order() {
    let (out, messages) = run(SESSION, SESSION.len(), Limits::default());
    let expected = "220 mx ready\r\n250-mx\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n\
250-PIPELINING\r\n250 SIZE 67108864\r\n250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 <bad@x> unknown\r\n\
250 2.1.5 OK\r\n354 OK\r\n250 2.0.0 <a@x> saved\r\n250 2.0.0 <b+d@x> saved\r\n250 2.0.0 OK\r\n\
252 2.3.3 Try RCPT instead\r\n221 2.0.0 Bye\r\n";
    assert_eq!(out, expected);
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.data, b"Subject: t\n\n.dot\n.\nbare lf\nlast\n");
    assert_eq!(m.envelope.sender, "s@x");
    assert_eq!(m.envelope.helo, "client");
    assert_eq!(m.recipients.iter().map(|r| r.index).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(m.recipients[1].orcpt.as_deref(), Some("o+x@y"));
}

#[test]
fn trickle_gives_the_same_result() {
    let (whole, whole_msgs) = run(SESSION, SESSION.len(), Limits::default());
    for chunk in [1, 2, 3, 7, 13] {
        let (out, msgs) = run(SESSION, chunk, Limits::default());
        assert_eq!(out, whole, "chunk size {chunk}");
        assert_eq!(msgs[0].data, whole_msgs[0].data, "chunk size {chunk}");
    }
}

#[test]
fn sequence_and_syntax_errors() {
    let input = b"RCPT TO:<a@x>\r\nDATA\r\nMAIL FROM:<a@x>\r\nMAIL FROM:<a@x>\r\nDATA\r\n\
RCPT TO:a@x\r\nRCPT TO:<>\r\nRCPT TO:<a@x> FOO=1\r\nHELO x\r\nLHLO\r\nMAIL FROM:x\r\n";
    let (out, _) = run(input, input.len(), Limits::default());
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "503 5.5.0 MAIL needed first",
            "503 5.5.0 MAIL needed first",
            "250 2.1.0 OK",
            "503 5.5.0 MAIL already given",
            "503 5.5.0 No valid recipients",
            "501 5.5.4 Invalid TO: Missing '<' at beginning of path",
            "501 5.5.4 Invalid TO: Null path not allowed",
            "555 5.5.4 Unsupported parameters",
            "500 5.5.1 Unknown command",
            "501 Missing hostname",
            "503 5.5.0 MAIL already given",
        ]
    );
}

#[test]
fn rset_and_lhlo_end_the_transaction() {
    let input = b"MAIL FROM:<>\r\nRCPT TO:<a@x>\r\nRSET\r\nDATA\r\nMAIL FROM:<>\r\nLHLO h\r\nRCPT TO:<a@x>\r\n";
    let (out, _) = run(input, 1, Limits::default());
    assert!(out.contains("250 2.0.0 OK\r\n503 5.5.0 MAIL needed first\r\n"), "{out}");
    assert!(out.ends_with("250 SIZE 67108864\r\n503 5.5.0 MAIL needed first\r\n"), "{out}");
}

#[test]
fn message_size_limit() {
    let limits = Limits { max_message_size: 10, ..Limits::default() };
    let input = b"MAIL FROM:<> SIZE=11\r\nMAIL FROM:<> SIZE=10\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n\
0123456789\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<a@x>\r\nDATA\r\n012345678\r\n.\r\n";
    let (out, msgs) = run(input, 5, limits);
    assert!(
        out.contains("552 5.3.4 Message size exceeds administrative limit\r\n250 2.1.0 OK"),
        "{out}"
    );
    assert_eq!(out.matches("552 5.3.4").count(), 3, "one per recipient: {out}");
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].data, b"012345678\n");
}

#[test]
fn recipient_limit_and_long_lines() {
    let limits = Limits { max_recipients: 1, max_line_length: 40, ..Limits::default() };
    let mut input = b"MAIL FROM:<>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\n".to_vec();
    input.extend_from_slice(format!("NOOP {}\r\nNOOP\r\n", "x".repeat(100)).as_bytes());
    for chunk in [1, input.len()] {
        let (out, _) = run(&input, chunk, limits);
        assert!(out.contains("452 4.5.3 Too many recipients\r\n"), "{out}");
        assert!(
            out.ends_with("500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"),
            "chunk {chunk}: {out}"
        );
    }
}

#[test]
fn long_data_lines_pass_through_and_dots_are_unstuffed() {
    let long = "y".repeat(200_000);
    let input = format!("MAIL FROM:<>\r\nRCPT TO:<a@x>\r\nDATA\r\n.{long}\r\n..\r\n.\r\n");
    let (_, msgs) = run(input.as_bytes(), 4096, Limits::default());
    assert_eq!(msgs[0].data, format!("{long}\n.\n").into_bytes());
}

#[test]
fn too_many_invalid_commands_close() {
    let limits = Limits { max_invalid_commands: 3, ..Limits::default() };
    let (out, _) = run(b"X\r\nY\r\nZ\r\nNOOP\r\n", 1, limits);
    assert!(
        out.ends_with("500 5.5.1 Unknown command\r\n421 4.7.0 Too many invalid commands.\r\n"),
        "{out}"
    );
}

#[test]
fn shutdown_waits_for_data() {
    let mut p = Protocol::new("mx", "ready", Limits::default());
    p.feed(b"MAIL FROM:<>\r\nRCPT TO:<a@x>\r\nDATA\r\npartial");
    while let Some(event) = p.next_event() {
        if let Event::Recipient(..) = event {
            p.answer_rcpt(crate::reply::rcpt_ok(), true);
        }
    }
    assert!(p.in_data());
    assert!(!p.shutdown());
    p.feed(b"\r\n.\r\n");
    assert!(matches!(p.next_event(), Some(Event::Message(_))));
    p.answer_data(Vec::new());
    assert!(p.shutdown());
    let out = String::from_utf8(p.take_output()).unwrap();
    assert!(
        out.ends_with("451 4.3.0 Temporary internal error\r\n421 4.3.2 Server shutting down\r\n"),
        "{out}"
    );
    assert!(matches!(p.next_event(), Some(Event::Close)));
}
