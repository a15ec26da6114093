//! mbox locking and failure paths: held and stale dotlocks, fcntl/flock locks held by
//! others (in this process and in another one), a write that fails half-way (file size
//! limit) and is cut back, 20 threads and 20 processes appending at once, and an append to
//! a 200 MB mbox that reads only its first and last bytes.

mod common;
mod mbox_common;

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::hold_ofd_lock;
use mail_storage::{ErrorKind, MboxLockMethod as M, MessageSource, OpenOptions, SaveOptions};
use mbox_common::*;

const MSG: &[u8] = b"Subject: t\n\nbody\n";
const EXISTING: &[u8] = b"From x@y  Wed Nov 25 18:44:27 2026\nS: a\nContent-Length: 2\n\nb\n\n";

/// A home with an existing one-message INBOX at `~/inbox`.
fn home_with_inbox() -> (tempfile::TempDir, String) {
    let home = open_tempdir();
    fs::write(home.path().join("inbox"), EXISTING).unwrap();
    (home, "mbox:~/mail:INBOX=~/inbox".to_owned())
}

fn inbox(home: &Path) -> Vec<u8> {
    fs::read(home.join("inbox")).unwrap()
}

#[test]
fn held_dotlock_is_waited_for_then_tempfails() {
    let (home, location) = home_with_inbox();
    // A live local process (init) holds it: never stale.
    fs::write(home.path().join("inbox.lock"), "1:testhost").unwrap();
    let user = user_with(&location, home.path(), settings(&[M::Dotlock, M::Fcntl], secs(1)));
    let started = Instant::now();
    let err = save_msg(&user, "INBOX", MSG, None).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    assert!(err.is_temporary());
    assert!(err.public_message().contains("Timeout while waiting for lock"), "{err}");
    assert_eq!(inbox(home.path()), EXISTING);
    assert!(home.path().join("inbox.lock").exists());
}

#[test]
fn dotlock_released_while_waiting_lets_the_save_through() {
    let (home, location) = home_with_inbox();
    let lock = home.path().join("inbox.lock");
    fs::write(&lock, "1:testhost").unwrap();
    let user = user_with(&location, home.path(), settings(&[M::Dotlock], secs(10)));
    let remover = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        fs::remove_file(lock).unwrap();
    });
    let started = Instant::now();
    save_msg(&user, "INBOX", MSG, None).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    remover.join().unwrap();
    assert_eq!(parse_mbox(&inbox(home.path())).len(), 2);
    assert!(!home.path().join("inbox.lock").exists());
}

#[test]
fn stale_dotlocks_are_broken() {
    let (home, location) = home_with_inbox();
    let lock = home.path().join("inbox.lock");
    // A dead local pid: stale at once.
    fs::write(&lock, "999999999:testhost").unwrap();
    let user = user_with(&location, home.path(), settings(&[M::Dotlock], secs(1)));
    save_msg(&user, "INBOX", MSG, None).unwrap();
    assert!(!lock.exists());
    // Another host's lock: stale once neither it nor the mbox changed for
    // mbox_dotlock_change_timeout.
    fs::write(&lock, "123:otherhost").unwrap();
    let mut quick = settings(&[M::Dotlock], secs(10));
    quick.mbox_dotlock_change_timeout = secs(1);
    let user = user_with(&location, home.path(), quick);
    save_msg(&user, "INBOX", MSG, None).unwrap();
    assert!(!lock.exists());
    assert_eq!(parse_mbox(&inbox(home.path())).len(), 3);
}

#[test]
fn fcntl_and_flock_held_by_others_time_out() {
    let (home, location) = home_with_inbox();
    let path = home.path().join("inbox");
    let held = hold_ofd_lock(&path);
    let user = user_with(&location, home.path(), settings(&[M::Fcntl], Duration::from_millis(300)));
    let err = save_msg(&user, "INBOX", MSG, None).unwrap_err();
    assert!(err.public_message().contains("Timeout while waiting for lock (fcntl"), "{err}");
    drop(held);
    let held = File::open(&path).unwrap();
    held.lock().unwrap();
    let user = user_with(&location, home.path(), settings(&[M::Flock], Duration::from_millis(300)));
    let err = save_msg(&user, "INBOX", MSG, None).unwrap_err();
    assert!(err.public_message().contains("Timeout while waiting for lock (flock"), "{err}");
    assert_eq!(inbox(home.path()), EXISTING);
    // Dotlock first: the dotlock it took is removed again when a later lock times out.
    let user = user_with(
        &location,
        home.path(),
        settings(&[M::Dotlock, M::Flock], Duration::from_millis(300)),
    );
    assert!(save_msg(&user, "INBOX", MSG, None).unwrap_err().is_temporary());
    assert!(!home.path().join("inbox.lock").exists());
    drop(held);
    save_msg(&user, "INBOX", MSG, None).unwrap();
    assert_eq!(parse_mbox(&inbox(home.path())).len(), 2);
}

/// Child: takes a classic POSIX `F_SETLKW` lock on `LB_MBOX_HOLD`, says so, holds it for
/// `LB_MBOX_HOLD_MS`, as Dovecot or a MUA would.
#[test]
fn child_hold_classic_fcntl() {
    let Ok(path) = std::env::var("LB_MBOX_HOLD") else { return };
    let file = File::options().read(true).write(true).open(path).unwrap();
    let whole = nix::libc::flock {
        l_type: nix::libc::F_WRLCK as i16,
        l_whence: nix::libc::SEEK_SET as i16,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETLKW(&whole)).unwrap();
    println!("LOCKED");
    let ms: u64 = std::env::var("LB_MBOX_HOLD_MS").unwrap().parse().unwrap();
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn classic_fcntl_lock_of_another_process_is_respected() {
    let (home, location) = home_with_inbox();
    let mut holder = child("child_hold_classic_fcntl", false)
        .env("LB_MBOX_HOLD", home.path().join("inbox"))
        .env("LB_MBOX_HOLD_MS", "1500")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("LOCKED")));
    let user = user_with(&location, home.path(), settings(&[M::Fcntl], Duration::from_millis(300)));
    assert!(save_msg(&user, "INBOX", MSG, None).unwrap_err().is_temporary());
    let user = user_with(&location, home.path(), settings(&[M::Fcntl], secs(20)));
    save_msg(&user, "INBOX", MSG, None).unwrap();
    assert!(holder.wait().unwrap().success());
    assert_eq!(parse_mbox(&inbox(home.path())).len(), 2);
}

/// Child: saves a 40 KB message into `LB_MBOX_HOME`'s INBOX and prints the outcome.
#[test]
fn child_big_save() {
    let Ok(home) = std::env::var("LB_MBOX_BIG") else { return };
    let user = user("mbox:~/mail:INBOX=~/inbox", Path::new(&home));
    let msg = format!("Subject: big\n\n{}", "0123456789\n".repeat(4000));
    match save_msg(&user, "INBOX", msg.as_bytes(), None) {
        Ok(_) => println!("RESULT ok"),
        Err(e) => println!("RESULT {:?} {}", e.kind, e),
    }
}

#[test]
fn a_write_failing_half_way_is_cut_back() {
    // RLIMIT_FSIZE of 8 blocks (4 KiB in sh's 512-byte units): the append fails with EFBIG
    // part-way, like a full disk. SIGXFSZ is ignored so the write returns an error.
    let (home, _) = home_with_inbox();
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\""])
        .arg(exe)
        .args(["--exact", "child_big_save", "--test-threads=1", "--nocapture"])
        .env("LB_MBOX_BIG", home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = stdout.lines().find_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_owned()));
    let result = result.unwrap_or_else(|| panic!("no result: {stdout}"));
    assert!(result.starts_with("Temp"), "{result}");
    assert!(result.contains("File too large"), "{result}");
    assert_eq!(inbox(home.path()), EXISTING);
    assert!(!home.path().join("inbox.lock").exists());
}

fn message(id: usize) -> Vec<u8> {
    let mut msg = format!("Subject: msg {id}\nMessage-ID: <{id}@test>\n\n").into_bytes();
    for line in 0..2000 {
        msg.extend_from_slice(format!("message {id} line {line}\n").as_bytes());
    }
    msg
}

/// Child: saves `message(LB_MBOX_ID)` into `LB_MBOX_CONC`'s INBOX.
#[test]
fn child_concurrent_save() {
    let Ok(home) = std::env::var("LB_MBOX_CONC") else { return };
    let id: usize = std::env::var("LB_MBOX_ID").unwrap().parse().unwrap();
    let user = user("mbox:~/mail:INBOX=~/inbox", Path::new(&home));
    save_msg(&user, "INBOX", &message(id), Some(&format!("s{id}@x"))).unwrap();
}

#[test]
fn twenty_threads_and_twenty_processes_append_without_interleaving() {
    let (home, location) = home_with_inbox();
    let children: Vec<_> = (100..120)
        .map(|id| {
            child("child_concurrent_save", false)
                .env("LB_MBOX_CONC", home.path())
                .env("LB_MBOX_ID", id.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let user = user(&location, home.path());
    std::thread::scope(|scope| {
        for id in 0..20 {
            let user = &user;
            scope.spawn(move || {
                save_msg(user, "INBOX", &message(id), Some(&format!("s{id}@x"))).unwrap();
            });
        }
    });
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let parsed = parse_mbox(&inbox(home.path()));
    assert_eq!(parsed.len(), 41);
    let mut ids: Vec<usize> = Vec::new();
    for mail in &parsed[1..] {
        let id: usize =
            mail.header.lines().next().unwrap()["Subject: msg ".len()..].parse().unwrap();
        let full = message(id);
        let body_start = full.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
        assert_eq!(mail.body, &full[body_start..], "message {id}");
        assert!(mail.from_line.starts_with(&format!("From s{id}@x  ")));
        ids.push(id);
    }
    ids.sort();
    assert_eq!(ids, (0..20).chain(100..120).collect::<Vec<_>>());
    assert!(!home.path().join("inbox.lock").exists());
}

/// Bytes this thread has read through read()/pread() so far.
fn thread_rchar() -> u64 {
    let io = fs::read_to_string("/proc/thread-self/io").unwrap();
    io.lines().find_map(|l| l.strip_prefix("rchar: ")).unwrap().trim().parse().unwrap()
}

#[test]
fn appending_to_a_200_mb_mbox_reads_only_its_ends() {
    let (home, location) = home_with_inbox();
    let path = home.path().join("inbox");
    // 200 MB: the first message's body is a long sparse run, then one more message.
    let file = File::options().write(true).open(&path).unwrap();
    file.set_len(200 << 20).unwrap();
    drop(file);
    let user = user(&location, home.path());
    let mailbox = user.open_mailbox("INBOX", &OpenOptions::default()).unwrap();
    mailbox.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap();
    let before = thread_rchar();
    let started = Instant::now();
    mailbox.save(MessageSource::Bytes(MSG), &SaveOptions::default()).unwrap();
    let elapsed = started.elapsed();
    let read = thread_rchar() - before;
    // 5 bytes of head, 1 byte of tail, plus /proc and lock-file reads: far below 200 MB.
    assert!(read < 64 * 1024, "read {read} bytes");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    let size = fs::metadata(&path).unwrap().len();
    assert!(size > 200 << 20);
    let mut tail = vec![0u8; 200];
    std::os::unix::fs::FileExt::read_exact_at(&File::open(&path).unwrap(), &mut tail, size - 200)
        .unwrap();
    assert!(tail.ends_with(b"Content-Length: 5\n\nbody\n\n"));
}

#[test]
fn error_kinds_for_missing_mailboxes() {
    let (home, location) = home_with_inbox();
    let user = user(&location, home.path());
    let err = user.open_mailbox("Nope", &OpenOptions::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}
