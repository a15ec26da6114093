//! The auth-master client against a small fake server thread speaking the protocol.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use user_lookup::{AuthMaster, LookupErrorKind, UserDatabase};

/// What the fake server does once the client's request has arrived.
#[derive(Clone)]
enum Script {
    /// Sends these bytes, `chunk` bytes at a time, then waits for the client to close.
    Reply(Vec<u8>, usize),
    /// Sends these bytes, then closes the connection.
    ReplyThenClose(Vec<u8>),
    /// Sends nothing and holds the connection open until the client closes.
    Silent,
}

struct Fake {
    _dir: tempfile::TempDir,
    path: PathBuf,
    handle: JoinHandle<Vec<u8>>,
}

/// Starts a server for one connection; the thread returns the bytes the client sent.
fn fake(script: Script) -> Fake {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth-userdb");
    let listener = UnixListener::bind(&path).unwrap();
    let handle = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while got.iter().filter(|&&b| b == b'\n').count() < 2 {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        match script {
            Script::Reply(bytes, chunk) => {
                for part in bytes.chunks(chunk) {
                    if conn.write_all(part).is_err() {
                        return got;
                    }
                    conn.flush().unwrap();
                }
                let _ = conn.read(&mut buf);
            }
            Script::ReplyThenClose(bytes) => conn.write_all(&bytes).unwrap(),
            Script::Silent => {
                let _ = conn.read(&mut buf);
            }
        }
        got
    });
    Fake { _dir: dir, path, handle }
}

fn client(path: &std::path::Path, timeout_ms: u64) -> AuthMaster {
    AuthMaster::new(path.to_path_buf(), "lda", Duration::from_millis(timeout_ms))
}

const HELLO: &str = "VERSION\t1\t1\nSPID\t4242\n";

#[test]
fn success_sends_observed_bytes_and_parses_reply() {
    let reply = format!(
        "{HELLO}USER\t1\tspecuser\tuid=1002\tgid=1002\thome=/home/specuser\t\
         mail=maildir:~/MaildirB\tquota_rule=*:storage=1G\tmail_plugins=\tsystem_groups_user=specuser\n"
    );
    let server = fake(Script::Reply(reply.into_bytes(), 4096));
    let rec = client(&server.path, 5000).lookup("specuser").unwrap().unwrap();
    assert_eq!(rec.username, "specuser");
    assert_eq!((rec.uid, rec.gid), (Some(1002), Some(1002)));
    assert_eq!(rec.home, Some(PathBuf::from("/home/specuser")));
    assert_eq!(rec.field("quota_rule"), Some("*:storage=1G"));
    assert_eq!(rec.field("system_groups_user"), Some("specuser"));
    let sent = server.handle.join().unwrap();
    assert_eq!(sent, b"VERSION\t1\t0\nUSER\t1\tspecuser\tservice=lda\n");
}

#[test]
fn trickled_reply_and_canonical_name() {
    let reply = format!("{HELLO}USER\t1\tCanon\tuid=7\tmail=a\x01tb\n");
    let server = fake(Script::Reply(reply.into_bytes(), 1));
    let rec = client(&server.path, 5000).lookup("canon@x").unwrap().unwrap();
    assert_eq!(rec.username, "Canon");
    assert_eq!(rec.field("mail"), Some("a\tb"));
}

#[test]
fn notfound_is_none() {
    let server = fake(Script::Reply(format!("{HELLO}NOTFOUND\t1\n").into_bytes(), 5));
    assert_eq!(client(&server.path, 5000).lookup("ghost").unwrap(), None);
}

#[test]
fn fail_reason_is_the_error_detail() {
    let server =
        fake(Script::Reply(format!("{HELLO}FAIL\t1\treason=backend down\n").into_bytes(), 64));
    let err = client(&server.path, 5000).lookup("alice").unwrap_err();
    assert_eq!(err.kind, LookupErrorKind::Failed);
    assert_eq!(err.detail, "backend down");
    let text = err.to_string();
    assert!(text.contains(&server.path.display().to_string()) && text.contains("alice"), "{text}");
}

#[test]
fn silent_server_times_out_within_bound() {
    let server = fake(Script::Silent);
    let start = Instant::now();
    let err = client(&server.path, 300).lookup("alice").unwrap_err();
    assert_eq!(err.kind, LookupErrorKind::Timeout);
    assert_eq!(err.detail, "Connecting timed out");
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
}

#[test]
fn handshake_without_reply_is_request_timeout() {
    let server = fake(Script::Reply(HELLO.as_bytes().to_vec(), 100));
    let err = client(&server.path, 300).lookup("alice").unwrap_err();
    assert_eq!((err.kind, err.detail.as_str()), (LookupErrorKind::Timeout, "Request timed out"));
}

#[test]
fn close_before_reply_is_disconnect() {
    let server = fake(Script::ReplyThenClose(HELLO.as_bytes().to_vec()));
    let err = client(&server.path, 5000).lookup("alice").unwrap_err();
    assert_eq!(err.kind, LookupErrorKind::Protocol);
    assert_eq!(err.detail, "Disconnected unexpectedly");
}

#[test]
fn overlong_line_is_refused() {
    let mut reply = HELLO.as_bytes().to_vec();
    reply.extend(b"USER\t1\talice\tx=");
    reply.extend(vec![b'a'; 9000]);
    reply.push(b'\n');
    let server = fake(Script::Reply(reply, 4096));
    let err = client(&server.path, 5000).lookup("alice").unwrap_err();
    assert_eq!(err.kind, LookupErrorKind::Protocol);
    assert!(err.detail.contains("8192"), "{}", err.detail);
}

#[test]
fn wrong_id_and_unknown_reply_are_protocol_errors() {
    let server = fake(Script::Reply(format!("{HELLO}USER\t2\tbob\n").into_bytes(), 4096));
    let err = client(&server.path, 5000).lookup("bob").unwrap_err();
    assert!(err.detail.starts_with("BUG: Unexpected input"), "{}", err.detail);
    let server = fake(Script::Reply(format!("{HELLO}HUH\t1\n").into_bytes(), 4096));
    let err = client(&server.path, 5000).lookup("bob").unwrap_err();
    assert_eq!(err.detail, "Unknown reply: HUH");
}

#[test]
fn missing_socket_is_a_connect_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing-here");
    let err = client(&path, 5000).lookup("alice").unwrap_err();
    assert_eq!(err.kind, LookupErrorKind::Connect);
    assert!(err.detail.starts_with("connect("), "{}", err.detail);
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn unsendable_name_is_unknown_without_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing-here");
    assert_eq!(client(&path, 5000).lookup("a\tb").unwrap(), None);
}
