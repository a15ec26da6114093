//! The LMTP conversation as a sans-I/O state machine: bytes in, events and reply bytes out.
//!
//! RFC 2033 on top of RFC 5321 command syntax. The caller feeds whatever bytes arrived
//! ([`Protocol::feed`]), takes [`Event`]s ([`Protocol::next_event`]) for the two decisions that
//! need the outside world (is this recipient known? what happened to each recipient's copy?),
//! answers them, and writes [`Protocol::take_output`] to the peer. Everything else (sequence
//! errors, syntax errors, NOOP, RSET, VRFY, limits) is answered here. Reply texts follow what
//! Dovecot 2.3.19's `lmtp` answers (observed against Debian's dovecot-lmtpd).

use crate::reply::Reply;

/// Limits enforced by the protocol itself.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest command line accepted (bytes, without the line end).
    pub max_line_length: usize,
    /// Largest message accepted after dot-unstuffing (bytes; 0 = unlimited).
    pub max_message_size: u64,
    /// Most RCPT commands per transaction.
    pub max_recipients: usize,
    /// Invalid commands tolerated before the connection is closed.
    pub max_invalid_commands: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_length: 2048,
            max_message_size: 64 * 1024 * 1024,
            max_recipients: 1000,
            max_invalid_commands: 20,
        }
    }
}

/// One RCPT TO command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptCommand {
    /// The forward path without the angle brackets, as the client wrote it.
    pub address: String,
    /// The address from `ORCPT=rfc822;…`, xtext-decoded.
    pub orcpt: Option<String>,
    /// 1-based number of this RCPT command in its transaction (refused ones count too).
    pub index: usize,
}

/// The envelope of the current transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The LHLO argument (empty when the client skipped LHLO).
    pub helo: String,
    /// The reverse path without brackets; empty for the null sender `<>`.
    pub sender: String,
    /// 1-based number of this transaction on the connection.
    pub transaction: usize,
}

/// A complete message for the accepted recipients.
#[derive(Debug)]
pub struct MessageData {
    /// Envelope of the transaction.
    pub envelope: Envelope,
    /// Accepted recipients, in RCPT order: one reply is owed for each.
    pub recipients: Vec<RcptCommand>,
    /// The message, dot-unstuffed, line ends converted to LF.
    pub data: Vec<u8>,
}

/// What the caller must decide or do.
#[derive(Debug)]
pub enum Event {
    /// Look the recipient up, then call [`Protocol::answer_rcpt`].
    Recipient(RcptCommand, Envelope),
    /// Deliver, then call [`Protocol::answer_data`] with one reply per recipient.
    Message(MessageData),
    /// Flush the output and close the connection.
    Close,
}

#[derive(Debug)]
enum Phase {
    Command,
    AwaitRcpt(RcptCommand),
    Data(DataState),
    AwaitData(usize),
    Closed,
}

#[derive(Debug, Default)]
struct DataState {
    buf: Vec<u8>,
    line_start: bool,
    too_large: bool,
}

/// Partial lines in DATA longer than this are passed on without waiting for their end.
const DATA_PARTIAL_LIMIT: usize = 64 * 1024;

/// The protocol state of one LMTP connection.
#[derive(Debug)]
pub struct Protocol {
    hostname: String,
    limits: Limits,
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
    phase: Phase,
    helo: String,
    sender: Option<String>,
    accepted: Vec<RcptCommand>,
    rcpt_commands: usize,
    transactions: usize,
    invalid: usize,
    skipping_long_line: bool,
}

impl Protocol {
    /// A new connection: queues the `220` greeting (`<hostname> <greeting>`).
    pub fn new(hostname: &str, greeting: &str, limits: Limits) -> Protocol {
        let mut p = Protocol {
            hostname: hostname.to_string(),
            limits,
            input: Vec::new(),
            pos: 0,
            output: Vec::new(),
            phase: Phase::Command,
            helo: String::new(),
            sender: None,
            accepted: Vec::new(),
            rcpt_commands: 0,
            transactions: 0,
            invalid: 0,
            skipping_long_line: false,
        };
        p.reply(&Reply::new(220, format!("{hostname} {greeting}")));
        p
    }

    /// Bytes received from the client.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.input.len() {
            self.input.clear();
            self.pos = 0;
        }
        self.input.extend_from_slice(bytes);
    }

    /// Reply bytes queued for the client (taking them clears the queue).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// True once the connection is over (QUIT, fatal error, shutdown).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// True between an accepted MAIL and the end of the transaction.
    pub fn in_transaction(&self) -> bool {
        self.sender.is_some()
    }

    /// True while message data is being received.
    pub fn in_data(&self) -> bool {
        matches!(self.phase, Phase::Data(_))
    }

    /// The next thing to do, or `None` when more input is needed (or an answer is pending).
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            match &mut self.phase {
                Phase::Closed => return Some(Event::Close),
                Phase::AwaitRcpt(_) | Phase::AwaitData(_) => return None,
                Phase::Data(_) => match self.data_step()? {
                    Some(event) => return Some(event),
                    None => continue,
                },
                Phase::Command => {
                    let line = self.next_line()?;
                    if let Some(event) = self.command(&line) {
                        return Some(event);
                    }
                }
            }
        }
    }

    /// Answer a [`Event::Recipient`]: the reply to send and whether the recipient was accepted.
    pub fn answer_rcpt(&mut self, reply: Reply, accepted: bool) {
        if let Phase::AwaitRcpt(rcpt) = std::mem::replace(&mut self.phase, Phase::Command) {
            if accepted {
                self.accepted.push(rcpt);
            }
            self.reply(&reply);
        }
    }

    /// Answer a [`Event::Message`] with one reply per recipient, in order. Missing replies
    /// become temporary failures (never a false success); extra ones are dropped.
    pub fn answer_data(&mut self, replies: Vec<Reply>) {
        if let Phase::AwaitData(count) = self.phase {
            let mut replies = replies.into_iter();
            for _ in 0..count {
                let reply = replies.next().unwrap_or_else(|| {
                    Reply::enhanced(451, "4.3.0", "Temporary internal error".into())
                });
                self.reply(&reply);
            }
            self.phase = Phase::Command;
            self.reset_transaction();
        }
    }

    /// The server is stopping: at a command boundary, say so and close. Returns false while a
    /// transaction's data is still arriving or being delivered (finish that first).
    pub fn shutdown(&mut self) -> bool {
        match self.phase {
            Phase::Command | Phase::AwaitRcpt(_) => {
                self.reply(&Reply::enhanced(421, "4.3.2", "Server shutting down".into()));
                self.phase = Phase::Closed;
                true
            }
            Phase::Closed => true,
            Phase::Data(_) | Phase::AwaitData(_) => false,
        }
    }

    /// The client was idle too long: say so and close.
    pub fn idle_timeout(&mut self) {
        self.reply(&Reply::enhanced(421, "4.4.2", "Disconnected for inactivity".into()));
        self.phase = Phase::Closed;
    }

    fn reply(&mut self, reply: &Reply) {
        reply.write_to(&mut self.output);
    }

    fn reset_transaction(&mut self) {
        self.sender = None;
        self.accepted.clear();
        self.rcpt_commands = 0;
    }

    /// Next complete command line without its line end; long lines are refused and skipped.
    fn next_line(&mut self) -> Option<String> {
        loop {
            let rest = &self.input[self.pos..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > self.limits.max_line_length && !self.skipping_long_line {
                    self.skipping_long_line = true;
                    self.reply(&Reply::enhanced(500, "5.5.2", "Line too long".into()));
                }
                if self.skipping_long_line {
                    self.pos = self.input.len();
                }
                return None;
            };
            let mut line = &rest[..nl];
            self.pos += nl + 1;
            if self.skipping_long_line {
                self.skipping_long_line = false;
                continue;
            }
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if line.len() > self.limits.max_line_length {
                self.reply(&Reply::enhanced(500, "5.5.2", "Line too long".into()));
                continue;
            }
            return Some(String::from_utf8_lossy(line).into_owned());
        }
    }

    fn command(&mut self, line: &str) -> Option<Event> {
        let (verb, args) = match line.split_once(' ') {
            Some((verb, args)) => (verb, args.trim()),
            None => (line, ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "LHLO" => self.lhlo(args),
            "MAIL" => self.mail(args),
            "RCPT" => return self.rcpt(args),
            "DATA" => self.data(),
            "RSET" => {
                self.reset_transaction();
                self.reply(&Reply::enhanced(250, "2.0.0", "OK".into()));
            }
            "NOOP" => self.reply(&Reply::enhanced(250, "2.0.0", "OK".into())),
            "VRFY" => self.reply(&Reply::enhanced(252, "2.3.3", "Try RCPT instead".into())),
            "QUIT" => {
                self.reply(&Reply::enhanced(221, "2.0.0", "Bye".into()));
                self.phase = Phase::Closed;
                return Some(Event::Close);
            }
            _ => self.invalid(Reply::enhanced(500, "5.5.1", "Unknown command".into())),
        }
        if self.is_closed() { Some(Event::Close) } else { None }
    }

    fn invalid(&mut self, reply: Reply) {
        self.reply(&reply);
        self.invalid += 1;
        if self.invalid >= self.limits.max_invalid_commands {
            self.reply(&Reply::enhanced(421, "4.7.0", "Too many invalid commands.".into()));
            self.phase = Phase::Closed;
        }
    }

    fn lhlo(&mut self, args: &str) {
        let Some(name) = args.split(' ').next().filter(|n| !n.is_empty()) else {
            // Dovecot answers this one without an enhanced code.
            return self.invalid(Reply::new(501, "Missing hostname".into()));
        };
        self.helo = name.to_string();
        self.reset_transaction();
        let mut lines = vec![
            self.hostname.clone(),
            "8BITMIME".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "PIPELINING".to_string(),
        ];
        lines.push(match self.limits.max_message_size {
            0 => "SIZE".to_string(),
            n => format!("SIZE {n}"),
        });
        self.reply(&Reply::multi(250, lines));
    }

    fn mail(&mut self, args: &str) {
        if self.sender.is_some() {
            return self.invalid(Reply::enhanced(503, "5.5.0", "MAIL already given".into()));
        }
        let Some(rest) = strip_keyword(args, "FROM:") else {
            return self.invalid(syntax("Invalid FROM: Missing 'FROM:'"));
        };
        let (path, params) = match split_path(rest, true) {
            Ok(found) => found,
            Err(why) => return self.invalid(syntax(&format!("Invalid FROM: {why}"))),
        };
        for param in params {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "BODY" if matches!(value.to_ascii_uppercase().as_str(), "7BIT" | "8BITMIME") => {}
                "SIZE" => match value.parse::<u64>() {
                    Ok(n)
                        if self.limits.max_message_size != 0
                            && n > self.limits.max_message_size =>
                    {
                        return self.reply(&too_large());
                    }
                    Ok(_) => {}
                    Err(_) => return self.invalid(syntax("Invalid SIZE parameter")),
                },
                _ => return self.invalid(unsupported()),
            }
        }
        self.transactions += 1;
        self.sender = Some(path);
        self.reply(&Reply::enhanced(250, "2.1.0", "OK".into()));
    }

    fn rcpt(&mut self, args: &str) -> Option<Event> {
        if self.sender.is_none() {
            self.invalid(Reply::enhanced(503, "5.5.0", "MAIL needed first".into()));
            return None;
        }
        let Some(rest) = strip_keyword(args, "TO:") else {
            self.invalid(syntax("Invalid TO: Missing 'TO:'"));
            return None;
        };
        let (address, params) = match split_path(rest, false) {
            Ok(found) => found,
            Err(why) => {
                self.invalid(syntax(&format!("Invalid TO: {why}")));
                return None;
            }
        };
        let mut orcpt = None;
        for param in params {
            match param.split_once('=') {
                Some((key, value)) if key.eq_ignore_ascii_case("ORCPT") => {
                    match parse_orcpt(value) {
                        Some(addr) => orcpt = Some(addr),
                        None => {
                            self.invalid(syntax("Invalid ORCPT parameter"));
                            return None;
                        }
                    }
                }
                _ => {
                    self.invalid(unsupported());
                    return None;
                }
            }
        }
        if self.accepted.len() >= self.limits.max_recipients {
            self.reply(&Reply::enhanced(452, "4.5.3", "Too many recipients".into()));
            return None;
        }
        self.rcpt_commands += 1;
        let rcpt = RcptCommand { address, orcpt, index: self.rcpt_commands };
        self.phase = Phase::AwaitRcpt(rcpt.clone());
        Some(Event::Recipient(rcpt, self.envelope()))
    }

    fn envelope(&self) -> Envelope {
        Envelope {
            helo: self.helo.clone(),
            sender: self.sender.clone().unwrap_or_default(),
            transaction: self.transactions,
        }
    }

    fn data(&mut self) {
        if self.sender.is_none() {
            return self.invalid(Reply::enhanced(503, "5.5.0", "MAIL needed first".into()));
        }
        if self.accepted.is_empty() {
            return self.invalid(Reply::enhanced(503, "5.5.0", "No valid recipients".into()));
        }
        self.reply(&Reply::new(354, "OK".into()));
        self.phase = Phase::Data(DataState { line_start: true, ..DataState::default() });
    }

    /// Consume buffered message lines. `None` = need input; `Some(None)` = progress, go on.
    fn data_step(&mut self) -> Option<Option<Event>> {
        let Phase::Data(state) = &mut self.phase else { return Some(None) };
        let max = self.limits.max_message_size;
        loop {
            let rest = &self.input[self.pos..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                // A very long partial line: pass it on now (keep a trailing CR for CRLF).
                if rest.len() > DATA_PARTIAL_LIMIT {
                    let take = rest.len() - 1;
                    let chunk = &rest[..take];
                    let chunk = if state.line_start { unstuff(chunk) } else { chunk };
                    push_data(state, chunk, max);
                    state.line_start = false;
                    self.pos += take;
                }
                return None;
            };
            let raw = &rest[..nl];
            self.pos += nl + 1;
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if state.line_start && line == b"." {
                break;
            }
            let line = if state.line_start { unstuff(line) } else { line };
            push_data(state, line, max);
            push_data(state, b"\n", max);
            state.line_start = true;
        }
        let Phase::Data(state) = std::mem::replace(&mut self.phase, Phase::Command) else {
            return Some(None);
        };
        let recipients = std::mem::take(&mut self.accepted);
        if state.too_large {
            for _ in &recipients {
                self.reply(&too_large());
            }
            self.reset_transaction();
            return Some(None);
        }
        self.phase = Phase::AwaitData(recipients.len());
        let envelope = self.envelope();
        Some(Some(Event::Message(MessageData { envelope, recipients, data: state.buf })))
    }
}

fn unstuff(line: &[u8]) -> &[u8] {
    line.strip_prefix(b".").unwrap_or(line)
}

fn push_data(state: &mut DataState, bytes: &[u8], max: u64) {
    if state.too_large {
        return;
    }
    if max != 0 && (state.buf.len() + bytes.len()) as u64 > max {
        state.too_large = true;
        state.buf = Vec::new();
        return;
    }
    state.buf.extend_from_slice(bytes);
}

fn too_large() -> Reply {
    Reply::enhanced(552, "5.3.4", "Message size exceeds administrative limit".into())
}

fn syntax(text: &str) -> Reply {
    Reply::enhanced(501, "5.5.4", text.to_string())
}

fn unsupported() -> Reply {
    Reply::enhanced(555, "5.5.4", "Unsupported parameters".into())
}

/// `FROM:` / `TO:` (case-insensitive), spaces after the colon tolerated.
fn strip_keyword<'a>(args: &'a str, keyword: &str) -> Option<&'a str> {
    let head = args.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword).then(|| args[keyword.len()..].trim_start())
}

/// `<path> PARAM PARAM…` → (path without brackets, params).
fn split_path(rest: &str, null_ok: bool) -> Result<(String, Vec<&str>), &'static str> {
    let inner = rest.strip_prefix('<').ok_or("Missing '<' at beginning of path")?;
    let end = inner.find('>').ok_or("Missing '>' at end of path")?;
    let path = &inner[..end];
    let after = &inner[end + 1..];
    if !after.is_empty() && !after.starts_with(' ') {
        return Err("Missing '>' at end of path");
    }
    if path.contains(' ') {
        return Err("Missing '>' at end of path");
    }
    if path.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("Invalid character in path");
    }
    if path.is_empty() && !null_ok {
        return Err("Null path not allowed");
    }
    Ok((path.to_string(), after.split(' ').filter(|p| !p.is_empty()).collect()))
}

/// `rfc822;xtext-address` → the decoded address.
fn parse_orcpt(value: &str) -> Option<String> {
    let (kind, xtext) = value.split_once(';')?;
    if !kind.eq_ignore_ascii_case("rfc822") {
        return None;
    }
    let bytes = xtext.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'+' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.is_empty() && !text.bytes().any(|b| b < 0x20)).then_some(text)
}

#[cfg(test)]
mod tests;
