//! What a running script may ask the delivery (design.md §6.3: the interpreter does no I/O).

use std::time::SystemTime;

use duplicate_db::DuplicateDb;
use mail_storage::{MailUser, OpenOptions};
use sieve::{HostError, Now, ScriptEnvironment};

/// The delivery's answers to a script's questions.
pub struct DeliveryHost<'a> {
    /// The user's mail store (`mailboxexists`).
    pub user: &'a MailUser,
    /// The duplicate database (`duplicate` test), when it could be opened.
    pub dupes: Option<&'a DuplicateDb>,
    /// `hostname` (`environment "host"`/`"domain"`).
    pub hostname: &'a str,
    /// `recipient_delimiter` (subaddress).
    pub delimiter: &'a str,
    /// `-m` or INBOX.
    pub default_mailbox: &'a str,
    /// Non-fatal run-time errors, for the user log.
    pub errors: Vec<String>,
}

impl ScriptEnvironment for DeliveryHost<'_> {
    fn mailbox_exists(&mut self, name: &str) -> Result<bool, HostError> {
        let opts = OpenOptions { autocreate: false, autosubscribe: false };
        match self.user.open_mailbox(name, &opts) {
            Ok(_) => Ok(true),
            Err(e) if e.is_temporary() => {
                Err(HostError { temporary: true, message: e.to_string() })
            }
            Err(_) => Ok(false),
        }
    }

    fn duplicate_seen(&mut self, id: &str) -> Result<bool, HostError> {
        match self.dupes {
            Some(db) => db
                .is_seen(format!("sieve-duplicate\0{id}").as_bytes(), SystemTime::now())
                .map_err(|e| HostError { temporary: false, message: e.to_string() }),
            None => Ok(false),
        }
    }

    fn environment_item(&mut self, name: &str) -> Option<String> {
        if let Some(value) = sieve::implementation_item(name) {
            return Some(value);
        }
        Some(match name {
            "location" => "MDA".into(),
            "phase" => "during".into(),
            "host" => self.hostname.to_string(),
            "domain" => self.hostname.split_once('.').map_or(self.hostname, |(_, d)| d).to_string(),
            _ => return None,
        })
    }

    fn now(&mut self) -> Now {
        let now = chrono::Local::now();
        Now { unix: now.timestamp(), offset_minutes: now.offset().local_minus_utc() / 60 }
    }

    fn runtime_error(&mut self, message: &str) {
        self.errors.push(message.to_string());
    }

    fn subaddress_delimiter(&self) -> String {
        self.delimiter.to_string()
    }

    fn default_mailbox(&self) -> String {
        self.default_mailbox.to_string()
    }
}
