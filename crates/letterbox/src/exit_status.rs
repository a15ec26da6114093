//! The one mapping from a delivery outcome to a sysexits status (design.md §6.2).
//!
//! Mirrors dovecot/core@2.3.19.1 `src/lda/main.c`: 78 (EX_CONFIG) is never used, configuration
//! and internal errors are 75 so the MTA retries; a panic is caught in `main` and becomes 75 too.

use delivery::FailureClass;

/// The statuses letterbox exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// EX_OK: delivered (or rejected with a rejection mail sent).
    Ok = 0,
    /// EX_USAGE: bad command line, root without `-d`, unusable envelope address.
    Usage = 64,
    /// EX_NOUSER: the userdb does not know the user.
    NoUser = 67,
    /// EX_TEMPFAIL: anything else; the MTA retries, nothing is lost.
    TempFail = 75,
    /// EX_NOPERM: rejected, and `-e` asked for the reason on stderr.
    NoPerm = 77,
}

/// The status a tool ends the process with (std's `ExitCode` cannot be read back as a number,
/// which the C `main` in `entry.rs` must return).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode(pub u8);

impl ExitCode {
    /// 0.
    pub const SUCCESS: ExitCode = ExitCode(0);
}

impl From<u8> for ExitCode {
    fn from(code: u8) -> ExitCode {
        ExitCode(code)
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode(status as u8)
    }
}

/// Exit status for a failed delivery. `reject_to_stderr` is `-e`. A rejection without `-e`
/// means a rejection mail must be sent; the caller maps a successful send to [`ExitStatus::Ok`]
/// and only reaches here when it could not send one.
pub fn exit_status(class: FailureClass, reject_to_stderr: bool) -> ExitStatus {
    match class {
        FailureClass::Usage => ExitStatus::Usage,
        FailureClass::UnknownUser => ExitStatus::NoUser,
        FailureClass::Rejected | FailureClass::OverQuota if reject_to_stderr => ExitStatus::NoPerm,
        FailureClass::Rejected
        | FailureClass::OverQuota
        | FailureClass::Temporary
        | FailureClass::Internal => ExitStatus::TempFail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        use FailureClass::*;
        let cases = [
            (Usage, false, 64),
            (UnknownUser, false, 67),
            (UnknownUser, true, 67),
            (Temporary, false, 75),
            (Temporary, true, 75),
            (Internal, true, 75),
            (OverQuota, false, 75),
            (OverQuota, true, 77),
            (Rejected, true, 77),
            (Rejected, false, 75),
        ];
        for (class, e, code) in cases {
            assert_eq!(exit_status(class, e) as u8, code, "{class:?} -e={e}");
        }
    }
}
