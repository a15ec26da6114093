//! One LMTP connection: reads bytes, drives the [`Protocol`], asks a [`Backend`] about recipients
//! and messages, and writes the replies.
//!
//! The loop is I/O-generic (`Read` + `Write`), so the same code serves a unix socket, a TCP
//! connection and stdin/stdout. Replies are flushed whenever the protocol needs more input, so
//! pipelined commands get their replies in one write. Reads may time out (sockets get a short
//! read timeout) so the loop can notice a server shutdown and enforce the idle limit.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::protocol::{Envelope, Event, Limits, MessageData, Protocol, RcptCommand};
use crate::reply::Reply;
use crate::trace::{TraceSettings, trace_headers};

/// Severity of a server log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Only with `mail_debug`.
    Debug,
    /// Connections and delivery results.
    Info,
    /// Handled oddities.
    Warning,
    /// Failures (a recipient got a 4xx/5xx because of us).
    Error,
}

/// Where the server's log lines go; the binary decides (files, syslog).
pub trait ServerLog: Send + Sync {
    /// Write one line with its prefix (`lmtp(user)<pid><session>: `). An error means the line
    /// was lost; a delivery whose log line is lost is reported as a temporary failure.
    fn log(&self, level: LogLevel, prefix: &str, text: &str) -> io::Result<()>;
}

/// Facts about the connection a backend may use.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Dovecot-style session id (22 base64 characters).
    pub session_id: String,
    /// The TCP peer address, absent for unix sockets and stdin.
    pub remote_ip: Option<String>,
}

impl SessionInfo {
    /// Id of transaction `n` (`<session>` for the first, `<session>:T<n>` after).
    pub fn transaction_id(&self, n: usize) -> String {
        if n > 1 { format!("{}:T{n}", self.session_id) } else { self.session_id.clone() }
    }

    /// Id of recipient `index` of transaction `n` (adds `:R<index>` after the first).
    pub fn recipient_id(&self, n: usize, index: usize) -> String {
        let txn = self.transaction_id(n);
        if index > 1 { format!("{txn}:R{index}") } else { txn }
    }
}

/// A message ready for delivery to the accepted recipients.
#[derive(Debug)]
pub struct Transaction<'a, R> {
    /// The envelope.
    pub envelope: &'a Envelope,
    /// Transaction id (as in the Received header).
    pub id: String,
    /// Accepted recipients with what the backend found at RCPT time, in RCPT order.
    pub recipients: Vec<(RcptCommand, R)>,
    /// The message as stored: trace headers, then the data (LF line ends).
    pub message: Vec<u8>,
}

/// What a server delivers with: user lookup at RCPT time, delivery after DATA.
pub trait Backend: Send + Sync {
    /// What the RCPT-time lookup found, carried to the delivery.
    type Recipient: Send;

    /// Accept (`Ok`) or refuse (`Err(reply)`) a recipient.
    fn check_recipient(
        &self,
        session: &SessionInfo,
        envelope: &Envelope,
        rcpt: &RcptCommand,
    ) -> Result<Self::Recipient, Reply>;

    /// Deliver to every recipient; exactly one reply each, in order.
    fn deliver(&self, session: &SessionInfo, txn: Transaction<'_, Self::Recipient>) -> Vec<Reply>;
}

/// Settings of every session of a server.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our host name (greeting, LHLO, Received).
    pub hostname: String,
    /// Greeting text after the host name (`login_greeting`).
    pub greeting: String,
    /// Protocol limits.
    pub limits: Limits,
    /// Trace header settings.
    pub trace: TraceSettings,
    /// Close a connection that sends nothing for this long.
    pub idle_timeout: Duration,
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// QUIT, shutdown, idle timeout or too many errors: the protocol closed it.
    Closed,
    /// The client went away.
    Disconnected,
}

/// Serve one connection until it ends. `shutdown` is checked between reads.
pub fn run_session<B: Backend>(
    backend: &B,
    config: &SessionConfig,
    info: &SessionInfo,
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    shutdown: &AtomicBool,
) -> io::Result<SessionEnd> {
    let mut proto = Protocol::new(&config.hostname, &config.greeting, config.limits);
    let mut states: Vec<(usize, B::Recipient)> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_input = Instant::now();
    loop {
        while let Some(event) = proto.next_event() {
            match event {
                Event::Close => {
                    write_out(&mut proto, writer)?;
                    return Ok(SessionEnd::Closed);
                }
                Event::Recipient(rcpt, envelope) => {
                    states.retain(|(txn, _)| *txn == envelope.transaction);
                    match backend.check_recipient(info, &envelope, &rcpt) {
                        Ok(state) => {
                            states.push((envelope.transaction, state));
                            proto.answer_rcpt(crate::reply::rcpt_ok(), true);
                        }
                        Err(reply) => proto.answer_rcpt(reply, false),
                    }
                }
                Event::Message(data) => {
                    write_out(&mut proto, writer)?;
                    let taken = std::mem::take(&mut states);
                    let replies = deliver(backend, config, info, data, taken);
                    proto.answer_data(replies);
                }
            }
        }
        write_out(&mut proto, writer)?;
        if shutdown.load(Ordering::Relaxed) && proto.shutdown() {
            continue;
        }
        match reader.read(&mut buf) {
            Ok(0) => return Ok(SessionEnd::Disconnected),
            Ok(n) => {
                last_input = Instant::now();
                proto.feed(&buf[..n]);
            }
            Err(e) if is_timeout(&e) => {
                if last_input.elapsed() >= config.idle_timeout {
                    proto.idle_timeout();
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

fn write_out(proto: &mut Protocol, writer: &mut dyn Write) -> io::Result<()> {
    let out = proto.take_output();
    if !out.is_empty() {
        writer.write_all(&out)?;
        writer.flush()?;
    }
    Ok(())
}

/// Prepend the trace headers and hand the transaction to the backend.
fn deliver<B: Backend>(
    backend: &B,
    config: &SessionConfig,
    info: &SessionInfo,
    data: MessageData,
    states: Vec<(usize, B::Recipient)>,
) -> Vec<Reply> {
    let MessageData { envelope, recipients, data } = data;
    let count = recipients.len();
    let states: Vec<B::Recipient> = states
        .into_iter()
        .filter(|(txn, _)| *txn == envelope.transaction)
        .map(|(_, state)| state)
        .collect();
    if states.len() != count {
        // Cannot happen (one state per accepted RCPT); never claim success if it does.
        let fail = Reply::enhanced(451, "4.3.0", "Temporary internal error".into());
        return vec![fail; count];
    }
    let id = info.transaction_id(envelope.transaction);
    let mut message =
        trace_headers(&config.trace, &envelope, &recipients, &id, info.remote_ip.as_deref());
    message.extend_from_slice(&data);
    drop(data);
    let txn = Transaction {
        envelope: &envelope,
        id,
        recipients: recipients.into_iter().zip(states).collect(),
        message,
    };
    backend.deliver(info, txn)
}

/// Dovecot's session id (the delivery core's, so `deliver` and LMTP log alike).
pub fn new_session_id() -> String {
    delivery::user_storage::session_id()
}

#[cfg(test)]
mod tests;
