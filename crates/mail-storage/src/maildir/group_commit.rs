//! Group commit: messages that threads of one process (the LMTP server's connections) save
//! into the same Maildir at the same moment share one hold of the uidlist lock, one fsync of
//! `new/` and one fdatasync of `dovecot-uidlist`.
//!
//! Each save first writes and fsyncs its own file in `tmp/` (in parallel with the others),
//! then queues itself here. If no thread is committing for that mailbox, it becomes the
//! leader: it takes every queued save and commits them together
//! ([`uidlist_sync::commit_batch`]: the uidlist lock is released before the fsyncs, so other
//! processes wait less); the others wait for their result. A save that arrives while a batch
//! is being committed is in the next batch, led by the oldest waiter once this batch is on
//! disk (starting it earlier was measured: batches of ~1 message, +20 % CPU per message). Only processes that called
//! [`crate::begin_long_lived_process`] queue; a lone delivery (`letterbox deliver`) commits
//! its batch of one directly. Durability is unchanged: nobody is told "saved"
//! before its file, its directory entry and its uidlist record are on disk.
//!
//! Dovecot has no equivalent (each LMTP process takes the lock per message); processes still
//! exclude each other through the dotlock, which the leader holds for the whole batch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use crate::error::StorageError;
use crate::maildir::MaildirMailbox;
use crate::maildir::uidlist_sync::{Committed, PendingSave, commit_batch};

/// Whether saves go through the shared queue (set for long-lived, multi-threaded processes).
static SHARED: AtomicBool = AtomicBool::new(false);

/// Turns group commit on or off for this process (see [`crate::begin_long_lived_process`]).
pub(crate) fn share_commits(enable: bool) {
    SHARED.store(enable, Ordering::Relaxed);
}

/// Most saves committed under one lock hold (bounds the leader's extra latency).
const MAX_BATCH: usize = 64;

/// One queued save and, once committed, its result.
struct Job {
    save: PendingSave,
    result: Mutex<Option<Result<Committed, StorageError>>>,
    /// Signalled (with the registry's lock) when the result is in, or when this job's thread
    /// should become the next leader: each wake-up reaches only a thread that has something to
    /// do, not every waiting connection.
    wake: Condvar,
}

/// The saves waiting for one mailbox, and whether a leader is committing.
#[derive(Default)]
struct Queue {
    waiting: Vec<Arc<Job>>,
    committing: bool,
}

struct Registry {
    queues: Mutex<HashMap<String, Queue>>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry { queues: Mutex::new(HashMap::new()) })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Places `save` (already durable in `tmp/`) and gives it its UID, together with whatever
/// other threads are saving into the same mailbox right now.
pub(crate) fn submit(mb: &MaildirMailbox, save: PendingSave) -> Result<Committed, StorageError> {
    if !SHARED.load(Ordering::Relaxed) {
        // One delivery per process (`letterbox deliver`): nobody to share a commit with.
        let mut results = commit_batch(mb, std::slice::from_ref(&save));
        return results.pop().unwrap_or_else(|| Err(StorageError::temp("nothing committed")));
    }
    // Only saves with identical paths, permissions and settings may share a commit.
    let key = format!("{mb:?}");
    let job = Arc::new(Job { save, result: Mutex::new(None), wake: Condvar::new() });
    let reg = registry();
    let mut queues = lock(&reg.queues);
    queues.entry(key.clone()).or_default().waiting.push(Arc::clone(&job));
    loop {
        if let Some(result) = lock(&job.result).take() {
            forget_if_idle(&mut queues, &key);
            return result;
        }
        let queue = queues.entry(key.clone()).or_default();
        if !queue.committing {
            queue.committing = true;
            let take = queue.waiting.len().min(MAX_BATCH);
            let batch: Vec<Arc<Job>> = queue.waiting.drain(..take).collect();
            drop(queues);
            lead(mb, &key, batch);
            queues = lock(&reg.queues);
            continue;
        }
        queues = job.wake.wait(queues).unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

/// Commits `batch` and hands out the results; the guard does the handing out even if the
/// commit panics (each job then gets a temporary failure), so no waiter is left hanging.
fn lead(mb: &MaildirMailbox, key: &str, batch: Vec<Arc<Job>>) {
    let mut leader = Leader { key, batch, results: Vec::new() };
    let saves: Vec<PendingSave> = leader.batch.iter().map(|job| job.save.clone()).collect();
    leader.results = commit_batch(mb, &saves);
}

struct Leader<'a> {
    key: &'a str,
    batch: Vec<Arc<Job>>,
    results: Vec<Result<Committed, StorageError>>,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let reg = registry();
        let mut queues = lock(&reg.queues);
        let mut results = std::mem::take(&mut self.results).into_iter();
        for job in &self.batch {
            let result = results.next().unwrap_or_else(|| {
                Err(StorageError::temp("internal error while committing the message"))
            });
            *lock(&job.result) = Some(result);
        }
        for job in &self.batch {
            job.wake.notify_one();
        }
        if let Some(queue) = queues.get_mut(self.key) {
            queue.committing = false;
            // The oldest waiter leads the next batch.
            if let Some(next) = queue.waiting.first() {
                next.wake.notify_one();
            }
        }
    }
}

/// Drops the mailbox's queue once nobody uses it (the map stays small in a long-lived server).
fn forget_if_idle(queues: &mut HashMap<String, Queue>, key: &str) {
    if queues.get(key).is_some_and(|q| !q.committing && q.waiting.is_empty()) {
        queues.remove(key);
    }
}
