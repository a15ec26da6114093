//! Local delivery for LMTP: the recipient looked up as Dovecot's LMTP does, then the same
//! delivery core as `letterbox deliver`.
//!
//! Mirrors dovecot/core@2.3.19.1 `src/lmtp/lmtp-local.c`: at RCPT time the `recipient_delimiter`
//! detail is split off the local part and the rest (`user@domain`) is looked up with
//! `service=lmtp`; unknown → 550 5.1.1, lookup failure → 451 4.3.0. After DATA each recipient's
//! copy goes through `delivery::deliver` (with the detail as the destination folder when
//! `lmtp_save_to_detail_mailbox = yes`); a user listed twice in one transaction is stored once
//! (Dovecot's per-session duplicate check) and both get `250`.
//!
//! Privilege model (see the crate docs): [`PrivilegeModel::SingleUid`] delivers in this process
//! and refuses (451) recipients whose uid differs from ours; [`PrivilegeModel::Spawn`] runs
//! `letterbox deliver` per recipient so the child can switch to the user's uid.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use delivery::address::parse_path;
use delivery::log_line::{MessageFacts, sanitize};
use delivery::recipient::{Recipient, SieveEnvelope, deliver_to_recipient, open_quota};
use delivery::user_storage::{UserIdentity, open_mail_user, resolve_id};
use delivery::{DeliveryLog, DeliveryRequest, IncomingMessage};
use dovecot_config::Config;
use user_lookup::{UserDatabase, UserRecord};

use crate::protocol::{Envelope, RcptCommand};
use crate::reply::{self, Reply};
use crate::session::{Backend, LogLevel, ServerLog, SessionInfo, Transaction};

/// Who performs the deliveries (the crate docs explain when to use which).
#[derive(Debug, Clone)]
pub enum PrivilegeModel {
    /// In this process, as uid `uid`/gid `gid`: every recipient must have this uid.
    SingleUid {
        /// Our uid (the vmail user).
        uid: u32,
        /// Our gid.
        gid: u32,
    },
    /// Root without `mail_uid`: each recipient through a `letterbox deliver` child.
    Spawn {
        /// The letterbox binary.
        exe: PathBuf,
        /// `-c` for the child (None = `-O`, no config file).
        config_path: Option<PathBuf>,
        /// `-o key=value` for the child.
        overrides: Vec<(String, String)>,
    },
}

/// The LMTP backend that delivers into local mailboxes.
pub struct LocalBackend {
    config: Config,
    userdb: Box<dyn UserDatabase>,
    model: PrivilegeModel,
    log: Arc<dyn ServerLog>,
    hostname: String,
}

/// What the RCPT-time lookup found.
#[derive(Debug)]
pub struct LocalRecipient {
    username: String,
    home: Option<PathBuf>,
    uid: u32,
    gid: u32,
    /// The settings with the userdb fields applied (in-process model only).
    config: Option<Config>,
    /// The detail (`+folder`) part, when there was one.
    detail: Option<String>,
}

impl LocalBackend {
    /// A backend over `config` (loaded for protocol `lmtp`) and its user database.
    pub fn new(
        config: Config,
        userdb: Box<dyn UserDatabase>,
        model: PrivilegeModel,
        log: Arc<dyn ServerLog>,
        hostname: String,
    ) -> LocalBackend {
        LocalBackend { config, userdb, model, log, hostname }
    }

    fn log(&self, level: LogLevel, prefix: &str, text: &str) {
        // A lost connection-level line is not worth failing a recipient for.
        let _ = self.log.log(level, prefix, text);
    }

    /// `lmtp(pid)<session>: `, for lines before the user is known.
    fn session_prefix(&self, info: &SessionInfo) -> String {
        format!("lmtp({})<{}>: ", std::process::id(), info.session_id)
    }

    fn resolve_recipient(
        &self,
        record: UserRecord,
        detail: Option<String>,
    ) -> Result<LocalRecipient, String> {
        if let Some(home) = &record.home
            && home.is_relative()
            && !home.as_os_str().is_empty()
        {
            return Err("Relative home directory paths not supported".into());
        }
        let mail = &self.config.settings().mail;
        let uid = match record.uid {
            Some(uid) => Some(uid),
            None => resolve_id(&mail.mail_uid, true)?,
        };
        let gid = match record.gid {
            Some(gid) => Some(gid),
            None => resolve_id(&mail.mail_gid, false)?,
        };
        let home = record.home.clone().filter(|h| !h.as_os_str().is_empty());
        match &self.model {
            PrivilegeModel::SingleUid { uid: ours, gid: our_gid } => {
                let uid = uid.unwrap_or(*ours);
                if uid != *ours {
                    return Err(format!(
                        "user {} has uid {uid}, but this LMTP server runs as uid {ours} and \
                         delivers for one uid only (start it as root without mail_uid to serve \
                         several uids)",
                        record.username
                    ));
                }
                let config = self
                    .config
                    .with_userdb_fields(&record.fields)
                    .map_err(|e| format!("Invalid settings in userdb: {e}"))?;
                Ok(LocalRecipient {
                    username: record.username,
                    home,
                    uid,
                    gid: gid.unwrap_or(*our_gid),
                    config: Some(config),
                    detail,
                })
            }
            PrivilegeModel::Spawn { .. } => Ok(LocalRecipient {
                username: record.username,
                home,
                uid: uid.unwrap_or_default(),
                gid: gid.unwrap_or_default(),
                config: None,
                detail,
            }),
        }
    }
}

impl std::fmt::Debug for LocalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBackend").field("model", &self.model).finish_non_exhaustive()
    }
}

/// Split `local+detail@domain` with any of the `delimiters` characters: (user to look up,
/// detail). As Dovecot's LMTP: the first delimiter character found in the local part splits.
pub fn split_detail(
    local: &str,
    domain: Option<&str>,
    delimiters: &str,
) -> (String, Option<String>) {
    let split = if delimiters.is_empty() { None } else { local.find(|c| delimiters.contains(c)) };
    let (user, detail) = match split {
        Some(pos) => {
            let delim_len = local[pos..].chars().next().map_or(1, char::len_utf8);
            (&local[..pos], Some(local[pos + delim_len..].to_string()))
        }
        None => (local, None),
    };
    let username = match domain {
        Some(domain) => format!("{user}@{domain}"),
        None => user.to_string(),
    };
    (username, detail)
}

impl Backend for LocalBackend {
    type Recipient = LocalRecipient;

    fn check_recipient(
        &self,
        info: &SessionInfo,
        _envelope: &Envelope,
        rcpt: &RcptCommand,
    ) -> Result<LocalRecipient, Reply> {
        let prefix = self.session_prefix(info);
        let address = match parse_path(&rcpt.address) {
            Ok(Some(address)) => address,
            _ => {
                let text = "Invalid TO: Invalid character in path".to_string();
                return Err(Reply::enhanced(501, "5.5.4", text));
            }
        };
        let delimiters = &self.config.settings().lda.recipient_delimiter;
        let (username, detail) =
            split_detail(&address.local, address.domain.as_deref(), delimiters);
        let record = match self.userdb.lookup(&username) {
            Ok(Some(record)) => record,
            Ok(None) => return Err(reply::unknown_user_reply(&rcpt.address, &username)),
            Err(e) => {
                self.log(
                    LogLevel::Error,
                    &prefix,
                    &format!("rcpt {}: user lookup failed: {e}", sanitize(&username, 80)),
                );
                return Err(reply::lookup_failure_reply(&rcpt.address));
            }
        };
        self.resolve_recipient(record, detail).map_err(|why| {
            self.log(LogLevel::Error, &prefix, &format!("rcpt {}: {why}", sanitize(&username, 80)));
            reply::internal_error_reply(&rcpt.address)
        })
    }

    fn deliver(&self, info: &SessionInfo, txn: Transaction<'_, LocalRecipient>) -> Vec<Reply> {
        let Transaction { envelope, recipients, message, .. } = txn;
        match &self.model {
            PrivilegeModel::SingleUid { .. } => {
                let message = IncomingMessage::from_normalized_bytes(message);
                let mut done: Vec<(String, String)> = Vec::new();
                recipients
                    .iter()
                    .map(|(rcpt, state)| {
                        self.deliver_in_process(info, envelope, rcpt, state, &message, &mut done)
                    })
                    .collect()
            }
            PrivilegeModel::Spawn { exe, config_path, overrides } => recipients
                .iter()
                .map(|(rcpt, state)| {
                    let child = ChildDelivery { exe, config_path: config_path.as_ref(), overrides };
                    self.deliver_spawned(info, envelope, rcpt, state, &message, &child)
                })
                .collect(),
        }
    }
}

struct LogAdapter<'a> {
    log: &'a dyn ServerLog,
    prefix: &'a str,
}

impl DeliveryLog for LogAdapter<'_> {
    fn info(&mut self, line: &str) -> std::io::Result<()> {
        self.log.log(LogLevel::Info, self.prefix, line)
    }

    fn error(&mut self, line: &str) -> std::io::Result<()> {
        self.log.log(LogLevel::Error, self.prefix, line)
    }

    fn debug(&mut self, line: &str) -> std::io::Result<()> {
        self.log.log(LogLevel::Debug, self.prefix, line)
    }
}

struct ChildDelivery<'a> {
    exe: &'a PathBuf,
    config_path: Option<&'a PathBuf>,
    overrides: &'a [(String, String)],
}

impl LocalBackend {
    fn mailbox_for(&self, config: &Config, state: &LocalRecipient) -> String {
        match &state.detail {
            Some(detail)
                if config.settings().lmtp.lmtp_save_to_detail_mailbox && !detail.is_empty() =>
            {
                detail.clone()
            }
            _ => "INBOX".to_string(),
        }
    }

    fn deliver_in_process(
        &self,
        info: &SessionInfo,
        envelope: &Envelope,
        rcpt: &RcptCommand,
        state: &LocalRecipient,
        message: &IncomingMessage,
        done: &mut Vec<(String, String)>,
    ) -> Reply {
        let started = Instant::now();
        let id = info.recipient_id(envelope.transaction, rcpt.index);
        let Some(config) = &state.config else { return reply::internal_error_reply(&rcpt.address) };
        let identity = UserIdentity {
            username: state.username.clone(),
            home: state.home.clone(),
            uid: state.uid,
            gid: state.gid,
            hostname: self.hostname.clone(),
            session: id.clone(),
            service: "lmtp",
        };
        let prefix = identity.expand(&config.settings().log.mail_log_prefix);
        let mailbox = self.mailbox_for(config, state);
        if done.iter().any(|(user, mbox)| *user == state.username && *mbox == mailbox) {
            return reply::saved_reply(&rcpt.address, &id);
        }
        let user = match open_mail_user(config, &identity) {
            Ok(user) => user,
            Err(e) => {
                self.log(
                    LogLevel::Error,
                    &prefix,
                    &format!("Namespace initialization failed: {e}"),
                );
                return reply::internal_error_reply(&rcpt.address);
            }
        };
        let mut facts =
            MessageFacts::from_header(message.header(), message.size(), message.vsize());
        facts.from_envelope = sanitize(&envelope.sender, 80);
        facts.to_envelope = sanitize(rcpt.orcpt.as_deref().unwrap_or(&rcpt.address), 80);
        let lda = &config.settings().lda;
        let quota = match open_quota(config, &identity) {
            Ok(quota) => quota,
            Err(e) => {
                self.log(LogLevel::Error, &prefix, &e.message);
                return reply::internal_error_reply(&rcpt.address);
            }
        };
        let request = DeliveryRequest {
            message,
            facts: &facts,
            default_mailbox: &mailbox,
            autocreate: lda.lda_mailbox_autocreate,
            autosubscribe: lda.lda_mailbox_autosubscribe,
            log_format: &lda.deliver_log_format,
            started,
            envelope_sender: Some(envelope.sender.as_str()).filter(|s| !s.is_empty()),
            quota: quota.as_ref(),
        };
        let sieve_envelope = SieveEnvelope {
            sender: Some(envelope.sender.clone()).filter(|s| !s.is_empty()),
            final_recipient: facts.to_envelope.clone(),
            original_recipient: facts.to_envelope.clone(),
        };
        // LMTP answers rejections per recipient (552) instead of mailing them, so the
        // `-e` behaviour is the right one here; the MTA then bounces.
        let target = Recipient {
            config,
            identity: &identity,
            user: &user,
            envelope: &sieve_envelope,
            reject_to_stderr: true,
        };
        let mut log = LogAdapter { log: self.log.as_ref(), prefix: &prefix };
        match deliver_to_recipient(&target, &request, &mut log) {
            Ok(()) => {
                done.push((state.username.clone(), mailbox));
                reply::saved_reply(&rcpt.address, &id)
            }
            Err(failure) => {
                self.log(LogLevel::Error, &prefix, &failure.message);
                let public = failure.public.clone().unwrap_or_default();
                reply::failure_reply(
                    &rcpt.address,
                    &state.username,
                    failure.class,
                    &public,
                    lda.quota_full_tempfail,
                )
            }
        }
    }

    fn deliver_spawned(
        &self,
        info: &SessionInfo,
        envelope: &Envelope,
        rcpt: &RcptCommand,
        state: &LocalRecipient,
        message: &[u8],
        child: &ChildDelivery<'_>,
    ) -> Reply {
        let id = info.recipient_id(envelope.transaction, rcpt.index);
        let prefix = format!("lmtp({})<{}><{id}>: ", state.username, std::process::id());
        let mut cmd = Command::new(child.exe);
        cmd.arg("deliver");
        match child.config_path {
            Some(path) => cmd.arg("-c").arg(path),
            None => cmd.arg("-O"),
        };
        for (key, value) in child.overrides {
            cmd.arg("-o").arg(format!("{key}={value}"));
        }
        cmd.args(["-e", "-d", &state.username, "-a", &rcpt.address, "-f", &envelope.sender]);
        let mailbox = self.mailbox_for(&self.config, state);
        if mailbox != "INBOX" {
            cmd.args(["-m", &mailbox]);
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let result = cmd.spawn().and_then(|mut proc| {
            if let Some(mut stdin) = proc.stdin.take() {
                // A child that exits early (unknown user) closes its stdin: not our error.
                let _ = stdin.write_all(message);
            }
            proc.wait_with_output()
        });
        match result {
            Ok(out) => {
                let code = out.status.code();
                if code != Some(0) {
                    let text = String::from_utf8_lossy(&out.stderr);
                    let text =
                        format!("deliver exited with {:?}: {}", code, sanitize(text.trim(), 400));
                    self.log(LogLevel::Error, &prefix, &text);
                }
                reply::exit_status_reply(&rcpt.address, &state.username, code, &id)
            }
            Err(e) => {
                self.log(
                    LogLevel::Error,
                    &prefix,
                    &format!("spawning {} failed: {e}", child.exe.display()),
                );
                reply::internal_error_reply(&rcpt.address)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_is_split_at_the_first_delimiter() {
        assert_eq!(
            split_detail("bob+folder", Some("x.org"), "+"),
            ("bob@x.org".into(), Some("folder".into()))
        );
        assert_eq!(split_detail("bob-a+b", None, "+-"), ("bob".into(), Some("a+b".into())));
        assert_eq!(split_detail("bob", Some("x"), "+"), ("bob@x".into(), None));
        assert_eq!(split_detail("bob+x", Some("x"), ""), ("bob+x@x".into(), None));
        assert_eq!(split_detail("bob+", None, "+"), ("bob".into(), Some(String::new())));
    }
}
