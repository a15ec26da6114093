//! Listeners, one thread per connection (bounded), and a clean stop on SIGTERM.
//!
//! `unix:PATH` and `HOST:PORT` listeners (a bare `PORT` means loopback). The accept loop waits
//! with `poll(2)` on every listener plus a pipe; SIGTERM/SIGINT are blocked in all threads and
//! taken synchronously by one thread with `sigwait` (nix's safe API, no handler, no unsafe),
//! which then writes to the pipe. On a stop: listeners close (and unix socket files are
//! removed), idle sessions get `421 4.3.2` at their next command boundary, deliveries in
//! progress finish and get their replies, then [`serve`] returns. Child processes started by
//! the spawn privilege model get a clean signal mask (Rust's `Command` resets it).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};

use crate::reply::Reply;
use crate::session::{
    Backend, LogLevel, ServerLog, SessionConfig, SessionInfo, new_session_id, run_session,
};

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A unix stream socket (created mode 0666, as Dovecot's lmtp listener).
    Unix(PathBuf),
    /// A TCP address.
    Tcp(SocketAddr),
}

/// A server that could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A `--listen` value that is neither `unix:PATH`, `HOST:PORT` nor `PORT`.
    #[error("Invalid listener {0:?}: expected unix:PATH, HOST:PORT or PORT")]
    BadListen(String),
    /// Binding a listener failed.
    #[error("Can't listen on {what}: {error}")]
    Bind {
        /// The listener.
        what: String,
        /// Why.
        error: io::Error,
    },
    /// Setting up signals or polling failed.
    #[error("{0}")]
    System(String),
}

impl Listen {
    /// Parse `unix:PATH`, `HOST:PORT`, `[V6]:PORT` or `PORT` (loopback).
    pub fn parse(value: &str) -> Result<Listen, ServerError> {
        let bad = || ServerError::BadListen(value.to_string());
        if let Some(path) = value.strip_prefix("unix:") {
            return if path.is_empty() { Err(bad()) } else { Ok(Listen::Unix(path.into())) };
        }
        if let Ok(port) = value.parse::<u16>() {
            return Ok(Listen::Tcp(SocketAddr::from(([127, 0, 0, 1], port))));
        }
        value.to_socket_addrs().map_err(|_| bad())?.next().map(Listen::Tcp).ok_or_else(bad)
    }
}

/// Server-wide options.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Per-session settings.
    pub session: SessionConfig,
    /// Most connections served at once; more get `421 4.3.2` and are closed.
    pub max_connections: usize,
}

/// Bound listening sockets, made before privileges are dropped (a vmail uid usually can't
/// bind `/run/...` or a port below 1024).
pub struct Listeners(Vec<Bound>);

impl Listeners {
    /// Bind every listener (a stale unix socket file is replaced).
    pub fn bind(listens: &[Listen]) -> Result<Listeners, ServerError> {
        listens.iter().map(bind).collect::<Result<Vec<_>, _>>().map(Listeners)
    }
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Listeners({})", self.0.len())
    }
}

enum Bound {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

impl Drop for Bound {
    fn drop(&mut self) {
        if let Bound::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn bind(listen: &Listen) -> Result<Bound, ServerError> {
    let err = |error| ServerError::Bind { what: format!("{listen:?}"), error };
    match listen {
        Listen::Unix(path) => {
            // A stale socket from a previous run is replaced; any other file is left alone.
            if let Ok(meta) = std::fs::symlink_metadata(path)
                && meta.file_type().is_socket()
                && UnixStream::connect(path).is_err()
            {
                let _ = std::fs::remove_file(path);
            }
            let listener = UnixListener::bind(path).map_err(err)?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).map_err(err)?;
            Ok(Bound::Unix(listener, path.clone()))
        }
        Listen::Tcp(addr) => Ok(Bound::Tcp(TcpListener::bind(addr).map_err(err)?)),
    }
}

/// Block SIGTERM and SIGINT in this thread (and the threads it starts) and take them in a
/// dedicated thread, which sets `stop` and writes to the returned pipe.
fn watch_signals(stop: Arc<AtomicBool>) -> Result<io::PipeReader, ServerError> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.thread_block()
        .map_err(|e| ServerError::System(format!("pthread_sigmask() failed: {e}")))?;
    let (reader, mut writer) =
        io::pipe().map_err(|e| ServerError::System(format!("pipe() failed: {e}")))?;
    thread::spawn(move || {
        if set.wait().is_ok() {
            stop.store(true, Ordering::SeqCst);
            let _ = writer.write_all(b"x");
        }
    });
    Ok(reader)
}

/// Serve on `listeners` until SIGTERM/SIGINT; returns once in-flight deliveries are done.
/// Call it before starting any other thread (the signal mask is inherited).
pub fn serve<B: Backend + 'static>(
    listeners: Listeners,
    backend: Arc<B>,
    options: &ServerOptions,
    log: Arc<dyn ServerLog>,
) -> Result<(), ServerError> {
    let stop = Arc::new(AtomicBool::new(false));
    let wake = watch_signals(Arc::clone(&stop))?;
    let bound = listeners.0;
    let active = Arc::new(AtomicUsize::new(0));
    let mut workers: Vec<thread::JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let ready = wait_ready(&bound, &wake)?;
        workers.retain(|w| !w.is_finished());
        for index in ready {
            let Some(conn) = accept(&bound[index]) else { continue };
            if active.load(Ordering::SeqCst) >= options.max_connections {
                refuse(conn, &options.session.hostname);
                continue;
            }
            active.fetch_add(1, Ordering::SeqCst);
            let ctx = Worker {
                backend: Arc::clone(&backend),
                session: options.session.clone(),
                log: Arc::clone(&log),
                stop: Arc::clone(&stop),
                active: Arc::clone(&active),
            };
            workers.push(thread::spawn(move || ctx.run(conn)));
        }
    }
    drop(bound);
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

fn wait_ready(bound: &[Bound], wake: &io::PipeReader) -> Result<Vec<usize>, ServerError> {
    let mut fds: Vec<PollFd<'_>> = bound
        .iter()
        .map(|b| match b {
            Bound::Unix(l, _) => PollFd::new(l.as_fd(), PollFlags::POLLIN),
            Bound::Tcp(l) => PollFd::new(l.as_fd(), PollFlags::POLLIN),
        })
        .collect();
    fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
    match poll(&mut fds, PollTimeout::from(1000u16)) {
        Ok(_) => {}
        Err(nix::errno::Errno::EINTR) => return Ok(Vec::new()),
        Err(e) => return Err(ServerError::System(format!("poll() failed: {e}"))),
    }
    let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
    Ok(fds[..bound.len()].iter().enumerate().filter(|(_, fd)| ready(fd)).map(|(i, _)| i).collect())
}

enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream, SocketAddr),
}

fn accept(bound: &Bound) -> Option<Conn> {
    match bound {
        Bound::Unix(l, _) => l.accept().ok().map(|(s, _)| Conn::Unix(s)),
        Bound::Tcp(l) => l.accept().ok().map(|(s, addr)| Conn::Tcp(s, addr)),
    }
}

fn refuse(conn: Conn, hostname: &str) {
    let reply = Reply::enhanced(421, "4.3.2", format!("{hostname} Too many connections"));
    let _ = match conn {
        Conn::Unix(mut s) => s.write_all(reply.to_wire().as_bytes()),
        Conn::Tcp(mut s, _) => s.write_all(reply.to_wire().as_bytes()),
    };
}

struct Worker<B> {
    backend: Arc<B>,
    session: SessionConfig,
    log: Arc<dyn ServerLog>,
    stop: Arc<AtomicBool>,
    active: Arc<AtomicUsize>,
}

/// How often a blocked read wakes up to check for a shutdown and the idle limit.
const READ_TICK: Duration = Duration::from_millis(500);

impl<B: Backend> Worker<B> {
    fn run(self, conn: Conn) {
        let info = SessionInfo {
            session_id: new_session_id(),
            remote_ip: match &conn {
                Conn::Tcp(_, addr) => Some(addr.ip().to_string()),
                Conn::Unix(_) => None,
            },
        };
        let prefix = format!("lmtp({})<{}>: ", std::process::id(), info.session_id);
        let from = info.remote_ip.clone().unwrap_or_else(|| "local".into());
        let _ = self.log.log(LogLevel::Info, &prefix, &format!("Connect from {from}"));
        let result = match conn {
            Conn::Unix(s) => self.session(&info, s.try_clone().map(|w| (s, w))),
            Conn::Tcp(s, _) => {
                let _ = s.set_nodelay(true);
                self.session(&info, s.try_clone().map(|w| (s, w)))
            }
        };
        let how = match result {
            Ok(crate::session::SessionEnd::Closed) => "Logged out".to_string(),
            Ok(crate::session::SessionEnd::Disconnected) => "Connection closed".to_string(),
            // A client that hangs up before reading our reply is a disconnection, not a fault.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) =>
            {
                "Connection closed".to_string()
            }
            Err(e) => format!("Connection error: {e}"),
        };
        let _ = self.log.log(LogLevel::Info, &prefix, &format!("Disconnect from {from}: {how}"));
        self.active.fetch_sub(1, Ordering::SeqCst);
    }

    fn session<S: Read + Write + SetTimeout>(
        &self,
        info: &SessionInfo,
        pair: io::Result<(S, S)>,
    ) -> io::Result<crate::session::SessionEnd> {
        let (mut reader, mut writer) = pair?;
        reader.set_read_tick(READ_TICK)?;
        run_session(&*self.backend, &self.session, info, &mut reader, &mut writer, &self.stop)
    }
}

trait SetTimeout {
    fn set_read_tick(&self, tick: Duration) -> io::Result<()>;
}

impl SetTimeout for UnixStream {
    fn set_read_tick(&self, tick: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(tick))
    }
}

impl SetTimeout for TcpStream {
    fn set_read_tick(&self, tick: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(tick))
    }
}

/// One session on stdin/stdout (inetd style, as Dovecot's `lmtp` run by hand). No idle limit:
/// the process ends with its input.
pub fn serve_stdio<B: Backend>(
    backend: &B,
    config: &SessionConfig,
    log: &dyn ServerLog,
) -> io::Result<()> {
    let info = SessionInfo { session_id: new_session_id(), remote_ip: None };
    let prefix = format!("lmtp({})<{}>: ", std::process::id(), info.session_id);
    let _ = log.log(LogLevel::Info, &prefix, "Connect from stdin");
    let stop = AtomicBool::new(false);
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    run_session(backend, config, &info, &mut stdin, &mut stdout, &stop).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_values() {
        assert_eq!(Listen::parse("unix:/run/x").unwrap(), Listen::Unix("/run/x".into()));
        assert_eq!(Listen::parse("2424").unwrap(), Listen::Tcp("127.0.0.1:2424".parse().unwrap()));
        assert_eq!(
            Listen::parse("0.0.0.0:24").unwrap(),
            Listen::Tcp("0.0.0.0:24".parse().unwrap())
        );
        assert_eq!(Listen::parse("[::1]:24").unwrap(), Listen::Tcp("[::1]:24".parse().unwrap()));
        assert!(Listen::parse("unix:").is_err());
        assert!(Listen::parse("nonsense").is_err());
    }
}
