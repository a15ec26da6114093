//! What Sieve actions send: the delivery core decides *when*, the host (the binary, with the
//! `outgoing-mail` crate) decides *how*.

use sieve::{MessageView, VacationAction};

/// An action that sent something or deliberately did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Sent; the text is the log line (`forwarded to <x>`, …).
    Sent(String),
    /// Not sent on purpose (duplicate, loop, auto-submitted, …); the text is the log line.
    Skipped(String),
}

/// Sending failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// Temporary failures make the whole delivery tempfail.
    pub temporary: bool,
    /// Log text.
    pub message: String,
}

/// Sends the mails Sieve actions produce.
pub trait Outgoing {
    /// `redirect`: forward `message` (as edited) to `address`.
    fn redirect(&mut self, message: &[u8], address: &str) -> Result<SendOutcome, SendFailure>;
    /// `vacation`: reply to the sender unless the rules say not to.
    fn vacation(
        &mut self,
        vacation: &VacationAction,
        message: &MessageView,
    ) -> Result<SendOutcome, SendFailure>;
    /// `reject`: send the rejection MDN for `message` with `reason`.
    fn reject(&mut self, reason: &str, message: &[u8]) -> Result<SendOutcome, SendFailure>;
}
