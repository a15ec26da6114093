//! The userdb reply: [`UserRecord`].

use std::path::PathBuf;

/// What a userdb returns: Dovecot's userdb reply for one user.
///
/// `uid`, `gid` and `home` are pulled out of the reply because every caller needs them;
/// everything else stays in `fields`, in reply order, so the caller can apply them as setting
/// overrides the way Dovecot's LDA does (`mail`, `quota_rule`, `sieve`, `system_groups_user`,
/// `chroot`, `nice`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserRecord {
    /// The user name, possibly canonicalised by the userdb (its `user=` field, or the name
    /// the auth server replied with). It replaces the requested name for `%u` and logging.
    pub username: String,
    /// Numeric uid, if the userdb gave a valid one. `Some(0)` is kept: rejecting it
    /// ("userdb returned 0 as uid") is the caller's job.
    pub uid: Option<u32>,
    /// Numeric primary gid, if the userdb gave a valid one.
    pub gid: Option<u32>,
    /// Home directory, if the userdb gave a non-empty one. It may be relative: rejecting
    /// that ("Relative home directory paths not supported") is the caller's job.
    pub home: Option<PathBuf>,
    /// All other fields in reply order, exactly as given. A field sent without `=` (Dovecot's
    /// auth server sends empty values that way) has an empty value. A `uid`/`gid` value that
    /// is not a number is kept here (and `uid`/`gid` stay `None`) so the caller can log it.
    pub fields: Vec<(String, String)>,
}

impl UserRecord {
    /// A record for `username` with no uid, gid, home or fields.
    pub fn new(username: &str) -> Self {
        Self { username: username.to_owned(), ..Self::default() }
    }

    /// The value of the first field named `key` among the "other" fields.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Sets one reply field with the auth server's semantics: `user` renames the user,
    /// numeric `uid`/`gid` and non-empty `home` fill the typed fields, and any other key
    /// replaces an existing field of that name in place or is appended.
    pub fn set_field(&mut self, key: &str, value: &str) {
        match key {
            "user" if !value.is_empty() => self.username = value.to_owned(),
            "uid" | "gid" => match value.parse::<u32>() {
                Ok(id) => {
                    self.fields.retain(|(k, _)| k != key);
                    if key == "uid" {
                        self.uid = Some(id);
                    } else {
                        self.gid = Some(id);
                    }
                }
                Err(_) => self.replace_or_push(key, value),
            },
            "home" => self.home = (!value.is_empty()).then(|| PathBuf::from(value)),
            _ => self.replace_or_push(key, value),
        }
    }

    fn replace_or_push(&mut self, key: &str, value: &str) {
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.fields.push((key.to_owned(), value.to_owned())),
        }
    }

    /// All fields as an auth server reply would list them (`uid`, `gid`, `home` first, then
    /// the others), e.g. to compare an embedded userdb with the auth-master socket.
    pub fn reply_fields(&self) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(self.fields.len() + 3);
        if let Some(uid) = self.uid {
            out.push(("uid".to_owned(), uid.to_string()));
        }
        if let Some(gid) = self.gid {
            out.push(("gid".to_owned(), gid.to_string()));
        }
        if let Some(home) = &self.home {
            out.push(("home".to_owned(), home.to_string_lossy().into_owned()));
        }
        out.extend(self.fields.iter().cloned());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_field_routes_typed_fields_and_replaces_in_place() {
        let mut rec = UserRecord::new("alice");
        rec.set_field("quota_rule", "*:storage=1G");
        rec.set_field("mail", "maildir:~/Maildir");
        rec.set_field("uid", "1001");
        rec.set_field("gid", "100");
        rec.set_field("home", "/home/alice");
        rec.set_field("quota_rule", "*:storage=2G");
        rec.set_field("user", "Alice2");
        assert_eq!(rec.username, "Alice2");
        assert_eq!((rec.uid, rec.gid), (Some(1001), Some(100)));
        assert_eq!(rec.home, Some(PathBuf::from("/home/alice")));
        assert_eq!(
            rec.fields,
            vec![
                ("quota_rule".to_owned(), "*:storage=2G".to_owned()),
                ("mail".to_owned(), "maildir:~/Maildir".to_owned())
            ]
        );
        assert_eq!(rec.field("mail"), Some("maildir:~/Maildir"));
        assert_eq!(rec.reply_fields()[0], ("uid".to_owned(), "1001".to_owned()));
    }

    #[test]
    fn non_numeric_uid_is_kept_raw_and_empty_home_is_none() {
        let mut rec = UserRecord::new("bob");
        rec.set_field("uid", "vmail");
        rec.set_field("home", "");
        assert_eq!(rec.uid, None);
        assert_eq!(rec.field("uid"), Some("vmail"));
        assert_eq!(rec.home, None);
        rec.set_field("uid", "0");
        assert_eq!(rec.uid, Some(0));
        assert_eq!(rec.field("uid"), None);
    }
}
