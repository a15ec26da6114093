//! The incoming message: read once from stdin or `-p`, normalised, and kept where saves can use it.
//!
//! Dovecot's LDA buffers up to 128 KiB in memory and spills the rest into a temporary file, then
//! copies it into the mailbox. letterbox spills instead into a *staging file* inside the user's
//! INBOX `tmp/` (same filesystem as the mail), so a large message is written once and then
//! hard-linked into place. The staging file is removed when the message is dropped, so every
//! failure path leaves nothing behind (and Dovecot cleans stale `tmp/` files anyway).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use mail_storage::MessageSource;

use crate::normalize::Normalizer;

/// Messages up to this size stay in memory (Dovecot's own threshold).
pub const MEMORY_LIMIT: usize = 128 * 1024;
/// How much of the header block is kept for log lines and Sieve header access without reading
/// the whole message back.
pub const HEADER_CAPTURE_LIMIT: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;
/// The input buffer starts at this size and doubles up to [`CHUNK`] while reads fill it: most
/// messages fit at once, and a one-shot `deliver` then touches (and zeroes) two pages, not 16.
const FIRST_CHUNK: usize = 8 * 1024;
/// A staged file is flushed to disk in the background every this many bytes, so the final fsync
/// of a large message has little left to do (disk writes overlap with reading the input).
const FLUSH_EVERY: u64 = 4 * 1024 * 1024;

/// Creates the staging file for a message too large for memory: returns its path and the open file.
pub type StageFn<'a> = dyn FnMut() -> io::Result<(PathBuf, File)> + 'a;

/// Why the message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// Reading the input (stdin or the `-p` file) failed.
    #[error("Failed to read message from {source_name}: {error}")]
    Read {
        /// `stdin` or the `-p` path.
        source_name: String,
        /// The underlying error.
        error: io::Error,
    },
    /// Writing the staging file failed.
    #[error("Failed to write staging file {path}: {error}")]
    Stage {
        /// Path of the staging file.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
}

/// Where the stored form of the message lives.
#[derive(Debug)]
enum Body {
    Memory(Vec<u8>),
    /// A staging file we created: removed on drop.
    Staged(PathBuf),
    /// The caller's `-p` file, stored as it is: never removed.
    Borrowed(PathBuf),
}

/// One message as it will be stored (normalised), with what the delivery needs to know about it.
#[derive(Debug)]
pub struct IncomingMessage {
    body: Body,
    size: u64,
    vsize: u64,
    header: Vec<u8>,
    from_line_sender: Option<String>,
}

impl IncomingMessage {
    /// Read a message from stdin as the MTA hands it: a leading mbox `From ` line is consumed and
    /// its sender remembered; line endings are normalised.
    pub fn from_stdin(input: impl Read, stage: &mut StageFn<'_>) -> Result<Self, MessageError> {
        let mut reader = Reader::new(input, "stdin");
        let first = reader.fill_at_least(5)?;
        let from_line_sender =
            if first.starts_with(b"From ") { Some(reader.consume_from_line()?) } else { None };
        let mut msg = Self::read_rest(reader, stage)?;
        msg.from_line_sender = from_line_sender;
        Ok(msg)
    }

    /// Read the message of `-p PATH`. A file that can be stored as it is (LF line endings, no
    /// leading `From ` line) is used in place so saves can hard-link it (seed-wins.md); anything
    /// else is normalised like stdin, but a `From ` line is kept, as Dovecot 2.3 keeps it.
    pub fn from_path(path: &Path, stage: &mut StageFn<'_>) -> Result<Self, MessageError> {
        let read_err =
            |error| MessageError::Read { source_name: path.display().to_string(), error };
        if let Some(msg) = Self::try_in_place(path).map_err(read_err)? {
            return Ok(msg);
        }
        let file = File::open(path).map_err(read_err)?;
        Self::read_rest(Reader::new(file, &path.display().to_string()), stage)
    }

    /// A message already received and normalised in memory (LMTP's DATA after dot-unstuffing
    /// and CRLF → LF): kept as it is.
    pub fn from_normalized_bytes(bytes: Vec<u8>) -> Self {
        let mut header = HeaderCapture::default();
        header.push(&bytes);
        let size = bytes.len() as u64;
        let vsize = crate::normalize::virtual_size(&bytes);
        Self {
            body: Body::Memory(bytes),
            size,
            vsize,
            header: header.bytes,
            from_line_sender: None,
        }
    }

    /// Scan a `-p` file; if it needs no change, describe it without copying.
    fn try_in_place(path: &Path) -> io::Result<Option<Self>> {
        let mut file = File::open(path)?;
        let mut buf = vec![0u8; CHUNK];
        let mut header = HeaderCapture::default();
        let (mut size, mut vsize, mut first) = (0u64, 0u64, true);
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            if chunk.contains(&b'\r') || (first && chunk.starts_with(b"From ")) {
                return Ok(None);
            }
            first = false;
            header.push(chunk);
            size += n as u64;
            vsize += n as u64 + chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        let body = Body::Borrowed(std::path::absolute(path)?);
        Ok(Some(Self { body, size, vsize, header: header.bytes, from_line_sender: None }))
    }

    fn read_rest(
        mut reader: Reader<impl Read>,
        stage: &mut StageFn<'_>,
    ) -> Result<Self, MessageError> {
        let mut normalizer = Normalizer::default();
        let mut header = HeaderCapture::default();
        let mut memory = Vec::new();
        let mut staged: Option<Staged> = None;
        let mut out = Vec::with_capacity(CHUNK + 1);
        while let Some(chunk) = reader.next_chunk()? {
            out.clear();
            normalizer.feed(chunk, &mut out);
            header.push(&out);
            write_out(&mut memory, &mut staged, &out, stage)?;
        }
        out.clear();
        normalizer.finish();
        let body = match staged {
            Some(staged) => Body::Staged(staged.finish()),
            None => Body::Memory(memory),
        };
        Ok(Self {
            body,
            size: normalizer.size(),
            vsize: normalizer.vsize(),
            header: header.bytes,
            from_line_sender: None,
        })
    }

    /// The message as a storage source.
    pub fn source(&self) -> MessageSource<'_> {
        match &self.body {
            Body::Memory(bytes) => MessageSource::Bytes(bytes),
            Body::Staged(path) | Body::Borrowed(path) => {
                MessageSource::File { path, size: self.size, vsize: self.vsize, may_link: true }
            }
        }
    }

    /// True when the message came from a `-p` file used in place (keeps its own mtime).
    pub fn is_borrowed_file(&self) -> bool {
        matches!(self.body, Body::Borrowed(_))
    }

    /// The whole stored form (read back from the staging file when it was spilled).
    pub fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        match &self.body {
            Body::Memory(bytes) => Ok(Cow::Borrowed(bytes)),
            Body::Staged(path) | Body::Borrowed(path) => std::fs::read(path).map(Cow::Owned),
        }
    }

    /// The header block (up to and including the blank line), capped at [`HEADER_CAPTURE_LIMIT`].
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// Physical size as stored.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Virtual size (line ends counted as CRLF).
    pub fn vsize(&self) -> u64 {
        self.vsize
    }

    /// Sender named by a leading mbox `From ` line on stdin, if there was one.
    pub fn from_line_sender(&self) -> Option<&str> {
        self.from_line_sender.as_deref()
    }
}

impl Drop for IncomingMessage {
    fn drop(&mut self) {
        if let Body::Staged(path) = &self.body {
            // Best effort: a leftover tmp/ file is harmless and Dovecot expires it after 36 h.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A staging file being written. Every [`FLUSH_EVERY`] bytes the kernel is asked to start
/// writing back what was written (`posix_fadvise(DONTNEED)` starts asynchronous writeback on
/// Linux and drops the pages once clean), so disk writes overlap with reading the input, the
/// final fsync has little left to do, and a large message does not sit in the page cache.
struct Staged {
    path: PathBuf,
    file: File,
    written: u64,
    flushed: u64,
}

impl Staged {
    fn new(path: PathBuf, file: File) -> Self {
        Self { path, file, written: 0, flushed: 0 }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), MessageError> {
        self.file
            .write_all(bytes)
            .map_err(|error| MessageError::Stage { path: self.path.clone(), error })?;
        self.written += bytes.len() as u64;
        if self.written - self.flushed >= FLUSH_EVERY {
            let (start, len) = (self.flushed, self.written - self.flushed);
            // Advisory only: the storage's final fsync is what makes the message durable.
            let _ = nix::fcntl::posix_fadvise(
                &self.file,
                i64::try_from(start).unwrap_or(i64::MAX),
                i64::try_from(len).unwrap_or(i64::MAX),
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
            );
            self.flushed = self.written;
        }
        Ok(())
    }

    /// Hand over the path (durability is the storage's final fsync).
    fn finish(self) -> PathBuf {
        self.path
    }
}

/// Append normalised bytes to memory, spilling into a staging file past [`MEMORY_LIMIT`].
fn write_out(
    memory: &mut Vec<u8>,
    staged: &mut Option<Staged>,
    out: &[u8],
    stage: &mut StageFn<'_>,
) -> Result<(), MessageError> {
    if staged.is_none() && memory.len() + out.len() <= MEMORY_LIMIT {
        memory.extend_from_slice(out);
        return Ok(());
    }
    let target = match staged {
        Some(target) => target,
        None => {
            let (path, file) = stage().map_err(|error| MessageError::Stage {
                path: PathBuf::from("(staging directory)"),
                error,
            })?;
            staged.insert(Staged::new(path, file))
        }
    };
    if !memory.is_empty() {
        target.write(memory)?;
        *memory = Vec::new();
    }
    target.write(out)
}

/// Keeps the header block, bounded.
#[derive(Default)]
struct HeaderCapture {
    bytes: Vec<u8>,
    done: bool,
}

impl HeaderCapture {
    fn push(&mut self, chunk: &[u8]) {
        if self.done {
            return;
        }
        let room = HEADER_CAPTURE_LIMIT - self.bytes.len();
        let take = &chunk[..chunk.len().min(room)];
        let search_from = self.bytes.len().saturating_sub(1);
        self.bytes.extend_from_slice(take);
        if let Some(end) = find_header_end(&self.bytes[search_from..]) {
            self.bytes.truncate(search_from + end);
            self.done = true;
        } else if self.bytes.len() >= HEADER_CAPTURE_LIMIT {
            self.done = true;
        }
    }
}

/// Index just past the `\n\n` (or leading `\n`) that ends a header block.
fn find_header_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2)
}

/// Buffered reader that can look ahead at the start of the input.
struct Reader<R> {
    inner: R,
    name: String,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Reader<R> {
    fn new(inner: R, name: &str) -> Self {
        let buf = vec![0; FIRST_CHUNK];
        Self { inner, name: name.to_string(), buf, start: 0, end: 0, eof: false }
    }

    fn err(&self, error: io::Error) -> MessageError {
        MessageError::Read { source_name: self.name.clone(), error }
    }

    fn read_more(&mut self) -> Result<bool, MessageError> {
        if self.eof || self.end == self.buf.len() {
            return Ok(false);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    /// Buffered bytes, after trying to have at least `n` of them.
    fn fill_at_least(&mut self, n: usize) -> Result<&[u8], MessageError> {
        while self.end - self.start < n && self.read_more()? {}
        Ok(&self.buf[self.start..self.end])
    }

    /// Skip the mbox `From ` line; return its sender (the first word after `From `).
    fn consume_from_line(&mut self) -> Result<String, MessageError> {
        let mut line = Vec::new();
        loop {
            let avail = &self.buf[self.start..self.end];
            if let Some(pos) = avail.iter().position(|&b| b == b'\n') {
                line.extend_from_slice(&avail[..pos.min(1024)]);
                self.start += pos + 1;
                break;
            }
            if line.len() < 1024 {
                line.extend_from_slice(&avail[..avail.len().min(1024 - line.len())]);
            }
            self.start = 0;
            self.end = 0;
            if !self.read_more()? {
                break;
            }
        }
        let text = String::from_utf8_lossy(&line[5.min(line.len())..]).into_owned();
        Ok(text.split([' ', '\t', '\r']).next().unwrap_or("").to_string())
    }

    /// Next chunk of input (buffered bytes first).
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, MessageError> {
        if self.start == self.end {
            if self.end == self.buf.len() && self.buf.len() < CHUNK {
                self.buf.resize((self.buf.len() * 2).min(CHUNK), 0);
            }
            self.start = 0;
            self.end = 0;
            if !self.read_more()? {
                return Ok(None);
            }
        }
        let (start, end) = (self.start, self.end);
        self.start = end;
        Ok(Some(&self.buf[start..end]))
    }
}
