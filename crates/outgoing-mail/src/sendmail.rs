//! Submitting a mail through `sendmail_path`, as dovecot/core@2.3.19.1
//! `src/lib-smtp/smtp-submit.c` does when `submission_host` is empty.
//!
//! Observed with Dovecot 2.3.19: `sendmail_path = /path -oi` runs `/path -oi -i -f <sender> --
//! <rcpt>...` (the null sender is the literal `<>`) with the message on stdin and an *empty*
//! environment (not even `TZ`, `USER` or `HOME` reach it, whatever the LDA had; its working
//! directory is the LDA's, i.e. the user's home). Exit 0 is success and *every* other outcome
//! (non-zero exit including 64 or 69, death by signal, exec failure, broken stdin pipe,
//! timeout) is a temporary failure. On timeout (`submission_timeout`) the child gets SIGTERM.
//! Unlike Dovecot, which lets the child write to its own stderr, we capture the child's stderr
//! into the error so the caller can log it; stdout is discarded.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Dovecot's default `submission_timeout`.
pub const DEFAULT_SUBMISSION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long we wait for a child to die after SIGTERM before sending SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// At most this much of the child's stderr is kept in an error.
const STDERR_LIMIT: usize = 4096;

/// A failed submission. Every variant is temporary, as in Dovecot (the LDA tempfails the
/// delivery); [`SendError::is_temporary`] exists so an SMTP transport can add permanent ones.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// `sendmail_path` is empty.
    #[error("sendmail_path is empty")]
    EmptyPath,
    /// The program could not be started (missing, not executable, ...).
    #[error("failed to execute sendmail program {program}: {source}")]
    Spawn {
        /// The program path.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing the message to the program's stdin or reading its stderr failed.
    #[error("I/O with sendmail program {program} failed: {source}; stderr: {stderr}")]
    Io {
        /// The program path.
        program: String,
        /// The OS error.
        source: std::io::Error,
        /// What the program wrote to stderr.
        stderr: String,
    },
    /// The program exited with a non-zero status.
    #[error(
        "sendmail program {program} terminated with non-zero exit code {code}; stderr: {stderr}"
    )]
    NonZeroExit {
        /// The program path.
        program: String,
        /// Its exit status.
        code: i32,
        /// What the program wrote to stderr.
        stderr: String,
    },
    /// The program was killed by a signal it did not get from us.
    #[error(
        "sendmail program {program} terminated abnormally with signal {signal}; stderr: {stderr}"
    )]
    Signaled {
        /// The program path.
        program: String,
        /// The signal number.
        signal: i32,
        /// What the program wrote to stderr.
        stderr: String,
    },
    /// The program did not finish within the timeout and was terminated.
    #[error("sendmail program {program} timed out after {timeout:?} and was terminated")]
    Timeout {
        /// The program path.
        program: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// `submission_host` is set: the SMTP client is not implemented yet.
    #[error("submission_host {host} is not supported yet (only sendmail_path)")]
    SubmissionHostNotSupported {
        /// The configured host.
        host: String,
    },
}

impl SendError {
    /// Whether the failure is temporary (the delivery should be retried). Always true for the
    /// sendmail transport, as in Dovecot.
    pub fn is_temporary(&self) -> bool {
        true
    }

    /// The short text Dovecot puts into its `Temporarily failed to send rejection: <text>` log
    /// line: `Sendmail program returned error` for an exit status (exec failure included, since
    /// Dovecot's child exits 75 then), else `Failed to execute sendmail`.
    pub fn dovecot_reason(&self) -> &'static str {
        match self {
            SendError::NonZeroExit { .. } | SendError::Spawn { .. } => {
                "Sendmail program returned error"
            }
            SendError::SubmissionHostNotSupported { .. } => "submission_host is not supported",
            _ => "Failed to execute sendmail",
        }
    }
}

/// The sendmail transport: the `sendmail_path` command line, the environment the child gets,
/// and the submission timeout.
#[derive(Debug, Clone)]
pub struct Sendmail {
    /// `sendmail_path`: the program followed by leading arguments, separated by spaces.
    pub path: String,
    /// The child's complete environment; empty to do exactly what Dovecot does.
    pub env: Vec<(String, String)>,
    /// `submission_timeout`.
    pub timeout: Duration,
}

impl Sendmail {
    /// A transport for `path` with an empty environment and Dovecot's default timeout.
    pub fn new(path: impl Into<String>) -> Self {
        Sendmail { path: path.into(), env: Vec::new(), timeout: DEFAULT_SUBMISSION_TIMEOUT }
    }

    /// The transport for the LDA settings: `sendmail_path` when `submission_host` is empty,
    /// else [`SendError::SubmissionHostNotSupported`] (the SMTP client is not implemented).
    pub fn from_settings(
        sendmail_path: &str,
        submission_host: &str,
        env: Vec<(String, String)>,
        timeout: Duration,
    ) -> Result<Self, SendError> {
        if !submission_host.trim().is_empty() {
            return Err(SendError::SubmissionHostNotSupported { host: submission_host.to_owned() });
        }
        Ok(Sendmail { path: sendmail_path.to_owned(), env, timeout })
    }

    /// The argv Dovecot uses: `sendmail_path` words, `-i`, `-f`, the sender (`<>` when null),
    /// `--`, the recipients.
    pub fn argv(&self, envelope_from: Option<&str>, recipients: &[String]) -> Vec<String> {
        let mut argv: Vec<String> =
            self.path.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect();
        argv.push("-i".into());
        argv.push("-f".into());
        argv.push(envelope_from.filter(|s| !s.is_empty()).unwrap_or("<>").to_owned());
        argv.push("--".into());
        argv.extend(recipients.iter().cloned());
        argv
    }

    /// Runs the program with `message` on stdin and waits (bounded by `timeout`) for it.
    pub fn send(
        &self,
        envelope_from: Option<&str>,
        recipients: &[String],
        message: &[u8],
    ) -> Result<(), SendError> {
        let argv = self.argv(envelope_from, recipients);
        let Some((program, args)) = argv.split_first() else {
            return Err(SendError::EmptyPath);
        };
        if program == "-i" {
            return Err(SendError::EmptyPath);
        }
        let mut child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SendError::Spawn { program: program.clone(), source })?;
        let deadline = Instant::now() + self.timeout;
        // Reader and writer run in their own threads so a child that never reads, or a
        // grandchild keeping a pipe open, cannot block us past the deadline.
        let (err_tx, err_rx) = mpsc::channel();
        if let Some(mut err) = child.stderr.take() {
            thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = err.by_ref().take(STDERR_LIMIT as u64).read_to_end(&mut buf);
                let _ = std::io::copy(&mut err, &mut std::io::sink());
                let _ = err_tx.send(String::from_utf8_lossy(&buf).trim_end().to_owned());
            });
        }
        let (in_tx, in_rx) = mpsc::channel();
        if let Some(stdin) = child.stdin.take() {
            let message = message.to_vec();
            thread::spawn(move || {
                let _ = in_tx.send(write_stdin(stdin, &message));
            });
        }
        let program = program.clone();
        let Some(status) = wait_with_deadline(&mut child, deadline) else {
            return Err(SendError::Timeout { program, timeout: self.timeout });
        };
        let write_result = in_rx.recv_timeout(KILL_GRACE).unwrap_or(Ok(()));
        let stderr = err_rx.recv_timeout(KILL_GRACE).unwrap_or_default();
        if let Err(source) = write_result {
            return Err(SendError::Io { program, source, stderr });
        }
        classify(status, program, stderr)
    }
}

fn write_stdin(mut stdin: std::process::ChildStdin, message: &[u8]) -> std::io::Result<()> {
    stdin.write_all(message)?;
    stdin.flush()
}

/// Waits until `deadline`; on expiry sends SIGTERM (as Dovecot), then SIGKILL after a grace
/// period, reaps the child and returns `None`.
fn wait_with_deadline(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            _ => break,
        }
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let grace = Instant::now() + KILL_GRACE;
    while Instant::now() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn classify(status: ExitStatus, program: String, stderr: String) -> Result<(), SendError> {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        return Ok(());
    }
    match (status.code(), status.signal()) {
        (Some(code), _) => Err(SendError::NonZeroExit { program, code, stderr }),
        (None, Some(signal)) => Err(SendError::Signaled { program, signal, stderr }),
        (None, None) => Err(SendError::NonZeroExit { program, code: -1, stderr }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_matches_dovecot() {
        let s = Sendmail::new("/usr/sbin/sendmail -oi");
        let rcpt = vec!["erin@example.com".to_owned()];
        assert_eq!(
            s.argv(None, &rcpt),
            ["/usr/sbin/sendmail", "-oi", "-i", "-f", "<>", "--", "erin@example.com"]
        );
        assert_eq!(s.argv(Some("a@b"), &rcpt)[4], "a@b");
    }

    #[test]
    fn submission_host_is_not_supported_yet() {
        let t = Duration::from_secs(1);
        let s = Sendmail::from_settings("/usr/sbin/sendmail", "", vec![], t);
        assert!(s.is_ok_and(|s| s.path == "/usr/sbin/sendmail" && s.timeout == t));
        let e = Sendmail::from_settings("/usr/sbin/sendmail", "smtp.example.org:25", vec![], t);
        assert!(matches!(e, Err(SendError::SubmissionHostNotSupported { ref host })
            if host == "smtp.example.org:25"));
    }

    #[test]
    fn empty_path_is_an_error() {
        assert!(matches!(Sendmail::new("").send(None, &[], b""), Err(SendError::EmptyPath)));
    }

    #[test]
    fn missing_program_is_temporary_spawn_error() {
        let e = Sendmail::new("/nonexistent/sendmail").send(None, &["a@b".into()], b"x");
        let e = e.err();
        assert!(matches!(e, Some(SendError::Spawn { .. })), "{e:?}");
        assert!(e.is_some_and(
            |e| e.is_temporary() && e.dovecot_reason() == "Sendmail program returned error"
        ));
    }
}
