//! Socket I/O for the auth-master client: connect, send the handshake and one `USER`
//! request, read until the reply, all within one deadline (Dovecot: 155 s by default).

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};

use super::codec::{Exchange, HANDSHAKE, LineBuffer, Step, encode_user_request};
use crate::{ErrorLocation, LookupError, LookupErrorKind, LookupWarning, UserDatabase, UserRecord};

/// Dovecot's master lookup timeout: login timeout (3 min) − 30 s + 5 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(155);

/// How long to wait before retrying a connect to a socket whose backlog is full.
const CONNECT_RETRY: Duration = Duration::from_millis(10);

/// A userdb answered by Dovecot's auth server over its auth-master socket.
#[derive(Debug, Clone)]
pub struct AuthMaster {
    socket_path: PathBuf,
    service: String,
    timeout: Duration,
}

impl AuthMaster {
    /// A client for `socket_path` that sends `service=<service>` (`lda` or `lmtp`) and gives
    /// up after `timeout` for the whole request (connect included).
    pub fn new(socket_path: PathBuf, service: &str, timeout: Duration) -> Self {
        Self { socket_path, service: service.to_owned(), timeout }
    }

    /// The socket this client connects to.
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    fn error(&self, kind: LookupErrorKind, user: &str, detail: impl Into<String>) -> LookupError {
        LookupError::new(kind, user, ErrorLocation::Socket(self.socket_path.clone()), detail)
    }

    /// Connects without blocking past `deadline` (a full backlog is retried).
    fn connect(&self, user: &str, deadline: Instant) -> Result<UnixStream, LookupError> {
        let connect_err = |e: io::Error| {
            let detail = format!("connect({}) failed: {e}", self.socket_path.display());
            self.error(LookupErrorKind::Connect, user, detail).with_cause(e)
        };
        let addr = UnixAddr::new(&self.socket_path).map_err(|e| connect_err(e.into()))?;
        let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
        let fd = socket(AddressFamily::Unix, SockType::Stream, flags, None)
            .map_err(|e| connect_err(e.into()))?;
        loop {
            match connect(fd.as_raw_fd(), &addr) {
                Ok(()) => break,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) if Instant::now() < deadline => thread::sleep(CONNECT_RETRY),
                Err(Errno::EAGAIN) => {
                    return Err(self.error(LookupErrorKind::Timeout, user, "Connecting timed out"));
                }
                Err(e) => return Err(connect_err(e.into())),
            }
        }
        let stream = UnixStream::from(fd);
        stream.set_nonblocking(false).map_err(connect_err)?;
        Ok(stream)
    }

    /// Reads lines into `exchange` until it is done, the peer closes, or `deadline` passes.
    fn read_reply(
        &self,
        user: &str,
        stream: &mut UnixStream,
        deadline: Instant,
    ) -> Result<Option<UserRecord>, LookupError> {
        let mut exchange = Exchange::new(1);
        let mut lines = LineBuffer::new();
        let mut chunk = [0u8; 4096];
        loop {
            while let Some(line) = lines
                .next_line()
                .map_err(|e| self.error(LookupErrorKind::Protocol, user, e.to_string()))?
            {
                if let Step::Done(result) = exchange.feed(&line) {
                    return result.map_err(|(kind, detail)| self.error(kind, user, detail));
                }
            }
            let timed_out = || {
                let what = if exchange.version_seen() {
                    "Request timed out"
                } else {
                    "Connecting timed out"
                };
                self.error(LookupErrorKind::Timeout, user, what)
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            let io_err = |e: io::Error| {
                self.error(LookupErrorKind::Io, user, format!("read failed: {e}")).with_cause(e)
            };
            stream.set_read_timeout(Some(left)).map_err(io_err)?;
            match stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(self.error(
                        LookupErrorKind::Protocol,
                        user,
                        "Disconnected unexpectedly",
                    ));
                }
                Ok(n) => lines.push(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
                {
                    return Err(timed_out());
                }
                Err(e) => return Err(io_err(e)),
            }
        }
    }
}

impl UserDatabase for AuthMaster {
    fn lookup_reporting(
        &self,
        user: &str,
        _warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        let Some(request) = encode_user_request(1, user, &[("service", &self.service)]) else {
            return Ok(None); // unsendable name: Dovecot treats it as an unknown user
        };
        let deadline = Instant::now() + self.timeout;
        let mut stream = self.connect(user, deadline)?;
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let write_err = |e: io::Error| {
            let kind = if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
                LookupErrorKind::Timeout
            } else {
                LookupErrorKind::Io
            };
            self.error(kind, user, format!("write failed: {e}")).with_cause(e)
        };
        stream.set_write_timeout(Some(left)).map_err(write_err)?;
        let mut out = HANDSHAKE.to_vec();
        out.extend_from_slice(&request);
        stream.write_all(&out).map_err(write_err)?;
        self.read_reply(user, &mut stream, deadline)
    }
}
