//! The auth-master line protocol as pure encode/decode functions: no I/O, so it can be
//! fuzzed and fed one byte at a time.
//!
//! Lines end in `\n`; fields are separated by TAB and "tab-escaped": 0x01 → `\x01 1`,
//! TAB → `\x01 t`, CR → `\x01 r`, LF → `\x01 n`, NUL → `\x01 0` (Dovecot `lib/strescape.c`).

use crate::{LookupErrorKind, UserRecord};
use dovecot_strescape::{tab_escape, tab_unescape};

/// Most bytes of unprocessed input the client accepts (Dovecot's auth-master client limit).
pub const MAX_INPUT: usize = 8192;

/// The client's handshake line, sent together with the first request.
pub const HANDSHAKE: &[u8] = b"VERSION\t1\t0\n";

/// Why input from the server could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// More than [`MAX_INPUT`] bytes arrived without a line end.
    #[error("BUG: Received more than {MAX_INPUT} bytes")]
    LineTooLong,
    /// A `VERSION` line whose numbers are missing or not numeric.
    #[error("Invalid VERSION line: {0}")]
    BadVersion(String),
    /// A reply whose request id is missing or not a number.
    #[error("Invalid request id in reply: {0}")]
    BadId(String),
}

/// Encodes `USER<TAB>id<TAB>user[<TAB>key=value]...\n`. Values are tab-escaped; the user
/// name is sent verbatim, so a name (or field) containing TAB, CR or LF cannot be sent and
/// gives `None` (Dovecot then treats the user as unknown).
pub fn encode_user_request(id: u32, user: &str, fields: &[(&str, &str)]) -> Option<Vec<u8>> {
    let unsendable = |s: &str| s.contains(['\t', '\r', '\n']);
    if unsendable(user) || fields.iter().any(|(k, v)| unsendable(k) || unsendable(v)) {
        return None;
    }
    let mut line = format!("USER\t{id}\t{user}");
    for (key, value) in fields {
        line.push('\t');
        line.push_str(&tab_escape(key));
        line.push('=');
        line.push_str(&tab_escape(value));
    }
    line.push('\n');
    Some(line.into_bytes())
}

/// Splits a byte stream into lines, enforcing [`MAX_INPUT`].
#[derive(Debug, Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
}

impl LineBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the socket.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Takes the next complete line (without its `\n`), `Ok(None)` if none is complete yet.
    pub fn next_line(&mut self) -> Result<Option<Vec<u8>>, CodecError> {
        match self.buf.iter().position(|&b| b == b'\n') {
            // Dovecot's input buffer holds MAX_INPUT bytes: a longer line can never complete.
            Some(pos) if pos >= MAX_INPUT => Err(CodecError::LineTooLong),
            Some(pos) => {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                Ok(Some(line))
            }
            None if self.buf.len() >= MAX_INPUT => Err(CodecError::LineTooLong),
            None => Ok(None),
        }
    }
}

/// One line from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLine {
    /// `VERSION major minor`.
    Version {
        /// Major version (the client requires 1).
        major: u32,
        /// Minor version (any is accepted).
        minor: u32,
    },
    /// `SPID pid` (ignored by the client).
    Spid,
    /// `CUID ...`: the socket is an auth *client* socket, not a master socket.
    Cuid,
    /// `USER id name fields...`: the user exists. `username` is `None` if the field is missing.
    User {
        /// Request id.
        id: u32,
        /// Canonical user name.
        username: Option<String>,
        /// Reply fields in order; a field without `=` has value `None`.
        fields: Vec<(String, Option<String>)>,
    },
    /// `NOTFOUND id`: the user does not exist.
    NotFound {
        /// Request id.
        id: u32,
    },
    /// `FAIL id [reason=...]`: the lookup failed temporarily.
    Fail {
        /// Request id.
        id: u32,
        /// The `reason=` field, if given.
        reason: Option<String>,
    },
    /// Any other command word (with its id field, if numeric).
    Other {
        /// The command word.
        command: String,
        /// The second field, if it is a number.
        id: Option<u32>,
    },
}

fn field_text(field: &[u8]) -> String {
    String::from_utf8_lossy(&tab_unescape(field)).into_owned()
}

fn split_field(field: &[u8]) -> (String, Option<String>) {
    let text = field_text(field);
    match text.split_once('=') {
        Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
        None => (text, None),
    }
}

fn parse_id(field: Option<&&[u8]>) -> Result<u32, CodecError> {
    let text = field.map(|f| String::from_utf8_lossy(f).into_owned()).unwrap_or_default();
    text.parse().map_err(|_| CodecError::BadId(text))
}

/// Parses one line (without `\n`) received from the server.
pub fn parse_server_line(line: &[u8]) -> Result<ServerLine, CodecError> {
    let parts: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
    let command = parts[0];
    match command {
        b"VERSION" => {
            let num = |i: usize| {
                parts.get(i).and_then(|f| std::str::from_utf8(f).ok()?.parse::<u32>().ok())
            };
            match (num(1), num(2)) {
                (Some(major), Some(minor)) => Ok(ServerLine::Version { major, minor }),
                _ => Err(CodecError::BadVersion(field_text(line))),
            }
        }
        b"SPID" => Ok(ServerLine::Spid),
        b"CUID" => Ok(ServerLine::Cuid),
        b"USER" => Ok(ServerLine::User {
            id: parse_id(parts.get(1))?,
            username: parts.get(2).map(|f| field_text(f)).filter(|u| !u.is_empty()),
            // Dovecot sends `USER\t1\tname\t` (an empty field) when the reply has no fields.
            fields: parts
                .iter()
                .skip(3)
                .filter(|f| !f.is_empty())
                .map(|f| split_field(f))
                .collect(),
        }),
        b"NOTFOUND" => Ok(ServerLine::NotFound { id: parse_id(parts.get(1))? }),
        b"FAIL" => {
            let id = parse_id(parts.get(1))?;
            let reason = parts
                .iter()
                .skip(2)
                .map(|f| split_field(f))
                .find_map(|(k, v)| (k == "reason").then(|| v.unwrap_or_default()));
            Ok(ServerLine::Fail { id, reason })
        }
        _ => Ok(ServerLine::Other {
            command: field_text(command),
            id: parts.get(1).and_then(|f| std::str::from_utf8(f).ok()?.parse().ok()),
        }),
    }
}

/// Builds the [`UserRecord`] of a `USER` reply; fields without `=` get an empty value.
pub fn user_record(username: &str, fields: &[(String, Option<String>)]) -> UserRecord {
    let mut rec = UserRecord::new(username);
    for (key, value) in fields {
        rec.set_field(key, value.as_deref().unwrap_or(""));
    }
    rec.username = username.to_owned();
    rec
}

/// What the client does after one server line.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Keep reading.
    Continue,
    /// The request is answered: found, unknown, or a failure (kind and Dovecot-style text).
    Done(Result<Option<UserRecord>, (LookupErrorKind, String)>),
}

/// The client side of one request as a pure state machine: feed it the server's lines.
#[derive(Debug)]
pub struct Exchange {
    id: u32,
    version_seen: bool,
}

impl Exchange {
    /// Waits for the reply to request `id`.
    pub fn new(id: u32) -> Self {
        Self { id, version_seen: false }
    }

    /// Whether the server's `VERSION` line has arrived (the handshake is done).
    pub fn version_seen(&self) -> bool {
        self.version_seen
    }

    /// Handles one complete line (without `\n`).
    pub fn feed(&mut self, line: &[u8]) -> Step {
        let parsed = match parse_server_line(line) {
            Ok(parsed) => parsed,
            Err(e) => return fail(LookupErrorKind::Protocol, e.to_string()),
        };
        if !self.version_seen {
            return match parsed {
                ServerLine::Version { major: 1, .. } => {
                    self.version_seen = true;
                    Step::Continue
                }
                ServerLine::Version { major, minor } => fail(
                    LookupErrorKind::Protocol,
                    format!("Auth server version mismatch: server {major}.{minor}, client 1.0"),
                ),
                ServerLine::Cuid => fail(LookupErrorKind::Protocol, CLIENT_SOCKET.to_owned()),
                _ => unexpected(line),
            };
        }
        self.after_handshake(parsed, line)
    }

    fn after_handshake(&mut self, parsed: ServerLine, line: &[u8]) -> Step {
        match parsed {
            ServerLine::Version { .. } | ServerLine::Spid => Step::Continue,
            ServerLine::Cuid => fail(LookupErrorKind::Protocol, CLIENT_SOCKET.to_owned()),
            ServerLine::User { id, username, fields } if id == self.id => match username {
                Some(name) => Step::Done(Ok(Some(user_record(&name, &fields)))),
                None => fail(LookupErrorKind::Protocol, "Lookup didn't return username".into()),
            },
            ServerLine::NotFound { id } if id == self.id => Step::Done(Ok(None)),
            ServerLine::Fail { id, reason } if id == self.id => fail(
                LookupErrorKind::Failed,
                reason.unwrap_or_else(|| {
                    "Internal error occurred. Refer to server log for more information.".into()
                }),
            ),
            ServerLine::Other { id: Some(id), command } if id == self.id => {
                fail(LookupErrorKind::Protocol, format!("Unknown reply: {command}"))
            }
            _ => unexpected(line),
        }
    }
}

const CLIENT_SOCKET: &str =
    "BUG: Unexpected input: CUID (this is an auth client socket, not an auth-master socket)";

fn fail(kind: LookupErrorKind, detail: String) -> Step {
    Step::Done(Err((kind, detail)))
}

fn unexpected(line: &[u8]) -> Step {
    let mut shown = String::from_utf8_lossy(line).into_owned();
    if shown.len() > 200 {
        let cut = (0..=200).rev().find(|&i| shown.is_char_boundary(i)).unwrap_or(0);
        shown.truncate(cut);
    }
    fail(LookupErrorKind::Protocol, format!("BUG: Unexpected input: {shown:?}"))
}

#[cfg(test)]
mod tests;
