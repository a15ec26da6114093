//! Dovecot 2.3's mailbox index files: the transaction log `dovecot.index.log`, the snapshot
//! `dovecot.index` and the cache `dovecot.index.cache` (index-files.md).
//!
//! What it does: byte-exact readers for the three formats, and a planner
//! ([`plan_append`]) that turns one Maildir delivery into exactly the bytes Dovecot's
//! LDA appends: a Maildir sync transaction (the `maildir` extension header), a
//! `log_file_tail_offset` header update, and the save transaction (APPEND, `cache`
//! extension record, `day_stamp` header update, KEYWORD_UPDATEs), plus one record for the
//! cache file. A fresh index (log + cache) is planned as whole files.
//!
//! What it deliberately does not do: any I/O besides reading through [`ReadAt`], any
//! locking, or deciding *when* to write (the storage layer does, under the uidlist and
//! log locks). For the snapshot it computes bytes only: [`rebuild_index`] applies the log
//! tail to a whole [`IndexMap`] (`index_map`, `map_sync`) and serializes the `dovecot.index`
//! Dovecot would write; [`should_rewrite`] and [`should_rotate`] state when dovecot-lda
//! rewrites it and rotates the log; the caller does the file operations. Whenever the
//! existing files hold something it does not fully understand it returns an error, and the
//! caller must leave the index files as they are: Dovecot then catches up by itself.
//!
//! Mirrors the behaviour of dovecot/core@2.3.19.1 src/lib-index/ (mail-transaction-log*,
//! mail-index-sync*, mail-cache*) and src/lib-storage/index/maildir/maildir-save.c as
//! observed in files written by Debian's dovecot-lda 2.3.19; no code is taken from there.

pub mod index_cache;
pub mod index_log;
pub mod index_main;
pub mod index_map;
pub mod map_sync;
pub mod message;
pub mod plan;
pub mod state;

pub use index_cache::{CacheFieldHeader, CacheHeader};
pub use index_log::{LogHeader, LogRecord, RawRecord};
pub use index_main::IndexHeader;
pub use index_map::IndexMap;
pub use map_sync::{RewriteSettings, highest_modseq, rebuild_index, should_rewrite};
pub use message::MessageSummary;
pub use plan::{
    AppendPlan, CacheWrite, IndexUpdate, LogWrite, MaildirHeader, RotateSettings, plan_append,
    plan_append_to_state, should_rotate,
};
pub use state::IndexState;

use std::fmt;
use std::io;

/// Which of the three index files an error is about (the caller adds the directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexFile {
    /// `dovecot.index.log`
    Log,
    /// `dovecot.index`
    Index,
    /// `dovecot.index.cache`
    Cache,
}

impl fmt::Display for IndexFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IndexFile::Log => "dovecot.index.log",
            IndexFile::Index => "dovecot.index",
            IndexFile::Cache => "dovecot.index.cache",
        })
    }
}

/// Why the index files could not be read or an update could not be planned. Every
/// variant means the same to a delivery: leave the index files alone and log the reason.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The data ends before a structure it announces (short header, record past EOF, a
    /// transaction still being written).
    #[error("{file}: truncated at offset {offset}: {what}")]
    Truncated {
        /// File concerned.
        file: IndexFile,
        /// Byte offset where the missing data should start.
        offset: u64,
        /// What was being read.
        what: &'static str,
    },
    /// The data is inconsistent in a way Dovecot itself would call corruption.
    #[error("{file}: corrupted at offset {offset}: {reason}")]
    Corrupt {
        /// File concerned.
        file: IndexFile,
        /// Byte offset of the offending structure.
        offset: u64,
        /// Human-readable reason.
        reason: String,
    },
    /// Valid as far as we can tell, but outside what this module handles safely
    /// (unknown version, unknown extension layout, pending changes, …).
    #[error("unsupported index state: {0}")]
    Unsupported(String),
    /// Reading through [`ReadAt`] failed.
    #[error("{file}: read of {len} bytes at offset {offset} failed: {source}")]
    Io {
        /// File concerned.
        file: IndexFile,
        /// Offset of the read.
        offset: u64,
        /// Length of the read.
        len: usize,
        /// The underlying error.
        source: io::Error,
    },
}

impl IndexError {
    pub(crate) fn corrupt(file: IndexFile, offset: u64, reason: impl Into<String>) -> Self {
        IndexError::Corrupt { file, offset, reason: reason.into() }
    }
    pub(crate) fn unsupported(reason: impl Into<String>) -> Self {
        IndexError::Unsupported(reason.into())
    }
}

/// Random-access reads, so the planner can read just the parts of a file it needs (the log
/// tail after the offset `dovecot.index` records, the cache header) instead of whole files
/// whose size grows with the mailbox.
pub trait ReadAt {
    /// Current size of the file in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Reads exactly `len` bytes at `offset` (fewer only at end of file).
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>>;
}

impl ReadAt for [u8] {
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.len());
        let end = start.saturating_add(len).min(self.len());
        Ok(self[start..end].to_vec())
    }
}

impl ReadAt for &[u8] {
    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        (**self).read_at(offset, len)
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> io::Result<u64> {
        self.as_slice().size()
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.as_slice().read_at(offset, len)
    }
}

impl ReadAt for std::fs::File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            let n = FileExt::read_at(self, &mut buf[done..], offset + done as u64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }
}

/// Reads `len` bytes at `offset`, mapping errors and short reads to typed errors.
pub(crate) fn read_exact(
    src: &dyn ReadAt,
    file: IndexFile,
    offset: u64,
    len: usize,
    what: &'static str,
) -> Result<Vec<u8>, IndexError> {
    let buf =
        src.read_at(offset, len).map_err(|source| IndexError::Io { file, offset, len, source })?;
    if buf.len() < len {
        return Err(IndexError::Truncated { file, offset: offset + buf.len() as u64, what });
    }
    Ok(buf)
}

/// Little-endian field access with bounds checks (all index files are host-endian, and we
/// only accept the little-endian compat flag).
pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

/// See [`u16_at`].
pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// See [`u16_at`].
pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Rounds up to a multiple of 4 (log payloads, names, cache data).
pub(crate) fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends zero bytes until `buf.len()` is a multiple of 4.
pub(crate) fn pad_to4(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}
