//! The host side of Pigeonhole's conformance suite: runs one `.svtest` test case (a Sieve script
//! requiring `vnd.dovecot.testsuite`) against letterbox's `sieve` crate and reports its test
//! blocks the way Pigeonhole 0.5.19's `testsuite` tool does (spec
//! `shared/spec/sieve-testsuite.md`).
//!
//! The runner owns what a test case manipulates: the message and envelope under test, a private
//! settings table mapped onto [`sieve::ExtensionConfig`] / [`sieve::Limits`], an in-memory mail
//! store, the captured outgoing mail, the captured error log for `test_error`, and the
//! compiled-sub-script slot. Paths are relative to the working directory, as upstream: the
//! caller runs it from the suite's root. Nothing is written anywhere (the suite stays
//! read-only). It deliberately does not implement the extprograms plugin (`-P`) nor the
//! expected-failure mode (`-F`), and never prints: the output is returned in [`FileReport`].

mod address;
mod execute;
mod handler;
mod host;
mod spam;
mod store;

use std::sync::Arc;

use sieve::extensions::testsuite::Testsuite;
use sieve::{MessageView, Script};

pub use host::{INITIAL_MESSAGE, MAIL_USER};

use crate::host::{Host, derive_envelope};

/// The outcome of one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Path as given.
    pub path: String,
    /// Test blocks started.
    pub tests_started: u32,
    /// Failed blocks plus test-case failures (compile failure, abort).
    pub failures: u32,
    /// What Pigeonhole's tool prints on stdout for this file.
    pub output: String,
    /// What it prints on stderr (compile errors of the test case itself).
    pub errors: String,
}

impl FileReport {
    /// True when no test block failed and the file ran to its end (or to a `stop`).
    pub fn passed(&self) -> bool {
        self.failures == 0
    }
}

/// Compiles sub-script `path` (relative to the test case's directory) into the captured log.
pub(crate) fn compile_sub(h: &mut Host, path: &str) -> Option<Script> {
    h.clear_log();
    let full = format!("{}{path}", h.dir);
    let source = match std::fs::read(&full) {
        Ok(s) => String::from_utf8_lossy(&s).into_owned(),
        Err(e) => {
            h.errors.push(format!("failed to open sieve script {full}: {e}"));
            return None;
        }
    };
    let file = path.rsplit('/').next().unwrap_or(path);
    let name = file.strip_suffix(".sieve").unwrap_or(file);
    match sieve::compile(&source, name, &h.compile_options()) {
        Ok(c) => {
            h.warnings.extend(c.warnings.into_iter().map(|w| w.message));
            Some(c.script)
        }
        Err(d) => {
            h.errors.extend(d.errors.into_iter().map(|e| e.message));
            h.warnings.extend(d.warnings.into_iter().map(|w| w.message));
            None
        }
    }
}

/// Runs the test case at `path` (relative to the working directory) from a fresh state.
pub fn run_file(path: &str) -> FileReport {
    let testsuite = Arc::new(Testsuite::new(Arc::new(handler::Handler)));
    let mut h = Host::new(path, testsuite);
    let mut report = FileReport {
        path: path.to_owned(),
        tests_started: 0,
        failures: 0,
        output: format!("Test case: {path}:\n\n"),
        errors: String::new(),
    };
    match std::fs::read(path) {
        Ok(bytes) => run_case(&mut h, path, &String::from_utf8_lossy(&bytes), &mut report),
        Err(e) => {
            report.errors.push_str(&format!("{path}: {e}\n"));
            h.failures += 1;
            h.out.push_str("XX: Test CASE FAILED: failed to compile testcase script\n");
        }
    }
    report.output.push_str(&h.out);
    report.tests_started = h.tests_started;
    report.failures = h.failures;
    report.output.push('\n');
    if h.failures == 0 {
        report.output.push_str(&format!("PASS: {} tests succeeded.\n\n", h.tests_started));
    } else {
        report
            .output
            .push_str(&format!("FAIL: {} of {} tests failed.\n\n", h.failures, h.tests_started));
    }
    report
}

fn run_case(h: &mut Host, path: &str, source: &str, report: &mut FileReport) {
    let file = path.rsplit('/').next().unwrap_or(path);
    let name = file.strip_suffix(".svtest").unwrap_or(file);
    let compiled = match sieve::compile(source, name, &h.compile_options()) {
        Ok(c) => c,
        Err(d) => {
            for e in &d.errors {
                report.errors.push_str(&format!("{e}\n"));
            }
            h.failures += 1;
            h.out.push_str("XX: Test CASE FAILED: failed to compile testcase script\n");
            return;
        }
    };
    h.warnings.extend(compiled.warnings.into_iter().map(|w| w.message));
    let message = MessageView::parse(INITIAL_MESSAGE.as_bytes());
    let envelope = derive_envelope(&message);
    let limits = h.limits.clone();
    let outcome = sieve::run(&compiled.script, &message, &envelope, h, &limits);
    if let Err(e) = outcome {
        report.errors.push_str(&format!("{name}: line {}: error: {}.\n", e.line, e.message));
        h.failures += 1;
        let why = match e.class {
            sieve::ErrorClass::ResourceLimit => "resource limit exceeded",
            _ => "test script execution aborted due to error",
        };
        h.out.push_str(&format!("XX: Test CASE FAILED: {why}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_source(dir: &std::path::Path, name: &str, text: &str) -> FileReport {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write test case");
        run_file(&p.to_string_lossy())
    }

    #[test]
    fn blocks_pass_and_fail_with_pigeonhole_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = run_source(
            dir.path(),
            "a.svtest",
            r#"require ["vnd.dovecot.testsuite", "envelope"];
            test "ok" { if not header :is "subject" "Frop!" { test_fail "wrong"; } }
            test "bad" { test_fail "because"; test_fail "never"; }
            test "" { if envelope :is "from" "x" { test_fail "no"; } }
            "#,
        );
        assert_eq!(r.tests_started, 3);
        assert_eq!(r.failures, 1);
        assert!(r.output.contains(" 1: Test 'ok' SUCCEEDED\n"), "{}", r.output);
        assert!(r.output.contains(" 2: Test 'bad' FAILED: because\n"), "{}", r.output);
        assert!(r.output.ends_with("\nFAIL: 1 of 3 tests failed.\n\n"), "{}", r.output);
        assert!(!r.passed());
    }

    #[test]
    fn sub_scripts_store_and_smtp() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("sub.sieve"),
            "require \"fileinto\"; fileinto \"A\"; redirect \"x@example.net\";",
        )
        .expect("write sub-script");
        let r = run_source(
            dir.path(),
            "b.svtest",
            r#"require ["vnd.dovecot.testsuite", "relational", "comparator-i;ascii-numeric"];
            test "run" {
              test_mailbox_create "A";
              if not test_script_compile "sub.sieve" { test_fail "compile"; }
              if not test_script_run { test_fail "run"; }
              if not test_result_action :count "eq" :comparator "i;ascii-numeric" "2" { test_fail "count"; }
              if not test_result_execute { test_fail "execute"; }
              if not test_message :folder "A" 0 { test_fail "stored"; }
              test_message :smtp 0;
              if not header :contains "x-sieve-redirected-from" "recipient@example.org" { test_fail "redirect"; }
              if test_message :smtp 1 { test_fail "only one"; }
            }
            test "errors" {
              if test_script_compile "missing.sieve" { test_fail "should fail"; }
              if not test_error :count "eq" :comparator "i;ascii-numeric" "1" { test_fail "one error"; }
            }
            "#,
        );
        assert!(r.passed(), "{}\n{}", r.output, r.errors);
        assert_eq!(r.tests_started, 2);
    }

    #[test]
    fn compile_failure_of_the_case_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = run_source(dir.path(), "c.svtest", "require \"vnd.dovecot.testsuite\"; test {");
        assert_eq!(r.failures, 1);
        assert!(r.output.contains("XX: Test CASE FAILED: failed to compile testcase script"));
        assert!(!r.errors.is_empty());
    }
}
