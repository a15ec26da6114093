//! Session tests with a fake backend over in-memory I/O.

use std::sync::Mutex;

use super::*;
use crate::trace::DeliveryAddress;

/// (transaction id, backend states, stored message) per delivery.
type Delivered = (String, Vec<String>, Vec<u8>);

#[derive(Default)]
struct Fake {
    delivered: Mutex<Vec<Delivered>>,
}

impl Backend for Fake {
    type Recipient = String;

    fn check_recipient(
        &self,
        _: &SessionInfo,
        _: &Envelope,
        rcpt: &RcptCommand,
    ) -> Result<String, Reply> {
        if rcpt.address.starts_with("unknown") {
            return Err(crate::reply::unknown_user_reply(&rcpt.address, "unknown"));
        }
        Ok(rcpt.address.to_uppercase())
    }

    fn deliver(&self, info: &SessionInfo, txn: Transaction<'_, String>) -> Vec<Reply> {
        let users: Vec<String> = txn.recipients.iter().map(|(_, u)| u.clone()).collect();
        let replies = txn
            .recipients
            .iter()
            .map(|(r, _)| {
                crate::reply::saved_reply(
                    &r.address,
                    &info.recipient_id(txn.envelope.transaction, r.index),
                )
            })
            .collect();
        self.delivered.lock().unwrap().push((txn.id.clone(), users, txn.message));
        replies
    }
}

fn config() -> SessionConfig {
    SessionConfig {
        hostname: "mx".into(),
        greeting: "ready".into(),
        limits: Limits::default(),
        trace: TraceSettings {
            add_received: true,
            delivery_address: DeliveryAddress::Final,
            hostname: "mx".into(),
        },
        idle_timeout: Duration::from_secs(60),
    }
}

#[test]
fn per_recipient_replies_ids_and_trace_headers() {
    let backend = Fake::default();
    let info = SessionInfo { session_id: "SID".into(), remote_ip: None };
    let input =
        b"LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<a@x>\r\nRCPT TO:<unknown@x>\r\nRCPT TO:<b@x>\r\n\
DATA\r\nSubject: 1\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<c@x>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n";
    let mut reader = &input[..];
    let mut out = Vec::new();
    let stop = AtomicBool::new(false);
    let end = run_session(&backend, &config(), &info, &mut reader, &mut out, &stop).unwrap();
    assert_eq!(end, SessionEnd::Closed);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("250 2.0.0 <a@x> SID Saved\r\n250 2.0.0 <b@x> SID:R3 Saved\r\n"), "{out}");
    assert!(out.contains("550 5.1.1 <unknown@x> User doesn't exist: unknown\r\n"), "{out}");
    assert!(out.contains("250 2.0.0 <c@x> SID:T2 Saved\r\n221 2.0.0 Bye\r\n"), "{out}");
    let delivered = backend.delivered.lock().unwrap();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0].1, ["A@X", "B@X"]);
    let first = String::from_utf8(delivered[0].2.clone()).unwrap();
    assert!(
        first.starts_with("Return-Path: <s@x>\nReceived: from c\n\tby mx with LMTP\n\tid SID\n"),
        "{first}"
    );
    assert!(first.ends_with("\nSubject: 1\n\nbody\n"), "{first}");
    let second = String::from_utf8(delivered[1].2.clone()).unwrap();
    assert!(
        second.starts_with("Return-Path: <>\nDelivered-To: c@x\nReceived: from c\n"),
        "{second}"
    );
    assert!(second.contains("\tid SID:T2\n\t(envelope-from <>)\n\tfor <c@x>; "), "{second}");
}

#[test]
fn eof_mid_data_delivers_nothing() {
    let backend = Fake::default();
    let info = SessionInfo { session_id: "S".into(), remote_ip: None };
    let input = b"MAIL FROM:<>\r\nRCPT TO:<a@x>\r\nDATA\r\nSubject: cut\r\n";
    let mut reader = &input[..];
    let mut out = Vec::new();
    let end =
        run_session(&backend, &config(), &info, &mut reader, &mut out, &AtomicBool::new(false));
    assert_eq!(end.unwrap(), SessionEnd::Disconnected);
    assert!(backend.delivered.lock().unwrap().is_empty());
    assert!(!String::from_utf8(out).unwrap().contains("Saved"));
}

#[test]
fn shutdown_flag_closes_at_a_command_boundary() {
    let backend = Fake::default();
    let info = SessionInfo { session_id: "S".into(), remote_ip: None };
    let mut reader = &b"NOOP\r\n"[..];
    let mut out = Vec::new();
    let end =
        run_session(&backend, &config(), &info, &mut reader, &mut out, &AtomicBool::new(true));
    assert_eq!(end.unwrap(), SessionEnd::Closed);
    assert!(String::from_utf8(out).unwrap().ends_with("421 4.3.2 Server shutting down\r\n"));
}

#[test]
fn session_ids_look_like_dovecots() {
    assert_eq!(new_session_id().len(), 22);
    assert_ne!(new_session_id(), new_session_id());
}
