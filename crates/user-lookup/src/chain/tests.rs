use super::*;
use std::path::PathBuf;

/// A userdb that knows a fixed set of users, or always fails.
struct Fixed(Vec<UserRecord>, bool);

impl UserDatabase for Fixed {
    fn lookup_reporting(
        &self,
        user: &str,
        _warnings: &mut Vec<LookupWarning>,
    ) -> Result<Option<UserRecord>, LookupError> {
        if self.1 {
            return Err(LookupError::new(LookupErrorKind::Io, user, ErrorLocation::Config, "down"));
        }
        Ok(self.0.iter().find(|r| r.username == user).cloned())
    }
}

fn rec(name: &str, uid: u32) -> UserRecord {
    UserRecord { uid: Some(uid), ..UserRecord::new(name) }
}

#[test]
fn chain_first_hit_wins_and_failures_surface_only_without_hit() {
    let chain = UserdbChain(vec![
        Box::new(Fixed(vec![rec("a", 1)], false)),
        Box::new(Fixed(vec![], true)),
        Box::new(Fixed(vec![rec("a", 2), rec("b", 3)], false)),
    ]);
    assert_eq!(chain.lookup("a").unwrap().unwrap().uid, Some(1));
    assert_eq!(chain.lookup("b").unwrap().unwrap().uid, Some(3));
    assert_eq!(chain.lookup("c").unwrap_err().detail, "down");
    let ok_chain = UserdbChain(vec![Box::new(Fixed(vec![], false))]);
    assert_eq!(ok_chain.lookup("c").unwrap(), None);
    assert_eq!(UserdbChain(Vec::new()).lookup("c").unwrap(), None);
}

#[test]
fn auth_username_rules() {
    let inner = Box::new(Fixed(vec![rec("alice", 1), rec("bob@example.org", 2)], false));
    let db = AuthUsername::new(inner);
    assert_eq!(db.lookup("ALICE").unwrap().unwrap().uid, Some(1));
    assert_eq!(db.lookup("a b").unwrap(), None);
    assert_eq!(db.lookup("x%y").unwrap(), None);
    assert_eq!(db.normalize("Bob@Example.ORG").as_deref(), Some("bob@example.org"));
    let db = AuthUsername::new(Box::new(Fixed(vec![rec("bob@example.org", 2)], false)))
        .with_translation("%@")
        .with_default_realm("example.org");
    // The realm is added before translation (Dovecot's order), so it is added here too.
    assert_eq!(db.normalize("bob%x").as_deref(), Some("bob@x@example.org"));
    assert_eq!(db.normalize("bob@x").as_deref(), Some("bob@x"));
    assert_eq!(db.lookup("bob").unwrap().unwrap().uid, Some(2));
    let raw = AuthUsername::new(Box::new(Fixed(vec![], false))).with_format("").with_chars("");
    assert_eq!(raw.normalize("A b").as_deref(), Some("A b"));
}

#[test]
fn default_and_override_fields_wrap_the_reply() {
    let mut found = rec("bob", 1001);
    found.set_field("quota_rule", "*:storage=2G");
    let db = FieldTemplates::new(
        Box::new(Fixed(vec![found], false)),
        "quota_rule=*:storage=5M home=/def/%u mail=maildir:~/M",
        "sieve=%h/sieve flag",
    );
    let got = db.lookup("bob").unwrap().unwrap();
    assert_eq!(got.uid, Some(1001));
    assert_eq!(got.home, Some(PathBuf::from("/def/bob")));
    let keys: Vec<(&str, &str)> =
        got.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        keys,
        [
            ("quota_rule", "*:storage=2G"),
            ("mail", "maildir:~/M"),
            ("sieve", "/def/bob/sieve"),
            ("flag", "")
        ]
    );
    assert_eq!(db.lookup("nobody").unwrap(), None);
}

#[test]
fn static_userdb_expands_and_resolves() {
    let db = StaticUserdb::from_args("uid=1000 gid=0 home=/var/vmail/%d/%n allow_all_users=yes");
    let got = db.lookup("joe@example.org").unwrap().unwrap();
    assert_eq!((got.uid, got.gid), (Some(1000), Some(0)));
    assert_eq!(got.home, Some(PathBuf::from("/var/vmail/example.org/joe")));
    assert!(got.fields.is_empty());
    let mut warnings = Vec::new();
    let db = StaticUserdb::from_args("uid=no-such-user-lb");
    assert_eq!(db.lookup_reporting("x", &mut warnings).unwrap().unwrap().uid, None);
    assert_eq!(warnings[0].message, "Invalid uid in userdb: no-such-user-lb");
}

#[test]
fn driver_registry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    std::fs::write(&path, "u:x:1234:1234::/h/u\n").unwrap();
    let db = userdb_from_driver("passwd-file", path.to_str().unwrap(), None).unwrap();
    assert_eq!(db.lookup("u").unwrap().unwrap().uid, Some(1234));
    let db = userdb_from_driver("static", "uid=5 gid=5", None).unwrap();
    assert_eq!(db.lookup("any").unwrap().unwrap().gid, Some(5));
    let db = userdb_from_driver("passwd", "", None).unwrap();
    assert_eq!(db.lookup("no-such-user-lb").unwrap(), None);
    let err = userdb_from_driver("sql", "/etc/dovecot/sql.conf", None).err().unwrap();
    assert_eq!(err.kind, LookupErrorKind::InvalidConfig);
    assert!(err.to_string().contains("\"sql\""), "{err}");
    assert!(userdb_from_driver("passwd-file", "", None).is_err());
}
