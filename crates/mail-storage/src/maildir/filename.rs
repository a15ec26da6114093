//! Maildir file names as Dovecot writes them (maildir.md §3): the unique base
//! `<sec>.M<usec>P<pid>.<host>`, the `,S=<size>,W=<vsize>` fields and the `:2,<flags>`
//! info suffix. Mirrors maildir-filename.c and maildir-filename-flags.c.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::mailbox::MailFlags;

/// Makes a host name safe inside a file name: `/` and `:` would break the path and the
/// info separator, so they become `\057` and `\072` (the Maildir convention). Dovecot
/// refuses such host names at start-up; other names pass through unchanged.
pub fn sanitize_hostname(host: &str) -> String {
    host.replace('/', "\\057").replace(':', "\\072")
}

/// A new unique base name. Inside one process names never repeat: if the clock has not
/// moved past the previous name, microseconds (then seconds) are incremented.
pub fn unique_base(hostname: &str) -> String {
    static LAST: Mutex<(u64, u32)> = Mutex::new((0, 0));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut stamp = (now.as_secs(), now.subsec_micros());
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if stamp <= *last {
        stamp = if last.1 >= 999_999 { (last.0 + 1, 0) } else { (last.0, last.1 + 1) };
    }
    *last = stamp;
    drop(last);
    format!("{}.M{}P{}.{}", stamp.0, stamp.1, std::process::id(), sanitize_hostname(hostname))
}

/// RFC 822 size: the physical size plus one for every LF not preceded by CR.
pub fn virtual_size(data: &[u8]) -> u64 {
    let mut vsize = data.len() as u64;
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            vsize += 1;
        }
        prev = b;
    }
    vsize
}

/// Streaming form of [`virtual_size`]: feed chunks in order.
#[derive(Debug, Default, Clone, Copy)]
pub struct VsizeCounter {
    size: u64,
    vsize: u64,
    prev: u8,
}

impl VsizeCounter {
    /// Accounts for one chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if b == b'\n' && self.prev != b'\r' {
                self.vsize += 1;
            }
            self.prev = b;
        }
        self.size += chunk.len() as u64;
        self.vsize += chunk.len() as u64;
    }

    /// (physical size, virtual size) so far.
    pub fn sizes(&self) -> (u64, u64) {
        (self.size, self.vsize)
    }
}

/// `<base>,S=<size>,W=<vsize>`.
pub fn with_sizes(base: &str, size: u64, vsize: u64) -> String {
    format!("{base},S={size},W={vsize}")
}

/// The `:2,<letters>` suffix, or `None` when the message has no flag and no keyword (then it
/// goes to `new/`). Letters are written in ASCII order; `keyword_letters` are `a`–`z`.
pub fn info_suffix(flags: &MailFlags, keyword_letters: &[char]) -> Option<String> {
    let mut letters: Vec<char> = [
        (flags.draft, 'D'),
        (flags.flagged, 'F'),
        (flags.answered, 'R'),
        (flags.seen, 'S'),
        (flags.deleted, 'T'),
    ]
    .into_iter()
    .filter_map(|(set, letter)| set.then_some(letter))
    .chain(keyword_letters.iter().copied())
    .collect();
    if letters.is_empty() {
        return None;
    }
    letters.sort_unstable();
    letters.dedup();
    Some(format!(":2,{}", letters.into_iter().collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_name_shape_and_uniqueness() {
        let names: Vec<String> = (0..1000).map(|_| unique_base("vm")).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        let (sec, rest) = names[0].split_once(".M").unwrap();
        assert!(sec.parse::<u64>().is_ok());
        let (usec, rest) = rest.split_once('P').unwrap();
        assert!(usec.parse::<u32>().unwrap() < 1_000_000);
        assert!(!usec.starts_with('0') || usec == "0");
        assert_eq!(rest, format!("{}.vm", std::process::id()));
    }

    #[test]
    fn hostname_sanitising() {
        assert_eq!(sanitize_hostname("vm"), "vm");
        assert_eq!(sanitize_hostname("a/b:c"), "a\\057b\\072c");
        assert!(unique_base("h:x").ends_with(".h\\072x"));
    }

    #[test]
    fn sizes_match_observed_values() {
        assert_eq!(virtual_size(b""), 0);
        let msg = b"Subject: t\n\nbody\n";
        assert_eq!((msg.len(), virtual_size(msg)), (17, 20));
        assert_eq!(virtual_size(b"a\r\nb\n\r"), 7);
        let mut counter = VsizeCounter::default();
        counter.update(b"a\r");
        counter.update(b"\nb\n");
        assert_eq!(counter.sizes(), (5, 6));
        assert_eq!(with_sizes("1.M2P3.vm", 17, 20), "1.M2P3.vm,S=17,W=20");
    }

    #[test]
    fn flag_letters_in_ascii_order() {
        let all =
            MailFlags { seen: true, answered: true, flagged: true, deleted: false, draft: true };
        assert_eq!(info_suffix(&all, &['b', 'a']).as_deref(), Some(":2,DFRSab"));
        assert_eq!(info_suffix(&MailFlags::default(), &[]), None);
        let trash = MailFlags { deleted: true, ..MailFlags::default() };
        assert_eq!(info_suffix(&trash, &[]).as_deref(), Some(":2,T"));
        assert_eq!(info_suffix(&MailFlags::default(), &['c']).as_deref(), Some(":2,c"));
    }
}
