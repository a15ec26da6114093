//! The `subscriptions` file (maildir.md §9): version 2 is `V\t2\n\n` followed by one line
//! per mailbox, its hierarchy levels tab-escaped and joined with TAB; version 1 files are
//! plain names, one per line. Names are kept as bytes so that a rewrite never alters
//! entries written by other tools.

use dovecot_strescape::{tab_escape_into, tab_unescape};

/// The default file name (changeable with `SUBSCRIPTIONS=` in `mail_location`).
pub const SUBSCRIPTIONS_FILE: &str = "subscriptions";
const V2_HEADER: &[u8] = b"V\t2\n\n";

/// The subscribed mailboxes of one mailbox list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    /// Each entry is a mailbox name split into hierarchy levels (unescaped). Version 1 entries
    /// have a single level holding the whole name.
    pub entries: Vec<Vec<Vec<u8>>>,
}

impl Subscriptions {
    /// Parses either version. Empty lines are skipped.
    pub fn parse(data: &[u8]) -> Subscriptions {
        let (v2, body) = match data.strip_prefix(V2_HEADER) {
            Some(body) => (true, body),
            None => (false, data),
        };
        let entries = body
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                if v2 {
                    line.split(|&b| b == b'\t').map(tab_unescape).collect()
                } else {
                    vec![line.to_vec()]
                }
            })
            .collect();
        Subscriptions { entries }
    }

    /// True when `levels` is subscribed.
    pub fn contains(&self, levels: &[Vec<u8>]) -> bool {
        self.entries.iter().any(|e| e.as_slice() == levels)
    }

    /// Adds `levels` unless present; returns true when it was added.
    pub fn add(&mut self, levels: Vec<Vec<u8>>) -> bool {
        if self.contains(&levels) {
            return false;
        }
        self.entries.push(levels);
        true
    }

    /// The file content, always in version 2 format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = V2_HEADER.to_vec();
        for entry in &self.entries {
            for (i, level) in entry.iter().enumerate() {
                if i > 0 {
                    out.push(b'\t');
                }
                tab_escape_into(level, &mut out);
            }
            out.push(b'\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn observed_file_bytes() {
        let mut subs = Subscriptions::default();
        assert!(subs.add(levels(&["Work", "Sub"])));
        assert!(subs.add(levels(&["Entw&APw-rfe", "Sub dir"])));
        assert!(!subs.add(levels(&["Work", "Sub"])));
        let bytes = subs.to_bytes();
        assert_eq!(bytes, b"V\t2\n\nWork\tSub\nEntw&APw-rfe\tSub dir\n");
        assert_eq!(Subscriptions::parse(&bytes), subs);
    }

    #[test]
    fn escaping_round_trip() {
        let raw = b"a\tb\x01c\rd\ne\0f".to_vec();
        let mut subs = Subscriptions::default();
        subs.add(vec![raw.clone()]);
        let bytes = subs.to_bytes();
        assert_eq!(bytes, b"V\t2\n\na\x01tb\x011c\x01rd\x01ne\x010f\n");
        assert_eq!(Subscriptions::parse(&bytes).entries, vec![vec![raw]]);
    }

    #[test]
    fn version_1_lines_are_whole_names() {
        let subs = Subscriptions::parse(b"INBOX\nWork.Sub\n\n");
        assert_eq!(subs.entries, vec![levels(&["INBOX"]), levels(&["Work.Sub"])]);
        assert!(subs.to_bytes().starts_with(b"V\t2\n\nINBOX\nWork.Sub\n"));
    }
}
