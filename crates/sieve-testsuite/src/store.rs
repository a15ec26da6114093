//! The test mail store (spec sieve-testsuite.md §5.2): named mailboxes (hierarchy separator
//! `.`, `INBOX` case-insensitive), each an ordered list of messages with their IMAP flags, and
//! IMAP METADATA entries. Kept in memory: a test case never outlives its process and the suite
//! directory must stay untouched. Also reads Dovecot "file dict" script stores for `include`.

use std::collections::BTreeMap;

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The message bytes as stored.
    pub raw: Vec<u8>,
    /// IMAP flags and keywords.
    pub flags: Vec<String>,
}

/// The mailboxes of the test user.
#[derive(Debug, Clone)]
pub struct MailStore {
    boxes: BTreeMap<String, Vec<StoredMessage>>,
    metadata: BTreeMap<(Option<String>, String), String>,
}

impl Default for MailStore {
    fn default() -> Self {
        let mut boxes = BTreeMap::new();
        boxes.insert("INBOX".to_owned(), Vec::new());
        MailStore { boxes, metadata: BTreeMap::new() }
    }
}

/// Canonical name: `INBOX` (any case) as the first component becomes `INBOX`.
fn canonical(name: &str) -> String {
    match name.split_once('.') {
        Some((first, rest)) if first.eq_ignore_ascii_case("INBOX") => format!("INBOX.{rest}"),
        _ if name.eq_ignore_ascii_case("INBOX") => "INBOX".to_owned(),
        _ => name.to_owned(),
    }
}

/// Why a mailbox name cannot be used.
pub fn invalid_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("Mailbox name is empty");
    }
    if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return Some("Mailbox name is not valid");
    }
    if name.contains('/') {
        return Some("Character not allowed in mailbox name: '/'");
    }
    if name.chars().any(|c| c.is_control()) {
        return Some("Mailbox name contains control characters");
    }
    None
}

impl MailStore {
    /// Whether the mailbox exists.
    pub fn exists(&self, name: &str) -> bool {
        self.boxes.contains_key(&canonical(name))
    }

    /// Creates the mailbox (no error when it exists).
    pub fn create(&mut self, name: &str) -> Result<(), String> {
        if let Some(why) = invalid_name(name) {
            return Err(format!("Invalid mailbox name '{name}': {why}"));
        }
        self.boxes.entry(canonical(name)).or_default();
        Ok(())
    }

    /// Appends a message; fails when the mailbox does not exist.
    pub fn append(&mut self, name: &str, message: StoredMessage) -> Result<(), String> {
        if let Some(why) = invalid_name(name) {
            return Err(format!("Invalid mailbox name '{name}': {why}"));
        }
        match self.boxes.get_mut(&canonical(name)) {
            Some(list) => {
                list.push(message);
                Ok(())
            }
            None => Err(format!("Mailbox doesn't exist: {name}")),
        }
    }

    /// The `index`-th message (0-based) of a mailbox.
    pub fn message(&self, name: &str, index: usize) -> Option<&StoredMessage> {
        self.boxes.get(&canonical(name))?.get(index)
    }

    /// Sets an IMAP METADATA entry (`None` mailbox = server entry).
    pub fn set_metadata(
        &mut self,
        mailbox: Option<&str>,
        entry: &str,
        value: &str,
    ) -> Result<(), String> {
        let lower = entry.to_ascii_lowercase();
        let valid = (lower.starts_with("/private/") || lower.starts_with("/shared/"))
            && !entry.ends_with('/')
            && !entry.contains("//")
            && entry.chars().all(|c| !c.is_control() && c != '*' && c != '%');
        if !valid {
            return Err(format!("invalid metadata entry name '{entry}'"));
        }
        if let Some(m) = mailbox
            && !self.exists(m)
        {
            return Err(format!("Mailbox doesn't exist: {m}"));
        }
        self.metadata.insert((mailbox.map(canonical), lower), value.to_owned());
        Ok(())
    }

    /// An IMAP METADATA entry.
    pub fn metadata(&self, mailbox: Option<&str>, entry: &str) -> Option<String> {
        self.metadata.get(&(mailbox.map(canonical), entry.to_ascii_lowercase())).cloned()
    }
}

/// Reads script `name` from a Dovecot "file dict" (alternating key and value lines; key
/// `priv/sieve/name/<name>` gives an id, key `priv/sieve/data/<id>` the script).
pub fn dict_script(path: &str, name: &str) -> Result<Option<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut map = BTreeMap::new();
    for pair in lines.chunks(2) {
        if let [k, v] = pair {
            map.insert(*k, unescape_dict(v));
        }
    }
    let Some(id) = map.get(format!("priv/sieve/name/{name}").as_str()) else {
        return Ok(None);
    };
    Ok(map.get(format!("priv/sieve/data/{id}").as_str()).cloned())
}

/// Dovecot's dict-file escaping: `\n` for newline, `\\` for backslash.
fn unescape_dict(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive_and_children_need_creation() {
        let mut s = MailStore::default();
        let m = StoredMessage { raw: b"a".to_vec(), flags: vec![] };
        assert!(s.append("inbox", m.clone()).is_ok());
        assert_eq!(s.message("INBOX", 0), Some(&m));
        assert_eq!(s.append("INBOX.VB", m.clone()), Err("Mailbox doesn't exist: INBOX.VB".into()));
        s.create("inbox.VB").expect("valid name");
        assert!(s.exists("INBOX.VB"));
        assert!(s.create("a..b").is_err());
    }

    #[test]
    fn metadata_names_are_checked() {
        let mut s = MailStore::default();
        assert!(s.set_metadata(Some("INBOX"), "/private/frop", "x").is_ok());
        assert_eq!(s.metadata(Some("inbox"), "/private/FROP"), Some("x".into()));
        assert!(s.set_metadata(None, "frop", "x").is_err());
    }

    #[test]
    fn dict_file_scripts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("d.dict");
        std::fs::write(&p, "priv/sieve/name/a\n1\npriv/sieve/data/1\nkeep;\\nstop;\n")
            .expect("write");
        let p = p.to_string_lossy().into_owned();
        assert_eq!(dict_script(&p, "a"), Ok(Some("keep;\nstop;".into())));
        assert_eq!(dict_script(&p, "b"), Ok(None));
    }
}
