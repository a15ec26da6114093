//! Delivery with Sieve: run the script sequence, execute its actions, fall back as Pigeonhole
//! does (sieve-behaviour.md §2.4, §4, §7, §9).
//!
//! Each script of the sequence is compiled and run against the message as earlier scripts left
//! it (editheader); its actions are started (mailboxes opened, created with `:create` or
//! `lda_mailbox_autocreate`) and then committed: stores first, then what is sent. The next
//! script runs only while the implicit keep is in effect. A compile or run-time error, or a
//! failing action, ends the sequence with the implicit (failure) keep into the default mailbox.
//! Temporary failures make the delivery tempfail. `keep` is deferred to the end of the sequence,
//! so a later script that cancels the implicit keep also cancels an earlier `keep`.

mod compile;
mod execute;
mod flags;
mod host;
mod outgoing;
pub mod script_cache;
mod sending;

use std::collections::BTreeMap;

use duplicate_db::DuplicateDb;
use mail_storage::{MailUser, SavedMail};
use sieve::{ErrorClass, MessageView, SieveResult};
use sieve_scripts::{Role, ScriptRef, ScriptSequence, UserLog};

pub use compile::limits_from;
pub use flags::save_options;
pub use outgoing::{Outgoing, SendFailure, SendOutcome};
pub use sending::{MailOutgoing, REDIRECT_DUPLICATE_PERIOD};

use crate::deliver::{DeliveryError, DeliveryLog, DeliveryRequest};
use compile::{CompileFailure, compile_script};
use execute::Executor;
use host::DeliveryHost;

/// The Sieve-specific inputs of a delivery.
pub struct SieveRequest<'a> {
    /// The scripts to run.
    pub sequence: &'a ScriptSequence,
    /// `plugin { }` settings (extensions, limits).
    pub plugin: &'a BTreeMap<String, String>,
    /// The envelope as scripts see it.
    pub envelope: sieve::Envelope,
    /// `hostname` setting.
    pub hostname: &'a str,
    /// `recipient_delimiter`.
    pub delimiter: &'a str,
    /// The duplicate database, when it could be opened.
    pub dupes: Option<&'a DuplicateDb>,
    /// Sends redirects, vacation replies and rejections.
    pub outgoing: &'a mut dyn Outgoing,
    /// `-e`: a reject is reported to the caller instead of mailed.
    pub reject_to_stderr: bool,
}

/// What the Sieve run did.
#[derive(Debug, Default)]
pub struct SieveOutcome {
    /// Stores that were committed.
    pub saved: Vec<(String, SavedMail)>,
    /// The reject reason, when a `reject` ran (mailed, or for `-e` to be printed).
    pub rejected: Option<String>,
    /// True when the message was deliberately not stored (discard, reject, redirect).
    pub dropped: bool,
    /// True when the implicit keep had to be done but failed: the LDA delivers itself.
    pub keep_failed: bool,
}

impl SieveOutcome {
    /// True when the LDA must not do its own default delivery.
    pub fn handled(&self) -> bool {
        !self.keep_failed && (!self.saved.is_empty() || self.dropped || self.rejected.is_some())
    }
}

/// Where a sequence ended.
enum End {
    /// All scripts ran; keep state as they left it.
    Completed,
    /// A script failed: failure keep.
    Failed,
}

/// Run the user's Sieve sequence and execute the result.
pub fn deliver_with_sieve(
    user: &MailUser,
    req: &DeliveryRequest<'_>,
    sreq: &mut SieveRequest<'_>,
    log: &mut dyn DeliveryLog,
) -> Result<SieveOutcome, DeliveryError> {
    let original = req.message.bytes().map_err(DeliveryError::Log)?;
    let mut user_log = UserLog::new(&sreq.sequence.user_log);
    let mut exec = Executor::new(user, req, MessageView::parse(&original));
    let scripts: Vec<&ScriptRef> = sreq
        .sequence
        .before
        .iter()
        .chain(sreq.sequence.main.iter())
        .chain(sreq.sequence.after.iter())
        .collect();
    let end = run_scripts(&scripts, &mut exec, sreq, &mut user_log, log)?;
    if matches!(end, End::Completed)
        && !exec.keep_in_effect
        && exec.outcome.saved.is_empty()
        && exec.outcome.rejected.is_none()
        && let Some(discard) = &sreq.sequence.discard
    {
        run_scripts(&[discard], &mut exec, sreq, &mut user_log, log)?;
    }
    let failed = matches!(end, End::Failed);
    if failed || exec.keep_in_effect {
        exec.implicit_keep(log)?;
    } else if exec.outcome.saved.is_empty() {
        exec.outcome.dropped = true;
    }
    exec.mark_duplicates(sreq.dupes);
    if let Err(e) = user_log.flush(chrono::Local::now().fixed_offset()) {
        log.error(&format!("sieve: Failed to write user log {}: {e}", user_log.path().display()))?;
    }
    Ok(exec.outcome)
}

fn run_scripts(
    scripts: &[&ScriptRef],
    exec: &mut Executor<'_>,
    sreq: &mut SieveRequest<'_>,
    user_log: &mut UserLog,
    log: &mut dyn DeliveryLog,
) -> Result<End, DeliveryError> {
    for script in scripts {
        let Some(result) = run_one(script, exec, sreq, user_log, log)? else {
            return Ok(End::Failed);
        };
        if let Err(failure) = exec.execute(&result, sreq, log)? {
            script_error(script, user_log, log, &failure)?;
            return Ok(End::Failed);
        }
        if !exec.keep_in_effect {
            break;
        }
    }
    Ok(End::Completed)
}

/// Compile and run one script; `None` when it failed (already logged).
fn run_one(
    script: &ScriptRef,
    exec: &mut Executor<'_>,
    sreq: &mut SieveRequest<'_>,
    user_log: &mut UserLog,
    log: &mut dyn DeliveryLog,
) -> Result<Option<SieveResult>, DeliveryError> {
    let seq = sreq.sequence;
    let compiled = match compile_script(
        script,
        sreq.plugin,
        seq.personal_dir.as_deref(),
        seq.global_dir.as_deref(),
        log,
    )? {
        Ok(c) => c,
        Err(failure) => {
            compile_error(script, user_log, log, failure)?;
            return Ok(None);
        }
    };
    for warning in &compiled.warnings {
        diag_line(script, user_log, log, &warning.to_string())?;
    }
    let mut host = DeliveryHost {
        user: exec.user,
        dupes: sreq.dupes,
        hostname: sreq.hostname,
        delimiter: sreq.delimiter,
        default_mailbox: exec.req.default_mailbox,
        errors: Vec::new(),
    };
    let limits = limits_from(sreq.plugin);
    let run = sieve::run(&compiled.script, &exec.view, &sreq.envelope, &mut host, &limits);
    for error in std::mem::take(&mut host.errors) {
        diag_line(script, user_log, log, &format!("{}: {error}", script.name))?;
    }
    match run {
        Ok(result) => Ok(Some(result)),
        Err(e) if e.class == ErrorClass::TempFailure => Err(DeliveryError::Temporary(format!(
            "sieve: Execution of script {} was aborted due to temporary failure: {}",
            script.path.display(),
            e.message
        ))),
        Err(e) => {
            let text = format!("{}: line {}: error: {}", script.name, e.line, e.message);
            diag_line(script, user_log, log, &text)?;
            script_error(script, user_log, log, &e.message).map(|()| None)
        }
    }
}

/// A diagnostic: to the user log for the personal script, to the Dovecot log otherwise.
fn diag_line(
    script: &ScriptRef,
    user_log: &mut UserLog,
    log: &mut dyn DeliveryLog,
    text: &str,
) -> Result<(), DeliveryError> {
    if script.role == Role::Personal {
        user_log.add("", "", text);
        Ok(())
    } else {
        log.error(&format!("sieve: {}", text.trim_end_matches('.'))).map_err(DeliveryError::Log)
    }
}

fn compile_error(
    script: &ScriptRef,
    user_log: &mut UserLog,
    log: &mut dyn DeliveryLog,
    failure: CompileFailure,
) -> Result<(), DeliveryError> {
    match failure {
        CompileFailure::Read(e) => log
            .error(&format!("sieve: Failed to open script {}: {e}", script.path.display()))
            .map_err(DeliveryError::Log),
        CompileFailure::Diagnostics(diags) => {
            for d in diags.errors.iter().chain(diags.warnings.iter()) {
                diag_line(script, user_log, log, &d.to_string())?;
            }
            diag_line(
                script,
                user_log,
                log,
                &format!("{}: error: validation failed.", script.name),
            )?;
            let text = if script.role == Role::Personal {
                format!(
                    "sieve: Failed to compile script `{}' (view user logfile `{}' for more information)",
                    script.path.display(),
                    user_log.path().display()
                )
            } else {
                format!("sieve: Failed to compile script `{}'", script.path.display())
            };
            log.error(&text).map_err(DeliveryError::Log)
        }
    }
}

fn script_error(
    script: &ScriptRef,
    user_log: &mut UserLog,
    log: &mut dyn DeliveryLog,
    message: &str,
) -> Result<(), DeliveryError> {
    if script.role == Role::Personal {
        user_log.add("", "error", message);
    }
    log.error(&format!(
        "sieve: Execution of script {} failed, but implicit keep was successful (user logfile {} may reveal additional details)",
        script.path.display(),
        user_log.path().display()
    ))
    .map_err(DeliveryError::Log)
}
