//! `dovecot-keywords`: maps Maildir filename letters `a`–`z` to IMAP keywords
//! (maildir.md §7). One line per keyword, `<index> <name>\n`, in index order.

/// The file name Dovecot uses, in the mailbox's control directory.
pub const KEYWORDS_FILE: &str = "dovecot-keywords";
/// Letters `a`–`z`: at most 26 keywords can appear in file names.
pub const MAX_KEYWORDS: usize = 26;

/// The keyword table of one mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keywords {
    slots: Vec<Option<String>>,
}

impl Keywords {
    /// Parses the file. Lines without a space, with a bad or too large index, with an empty
    /// name or with a name already seen are ignored, as Dovecot's reader does.
    pub fn parse(data: &[u8]) -> Keywords {
        let mut keywords = Keywords { slots: vec![None; MAX_KEYWORDS] };
        for line in data.split(|&b| b == b'\n') {
            let Ok(line) = std::str::from_utf8(line) else { continue };
            let Some((index, name)) = line.split_once(' ') else { continue };
            let Ok(index) = index.parse::<usize>() else { continue };
            if index >= MAX_KEYWORDS || name.is_empty() || keywords.index_of(name).is_some() {
                continue;
            }
            keywords.slots[index] = Some(name.to_owned());
        }
        keywords
    }

    /// The file content: used indexes in order, unused ones absent.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for (index, name) in self.slots.iter().enumerate() {
            if let Some(name) = name {
                out.push_str(&format!("{index} {name}\n"));
            }
        }
        out.into_bytes()
    }

    /// Index of a keyword (exact, case-sensitive match as IMAP keywords are stored).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.slots.iter().position(|slot| slot.as_deref() == Some(name))
    }

    /// The keyword stored at `index`, if any.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.slots.get(index).and_then(|s| s.as_deref())
    }

    /// The name a reader shows for a filename letter: the stored keyword, or the generated
    /// `unknown-<n>` Dovecot uses for letters without an entry. `None` for non-keyword letters.
    pub fn name_for_letter(&self, letter: u8) -> Option<String> {
        if !letter.is_ascii_lowercase() {
            return None;
        }
        let index = usize::from(letter - b'a');
        Some(self.get(index).map_or_else(|| format!("unknown-{index}"), str::to_owned))
    }

    /// Index of `name`, giving it the lowest free index when it is new. `None` when all 26
    /// are taken (the keyword then stays out of file names). The bool is true when the
    /// table changed and must be written back.
    pub fn get_or_assign(&mut self, name: &str) -> Option<(usize, bool)> {
        if let Some(index) = self.index_of(name) {
            return Some((index, false));
        }
        if self.slots.len() < MAX_KEYWORDS {
            self.slots.resize(MAX_KEYWORDS, None);
        }
        let free = self.slots.iter().position(Option::is_none)?;
        self.slots[free] = Some(name.to_owned());
        Some((free, true))
    }

    /// The filename letter for a keyword index (`0` → `a`).
    pub fn letter(index: usize) -> Option<char> {
        (index < MAX_KEYWORDS).then(|| char::from(b'a' + index as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_observed_file() {
        let data = b"0 $Label1\n1 Work\n";
        let kw = Keywords::parse(data);
        assert_eq!(kw.index_of("Work"), Some(1));
        assert_eq!(kw.to_bytes(), data);
    }

    #[test]
    fn bad_lines_are_ignored() {
        let kw = Keywords::parse(b"noindex\n26 Big\nx Bad\n3 \n2 A\n4 A\n5 B\n");
        assert_eq!(kw.to_bytes(), b"2 A\n5 B\n");
        assert_eq!(kw.name_for_letter(b'c').as_deref(), Some("A"));
        assert_eq!(kw.name_for_letter(b'a').as_deref(), Some("unknown-0"));
        assert_eq!(kw.name_for_letter(b'S'), None);
    }

    #[test]
    fn lowest_free_index_and_limit() {
        let mut kw = Keywords::parse(b"1 B\n");
        assert_eq!(kw.get_or_assign("A"), Some((0, true)));
        assert_eq!(kw.get_or_assign("B"), Some((1, false)));
        for n in 0..24 {
            assert!(kw.get_or_assign(&format!("k{n}")).is_some());
        }
        assert_eq!(kw.get_or_assign("one-too-many"), None);
        assert_eq!(Keywords::letter(25), Some('z'));
        assert_eq!(Keywords::letter(26), None);
    }
}
