//! The process entry point: the C `main` that glibc calls, in place of Rust's runtime start-up.
//!
//! An MTA starts one `letterbox deliver` per message, so start-up is a large share of a
//! delivery. Rust's standard start-up reads `/proc/self/maps` (through
//! `pthread_getattr_np`) to place a guard page for the main thread's stack-overflow message,
//! and installs SIGSEGV/SIGBUS handlers with an alternate stack: ~15 system calls and page
//! faults per start (about 0.07 ms here, ~2.5 % of a delivery; docs/architecture.md,
//! "Start-up"). This module starts the process without them and keeps the two things of that
//! start-up letterbox needs:
//! - file descriptors 0, 1 and 2 are open (on `/dev/null` if the caller closed them), so no
//!   file we open can become "stderr" and receive log lines;
//! - SIGPIPE does not kill us: a vanished reader (sendmail, an LMTP client) is an `EPIPE`
//!   error. It is blocked rather than ignored, which needs no signal handler call; children
//!   start with the default mask and disposition (`std::process::Command` resets both).
//!
//! A stack overflow now ends in a plain SIGSEGV instead of an "overflowed its stack" line:
//! either way the process dies, which no code path expects.
//!
//! This is the workspace's only `unsafe`-lint exception: exporting an unmangled `main` is
//! something the compiler cannot check (one symbol of that name must exist, and it is this
//! one). No `unsafe` block is involved.
#![allow(unsafe_code)]

use std::fs::OpenOptions;
use std::os::fd::AsFd;
use std::os::raw::{c_char, c_int};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};

/// Called by glibc's start code with the program's arguments (which `std::env::args` reads
/// on its own); exits with the status [`crate::run`] chose (`process::exit` flushes stdout).
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    prepare_process();
    std::process::exit(i32::from(crate::run().0))
}

/// What letterbox needs of the standard start-up (see the module documentation).
fn prepare_process() {
    open_standard_fds();
    let mut pipe = SigSet::empty();
    pipe.add(Signal::SIGPIPE);
    // Cannot fail with a valid `how`; if it did, SIGPIPE would merely keep its default.
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&pipe), None);
}

/// Reopens each closed descriptor among 0, 1, 2 on `/dev/null` (in order, so each open gets
/// the lowest free number: the closed one).
fn open_standard_fds() {
    let closed = [
        fcntl(std::io::stdin().as_fd(), FcntlArg::F_GETFD).is_err(),
        fcntl(std::io::stdout().as_fd(), FcntlArg::F_GETFD).is_err(),
        fcntl(std::io::stderr().as_fd(), FcntlArg::F_GETFD).is_err(),
    ];
    for _ in closed.iter().filter(|&&c| c) {
        match OpenOptions::new().read(true).write(true).open("/dev/null") {
            Ok(null) => {
                // A standard descriptor is inherited by children (sendmail): no close-on-exec.
                let _ = fcntl(null.as_fd(), FcntlArg::F_SETFD(FdFlag::empty()));
                // Kept open for the life of the process: it is the standard descriptor now.
                std::mem::forget(null);
            }
            Err(_) => return,
        }
    }
}
