//! letterbox: a memory-safe drop-in replacement for Dovecot's LDA, as one multi-call binary.
//!
//! `letterbox deliver …` (also when started as `deliver` or `dovecot-lda`) behaves as
//! dovecot-lda 2.3. Later subcommands: `lmtp`, `sievec`, `sieve-test`, `sieve-testsuite`.
//! Nothing else in the workspace prints or exits: this crate maps outcomes to exit statuses in
//! one place (`exit_status.rs`) and turns a panic into EX_TEMPFAIL so the MTA retries. The
//! process starts in `entry.rs` (a C `main`, without Rust's standard start-up).
// Test builds get the test harness's `main`.
#![cfg_attr(not(test), no_main)]

mod cli;
#[cfg(not(test))]
mod entry;
mod exit_status;
mod identity;
mod logging;
mod privileges;
mod run_deliver;
mod run_lmtp;
mod run_sieve_testsuite;
mod run_sieve_tools;

use crate::exit_status::ExitCode;

use exit_status::ExitStatus;

/// The whole process: the tool's exit status; a panic becomes EX_TEMPFAIL.
// Unit-test builds have the harness's `main` instead of `entry`'s, which calls this.
#[cfg_attr(test, allow(dead_code))]
fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args.first().cloned().unwrap_or_else(|| "letterbox".into());
    match std::panic::catch_unwind(|| dispatch(&argv0, &args[1.min(args.len())..])) {
        Ok(code) => code,
        Err(_) => {
            eprintln!(
                "lda: Panic: internal error; the message was not delivered and will be retried"
            );
            ExitStatus::TempFail.into()
        }
    }
}

/// Pick the tool by program name, then by subcommand.
fn dispatch(argv0: &str, args: &[String]) -> ExitCode {
    let name = std::path::Path::new(argv0).file_name().and_then(|n| n.to_str()).unwrap_or("");
    if matches!(name, "deliver" | "dovecot-lda") {
        return run_deliver::run(argv0, args).into();
    }
    match args.first().map(String::as_str) {
        Some("deliver" | "dovecot-lda") => run_deliver::run(argv0, &args[1..]).into(),
        Some("lmtp") => run_lmtp::run(&args[1..]).into(),
        Some("sievec") => run_sieve_tools::run_sievec(&args[1..]),
        Some("sieve-test") => run_sieve_tools::run_sieve_test(&args[1..]),
        Some("sieve-testsuite") => run_sieve_testsuite::run(&args[1..]),
        Some("--version" | "-V") => {
            println!("letterbox {}", env!("CARGO_PKG_VERSION"));
            ExitStatus::Ok.into()
        }
        _ => {
            eprintln!(
                "Usage: letterbox deliver [dovecot-lda options]\n       letterbox lmtp [--listen ADDR]...\n       letterbox sievec SCRIPT...\n       letterbox sieve-test SCRIPT MESSAGE\n       letterbox --version"
            );
            ExitStatus::Usage.into()
        }
    }
}
