//! Appending one message to an mbox (mbox.md §3–4, mbox-save.c): open, lock, check the file
//! is an mbox, add a missing final `\n`, append From_ line + message at the end, patch in
//! `Content-Length`, `fdatasync`, put the old atime back, unlock. On any failure after the
//! append started the file is truncated back to where the message began, so an mbox never
//! keeps half a message.
//!
//! The cost does not depend on the mbox size: only the first 5 bytes (the `From ` check)
//! and the last byte are read, and writing starts at the end.

use std::fs::{File, FileTimes, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use nix::errno::Errno;

use crate::error::{ErrorKind, StorageError};
use crate::mailbox::{MessageSource, SaveOptions, SavedMail};
use crate::maildir::filename::virtual_size;
use crate::maildir::keywords::is_valid_keyword;
use crate::mbox::MboxMailbox;
use crate::mbox::from_line::from_line;
use crate::mbox::headers::{Written, write_message};
use crate::mbox::lock::MboxLocks;

/// How often the file is reopened when it was replaced while we waited for the locks.
const REOPEN_ATTEMPTS: usize = 3;

/// Copy buffer size.
const BUFFER: usize = 64 * 1024;

/// Why `SavedMail::uid` is empty for mbox.
const NO_UID_REASON: &str = "mbox: Dovecot assigns the UID when it next syncs the mailbox";

pub(crate) fn save(
    mb: &MboxMailbox,
    source: MessageSource<'_>,
    opts: &SaveOptions,
) -> Result<SavedMail, StorageError> {
    let (keywords, dropped_keywords) = split_keywords(&opts.keywords, mb);
    let received = opts.received.unwrap_or_else(SystemTime::now);
    let separator = from_line(opts.envelope_sender.as_deref(), received);
    for _ in 0..REOPEN_ATTEMPTS {
        let file = open_rw(&mb.path)?;
        let locks = MboxLocks::acquire(&file, &mb.path, &mb.settings)?;
        let Some(before) = same_file(&file, &mb.path)? else { continue };
        append(mb, &file, &before, &separator, source, opts, &keywords)?;
        locks.release()?;
        let (size, vsize) = sizes(source);
        return Ok(SavedMail {
            uid: None,
            path: mb.path.clone(),
            storage_id: String::new(),
            size,
            vsize,
            uid_missing_reason: Some(NO_UID_REASON.to_owned()),
            dropped_keywords,
            index_skipped_reason: None,
        });
    }
    Err(StorageError::temp(format!(
        "{}: file kept being replaced while locking",
        mb.path.display()
    )))
}

/// Valid keywords, without duplicates, and the ones that cannot be stored.
fn split_keywords(wanted: &[String], mb: &MboxMailbox) -> (Vec<String>, Vec<String>) {
    let mut keep: Vec<String> = Vec::new();
    let mut dropped = Vec::new();
    for keyword in wanted {
        if !is_valid_keyword(keyword, mb.settings.max_keyword_length) {
            dropped.push(keyword.clone());
        } else if !keep.contains(keyword) {
            keep.push(keyword.clone());
        }
    }
    (keep, dropped)
}

/// Opens for reading and writing; no permission or a read-only file system is Dovecot's
/// "Read-only mbox" (a permission error, so the LDA falls back to INBOX).
fn open_rw(path: &Path) -> Result<File, StorageError> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => Ok(file),
        Err(e)
            if matches!(
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                Errno::EACCES | Errno::EPERM | Errno::EROFS
            ) =>
        {
            let mut err = StorageError::new(ErrorKind::NoPermission, "Read-only mbox");
            err.path = Some(path.to_path_buf());
            err.set_detail(format!("open({}) failed: {e}: Read-only mbox", path.display()));
            Err(err)
        }
        Err(e) => Err(StorageError::io("open", path, e, false)),
    }
}

/// The file's metadata when `path` still names the locked file; `None` when it was replaced
/// (renamed over, or removed and recreated) while we waited for the locks.
fn same_file(file: &File, path: &Path) -> Result<Option<std::fs::Metadata>, StorageError> {
    let meta = file.metadata().map_err(|e| StorageError::io("fstat", path, e, false))?;
    match std::fs::metadata(path) {
        Ok(now) if now.dev() == meta.dev() && now.ino() == meta.ino() => Ok(Some(meta)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io("stat", path, e, false)),
    }
}

/// Everything done under the locks. On failure the file is cut back to `start`.
fn append(
    mb: &MboxMailbox,
    file: &File,
    before: &std::fs::Metadata,
    separator: &[u8],
    source: MessageSource<'_>,
    opts: &SaveOptions,
    keywords: &[String],
) -> Result<(), StorageError> {
    let path = &mb.path;
    let start = prepare_tail(file, path, before.len())?;
    let result = write_at_end(file, path, start, separator, source, opts, keywords)
        .and_then(|()| sync(mb, file, path));
    if let Err(err) = result {
        // Best effort: if even this fails the error already says the delivery failed.
        let _ = file.set_len(start);
        if mb.settings.fsync.enabled() {
            let _ = file.sync_data();
        }
        return Err(err);
    }
    // As Dovecot: keep the old atime so "new mail" (atime < mtime) detection works.
    let atime = SystemTime::UNIX_EPOCH
        + Duration::new(before.atime().max(0) as u64, before.atime_nsec().max(0) as u32);
    let times = FileTimes::new().set_accessed(atime).set_modified(SystemTime::now());
    let _ = file.set_times(times);
    Ok(())
}

/// Checks that a non-empty file starts like an mbox and ends with `\n` (adding one when it
/// does not, as Dovecot does; that byte stays even if the save fails). Returns the offset
/// where the new message starts.
fn prepare_tail(file: &File, path: &Path, size: u64) -> Result<u64, StorageError> {
    if size == 0 {
        return Ok(0);
    }
    let mut head = [0u8; 5];
    let head_len =
        read_at_most(file, &mut head, 0).map_err(|e| StorageError::io("pread", path, e, false))?;
    if &head[..head_len] != b"From " {
        let mut err = StorageError::temp("Mailbox isn't a valid mbox file");
        err.set_detail(format!("{}: Mailbox isn't a valid mbox file", path.display()));
        err.path = Some(path.to_path_buf());
        return Err(err);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, size - 1)
        .map_err(|e| StorageError::io("pread", path, e, false))?;
    if last[0] == b'\n' {
        return Ok(size);
    }
    file.write_all_at(b"\n", size).map_err(|e| StorageError::io("pwrite", path, e, false))?;
    Ok(size + 1)
}

fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Writes From_ line and message at `start`, then patches in `Content-Length`.
fn write_at_end(
    file: &File,
    path: &Path,
    start: u64,
    separator: &[u8],
    source: MessageSource<'_>,
    opts: &SaveOptions,
    keywords: &[String],
) -> Result<(), StorageError> {
    let write_err = |e: io::Error| StorageError::io("write", path, e, false);
    let mut out = BufWriter::with_capacity(BUFFER, file);
    out.seek(SeekFrom::Start(start)).map_err(|e| StorageError::io("lseek", path, e, false))?;
    out.write_all(separator).map_err(write_err)?;
    let written = match source {
        MessageSource::Bytes(data) => copy(&mut &data[..], &mut out, opts, keywords),
        MessageSource::File { path: input, .. } => {
            let staged =
                File::open(input).map_err(|e| StorageError::io("open", input, e, false))?;
            let mut reader =
                BufReader::with_capacity(BUFFER, TaggedReader { inner: staged, path: input });
            copy(&mut reader, &mut out, opts, keywords)
        }
    };
    let written = written.map_err(write_err)?;
    out.flush().map_err(write_err)?;
    let at = start + separator.len() as u64 + written.patch_offset();
    file.write_all_at(&written.content_length_patch(), at).map_err(write_err)
}

fn copy(
    input: &mut impl BufRead,
    out: &mut impl Write,
    opts: &SaveOptions,
    keywords: &[String],
) -> io::Result<Written> {
    write_message(input, out, &opts.flags, keywords)
}

/// Marks read errors of the staged message so they are not mistaken for errors writing
/// the mbox (a read error must not be classified as over quota).
struct TaggedReader<'a> {
    inner: File,
    path: &'a Path,
}

impl Read for TaggedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| io::Error::other(format!("read({}) failed: {e}", self.path.display())))
    }
}

fn sync(mb: &MboxMailbox, file: &File, path: &Path) -> Result<(), StorageError> {
    if mb.settings.fsync.enabled() {
        file.sync_data().map_err(|e| StorageError::io("fdatasync", path, e, false))?;
    }
    Ok(())
}

fn sizes(source: MessageSource<'_>) -> (u64, u64) {
    match source {
        MessageSource::Bytes(data) => (data.len() as u64, virtual_size(data)),
        MessageSource::File { size, vsize, .. } => (size, vsize),
    }
}
