//! What the host tells the interpreter: the envelope, and the answers to the questions a
//! script may ask while it runs (taken from Pigeonhole's script environment).

/// The SMTP envelope of the delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// Envelope sender; `None` = null sender `<>`.
    pub from: Option<String>,
    /// Final recipient.
    pub to: String,
    /// Original recipient (`-a`), if different.
    pub orig_to: Option<String>,
    /// Authenticated user (`envelope "auth"`).
    pub auth: Option<String>,
}

/// A failure of the host while answering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HostError {
    /// True for temporary failures (the delivery should be retried).
    pub temporary: bool,
    /// What went wrong.
    pub message: String,
}

/// The current time as the `date`/`currentdate` tests see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Seconds since the Unix epoch.
    pub unix: i64,
    /// Local zone offset in minutes east of UTC.
    pub offset_minutes: i32,
}

/// The `name` and `version` items of the `environment` extension (RFC 5183): scripts see the
/// implementation we stand in for, Pigeonhole 0.5.19, whatever the host. Other items are the
/// host's to answer.
pub fn implementation_item(name: &str) -> Option<String> {
    match name {
        "name" => Some("Pigeonhole Sieve".into()),
        "version" => Some("0.5.19".into()),
        _ => None,
    }
}

/// Questions the host answers during a run. Every method has a conservative default so a
/// host implements only what it supports.
pub trait ScriptEnvironment {
    /// Whether the mailbox exists (`mailboxexists`).
    fn mailbox_exists(&mut self, _name: &str) -> Result<bool, HostError> {
        Ok(false)
    }

    /// Whether `id` was already tracked by `duplicate` within its period. The interpreter
    /// reports ids to track in [`crate::SieveResult::duplicate_marks`].
    fn duplicate_seen(&mut self, _id: &str) -> Result<bool, HostError> {
        Ok(false)
    }

    /// An `environment` item (`domain`, `host`, `location`, `name`, `phase`, `version`, ...).
    fn environment_item(&mut self, name: &str) -> Option<String> {
        implementation_item(name).or(match name {
            "location" => Some("MDA".into()),
            "phase" => Some("during".into()),
            _ => None,
        })
    }

    /// The current time.
    fn now(&mut self) -> Now {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Now { unix, offset_minutes: 0 }
    }

    /// `spamtest`/`virustest` value as the settings define it (`"0"`..`"10"`, or a percentage
    /// with `:percent`); `None` = no score available (the test then sees `"0"`). Hosts compute
    /// it with [`crate::scores::compute_score`] from their `sieve_spamtest_*` settings.
    fn score(&mut self, _virus: bool, _percent: bool) -> Option<String> {
        None
    }

    /// Value of a host namespace variable (e.g. `tst.path`).
    fn host_variable(&mut self, _name: &str) -> Option<String> {
        None
    }

    /// `recipient_delimiter` characters for the subaddress extension.
    fn subaddress_delimiter(&self) -> String {
        "+".into()
    }

    /// Mailbox of `keep` / the implicit keep.
    fn default_mailbox(&self) -> String {
        "INBOX".into()
    }

    /// Whether a mailbox (`None` = any mailbox) carries all these special-use flags.
    fn special_use_exists(
        &mut self,
        _mailbox: Option<&str>,
        _flags: &[String],
    ) -> Result<bool, HostError> {
        Ok(false)
    }

    /// An IMAP METADATA annotation of `mailbox` (`None` = server annotation).
    fn metadata(
        &mut self,
        _mailbox: Option<&str>,
        _annotation: &str,
    ) -> Result<Option<String>, HostError> {
        Ok(None)
    }

    /// A `debug_log` message (vnd.dovecot.debug); ignored by default.
    fn debug_log(&mut self, _message: &str) {}

    /// A run-time error that does not stop the script (Pigeonhole logs it and goes on, e.g. an
    /// invalid `:regex` built from variables, which then simply does not match).
    fn runtime_error(&mut self, _message: &str) {}

    /// The host itself, so host-provided commands (e.g. the testsuite's) can reach its state
    /// by downcasting.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
}

/// An environment answering with the defaults only (for tests and dry runs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullEnvironment;

impl ScriptEnvironment for NullEnvironment {}
