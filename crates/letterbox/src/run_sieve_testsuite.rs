//! `letterbox sieve-testsuite FILE.svtest...`: Pigeonhole's conformance runner (issue 3 point
//! 6). Like Pigeonhole's own `testsuite` tool it is run from the suite's root with paths
//! relative to it; each file runs on its own from a fresh state, a panic in one is counted as
//! that file's failure and the others still run. Prints Pigeonhole's per-block lines, one
//! verdict line per file and, last, `N passed, M failed` (files); exit 0 only when every file
//! passed.

use crate::exit_status::ExitCode;
use std::io::Write as _;

use crate::exit_status::ExitStatus;

/// Runs every file given; see the module documentation.
pub fn run(args: &[String]) -> ExitCode {
    if args.is_empty() || args.iter().any(|a| a.starts_with('-')) {
        eprintln!("Usage: letterbox sieve-testsuite <file.svtest>...");
        return ExitStatus::Usage.into();
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    let stdout = std::io::stdout();
    for path in args {
        let outcome = std::panic::catch_unwind(|| sieve_testsuite::run_file(path));
        let mut out = stdout.lock();
        let verdict = match outcome {
            Ok(report) => {
                let _ = out.write_all(report.output.as_bytes());
                eprint!("{}", report.errors);
                if report.passed() {
                    format!("PASS {path}")
                } else {
                    format!(
                        "FAIL {path} ({} of {} tests failed)",
                        report.failures, report.tests_started
                    )
                }
            }
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "unknown panic".to_owned());
                format!("FAIL {path} (panic: {why})")
            }
        };
        if verdict.starts_with("PASS") {
            passed += 1;
        } else {
            failed += 1;
        }
        let _ = writeln!(out, "{verdict}");
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
