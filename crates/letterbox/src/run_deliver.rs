//! `letterbox deliver`: the dovecot-lda flow from command line to exit status.
//!
//! Order as in dovecot/core@2.3.19.1 `src/lda/main.c`: options, setuid guard, configuration,
//! envelope addresses, logs, user, privileges, then the message and the save. Every failure is a
//! [`Fatal`] with a class; [`crate::exit_status::exit_status`] is the only place that turns a
//! class into a number.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Instant;

use delivery::address::{MailAddress, PathError, parse_path};
use delivery::log_line::{MessageFacts, first_header};
use delivery::save::QuotaContext;
use delivery::user_storage::{UserIdentity, hostname, open_mail_user, resolve_id, session_id};
use delivery::{DeliveryLog, DeliveryRequest, FailureClass, IncomingMessage};
use dovecot_config::{Config, LoadOptions};
use mail_storage::MailUser;

use crate::cli::{DeliverArgs, USAGE, UsageError, parse_deliver_args};
use crate::exit_status::{ExitStatus, exit_status};
use crate::identity::{FoundUser, invoking_user, lookup_user};
use crate::logging::{Level, LogSettings, Logger};
use crate::privileges::{ValidIds, check_ids, check_setuid_root, switch_to_user};
use delivery::recipient::{
    Recipient, SieveEnvelope, deliver_to_recipient, open_quota, sieve_sender,
};

/// A failure that ends the delivery: the delivery core's classified failure.
pub use delivery::recipient::Failure as Fatal;

/// Run `deliver` with the arguments after the command name.
pub fn run(argv0: &str, args: &[String]) -> ExitStatus {
    let cli = match parse_deliver_args(args) {
        Ok(cli) => cli,
        Err(err) => return usage_error(argv0, &err),
    };
    let mut logger = None;
    match deliver_main(argv0, &cli, &mut logger) {
        Ok(()) => ExitStatus::Ok,
        Err(fatal) => report(&fatal, &cli, logger.as_mut()),
    }
}

fn usage_error(argv0: &str, err: &UsageError) -> ExitStatus {
    match err {
        UsageError::UnknownArgument(_) | UsageError::BadOverride(_) => {
            print!("{USAGE}");
            eprintln!("lda: Fatal: {err}");
        }
        _ => {
            eprintln!("{argv0}: {err}");
            print!("{USAGE}");
        }
    }
    ExitStatus::Usage
}

/// Log the failure (stderr when there is no log yet, or with `-e`) and pick the status.
fn report(fatal: &Fatal, cli: &DeliverArgs, logger: Option<&mut Logger>) -> ExitStatus {
    let status = exit_status(fatal.class, cli.reject_to_stderr);
    let level = match fatal.class {
        FailureClass::Rejected | FailureClass::OverQuota => Level::Info,
        FailureClass::Temporary if fatal.public.is_some() => Level::Error,
        _ => Level::Fatal,
    };
    let logged = logger.is_some_and(|l| l.log(level, &fatal.message).is_ok());
    if status == ExitStatus::NoPerm {
        eprintln!("{}", fatal.public.as_deref().unwrap_or(&fatal.message));
    } else if !logged || cli.reject_to_stderr || status == ExitStatus::Usage {
        eprintln!("lda: Fatal: {}", fatal.message);
    }
    status
}

fn deliver_main(argv0: &str, cli: &DeliverArgs, logger: &mut Option<Logger>) -> Result<(), Fatal> {
    let started = Instant::now();
    check_setuid_root(argv0).map_err(|e| Fatal::temp(e.0))?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let config = load_config(cli)?;
    if let Some(instance) = cli.instance.as_deref().filter(|i| *i != "dovecot") {
        return Err(Fatal::temp(format!("Unknown instance name: {instance}")));
    }
    let envelope = EnvelopeArgs::parse(cli)?;
    let message_path = match &cli.message_path {
        Some(p) => Some(std::path::absolute(p).map_err(|e| Fatal::temp(format!("{p}: {e}")))?),
        None => None,
    };
    let log = logger.insert(open_logger(&config)?);
    let found = match &cli.destination_user {
        Some(name) => lookup_user(&config, name)?,
        None => invoking_user()?,
    };
    let config = config
        .with_userdb_fields(&found.fields)
        .map_err(|e| Fatal::temp(format!("Invalid settings in userdb: {e}")))?;
    let identity = become_user(&config, &found)?;
    log.set_prefix(identity.expand(&config.settings().log.mail_log_prefix));
    let user = open_mail_user(&config, &identity)
        .map_err(|e| Fatal::temp(format!("Namespace initialization failed: {e}")))?;
    for warning in config.warnings() {
        log.log(Level::Warning, warning).map_err(|e| Fatal::temp(e.to_string()))?;
    }
    let message = read_message(&user, message_path)?;
    let facts = message_facts(&config, &identity, &envelope, &message);
    log_destination(log, &envelope, &facts)?;
    let sieve_envelope = SieveEnvelope {
        sender: sieve_sender(
            envelope.sender.as_ref().map(|s| s.as_ref().map(ToString::to_string)),
            &message,
        ),
        final_recipient: envelope
            .final_recipient
            .as_ref()
            .map_or_else(|| facts.to_envelope.clone(), ToString::to_string),
        original_recipient: facts.to_envelope.clone(),
    };
    let quota = open_quota(&config, &identity)?;
    let ctx = Ctx {
        cli,
        config: &config,
        identity: &identity,
        user: &user,
        envelope: &sieve_envelope,
        quota: quota.as_ref(),
    };
    deliver_message(&ctx, &message, &facts, started, log)
}

/// What the final step needs, gathered.
struct Ctx<'a> {
    cli: &'a DeliverArgs,
    config: &'a Config,
    identity: &'a UserIdentity,
    user: &'a MailUser,
    envelope: &'a SieveEnvelope,
    quota: Option<&'a QuotaContext>,
}

fn load_config(cli: &DeliverArgs) -> Result<Config, Fatal> {
    let path = if cli.no_config {
        None
    } else {
        Some(PathBuf::from(cli.config_path.clone().unwrap_or_else(|| {
            std::env::var("CONFIG_FILE").unwrap_or_else(|_| "/etc/dovecot/dovecot.conf".into())
        })))
    };
    let opts = LoadOptions { path, protocol: "lda".into(), overrides: cli.overrides.clone() };
    let config = dovecot_config::load(&opts).map_err(|e| Fatal::temp(e.to_string()))?;
    if !cli.keep_environment {
        return Ok(config);
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    config.with_env_overrides(&env).map_err(|e| Fatal::temp(e.to_string()))
}

fn open_logger(config: &Config) -> Result<Logger, Fatal> {
    let s = &config.settings().log;
    let home = std::env::var("HOME").ok();
    let path = |p: &str| dovecot_config::var_expand::expand_home(p, home.as_deref());
    let settings = LogSettings {
        log_path: path(&s.log_path),
        info_log_path: path(&s.info_log_path),
        debug_log_path: path(&s.debug_log_path),
        log_timestamp: s.log_timestamp.clone(),
        syslog_facility: s.syslog_facility.clone(),
        debug: config.settings().mail.mail_debug,
    };
    Logger::open(&settings).map_err(|e| Fatal::temp(e.to_string()))
}

/// Resolve uid/gid, check them, switch to them, and go home.
fn become_user(config: &Config, found: &FoundUser) -> Result<UserIdentity, Fatal> {
    let s = &config.settings().mail;
    let uid = match found.uid {
        Some(uid) => uid,
        None => resolve_id(&s.mail_uid, true).map_err(Fatal::temp)?.ok_or_else(|| {
            Fatal::temp("Couldn't drop privileges: User is missing UID (see mail_uid setting)")
        })?,
    };
    let gid = match found.gid {
        Some(gid) => gid,
        None => resolve_id(&s.mail_gid, false).map_err(Fatal::temp)?.ok_or_else(|| {
            Fatal::temp("Couldn't drop privileges: User is missing GID (see mail_gid setting)")
        })?,
    };
    if found.from_userdb {
        let limits = ValidIds {
            first_uid: s.first_valid_uid,
            last_uid: s.last_valid_uid,
            first_gid: s.first_valid_gid,
            last_gid: s.last_valid_gid,
        };
        check_ids(uid, gid, &limits).map_err(|e| Fatal::temp(e.0))?;
        let groups_user = field(&found.fields, "system_groups_user");
        let extra = access_groups(&s.mail_access_groups)?;
        switch_to_user(uid, gid, groups_user, &extra).map_err(|e| Fatal::temp(e.0))?;
    }
    if let Some(home) = &found.home {
        // Dovecot chdir()s home after the switch; a missing home is not fatal.
        let _ = std::env::set_current_dir(home);
    }
    Ok(UserIdentity {
        username: found.username.clone(),
        home: found.home.clone(),
        uid,
        gid,
        hostname: hostname(config),
        session: session_id(),
        service: "lda",
    })
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn access_groups(groups: &[String]) -> Result<Vec<u32>, Fatal> {
    groups
        .iter()
        .map(|g| resolve_id(g, false).map(|id| id.unwrap_or_default()).map_err(Fatal::temp))
        .collect()
}

fn read_message(user: &MailUser, path: Option<PathBuf>) -> Result<IncomingMessage, Fatal> {
    let mut stage = || -> std::io::Result<(PathBuf, File)> {
        let dir = user.staging_dir().map_err(std::io::Error::other)?;
        let path = dir.join(user.unique_name());
        let file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        Ok((path, file))
    };
    let result = match path {
        Some(path) => IncomingMessage::from_path(&path, &mut stage),
        None => IncomingMessage::from_stdin(std::io::stdin().lock(), &mut stage),
    };
    result.map_err(|e| Fatal::temp(e.to_string()))
}

/// `-f`, `-a`, `-r` as parsed addresses.
#[derive(Debug)]
struct EnvelopeArgs {
    sender: Option<Option<MailAddress>>,
    original_recipient: Option<MailAddress>,
    final_recipient: Option<MailAddress>,
}

impl EnvelopeArgs {
    fn parse(cli: &DeliverArgs) -> Result<Self, Fatal> {
        let recipient = |opt: &Option<String>, letter| -> Result<Option<MailAddress>, Fatal> {
            let Some(value) = opt else { return Ok(None) };
            let usage = |reason: String| {
                Fatal::new(FailureClass::Usage, format!("Invalid -{letter} parameter: {reason}"))
            };
            match parse_path(value) {
                Ok(Some(addr)) => Ok(Some(addr)),
                Ok(None) => Err(usage("Null path not allowed".into())),
                Err(e) => Err(usage(e.to_string())),
            }
        };
        let sender = match &cli.envelope_sender {
            None => None,
            Some(value) => match parse_path(value) {
                Ok(addr) => Some(addr),
                Err(PathError::Broken(_)) => Some(None),
                Err(e @ PathError::Invalid(_)) => {
                    return Err(Fatal::new(
                        FailureClass::Usage,
                        format!("Invalid -f parameter: {e}"),
                    ));
                }
            },
        };
        Ok(Self {
            sender,
            original_recipient: recipient(&cli.original_recipient, 'a')?,
            final_recipient: recipient(&cli.final_recipient, 'r')?,
        })
    }
}

fn message_facts(
    config: &Config,
    user: &UserIdentity,
    envelope: &EnvelopeArgs,
    message: &IncomingMessage,
) -> MessageFacts {
    let mut facts = MessageFacts::from_header(message.header(), message.size(), message.vsize());
    facts.from_envelope = match &envelope.sender {
        Some(Some(addr)) => addr.to_string(),
        Some(None) => String::new(),
        None => message.from_line_sender().unwrap_or("MAILER-DAEMON").to_string(),
    };
    facts.from_envelope = delivery::log_line::sanitize(&facts.from_envelope, 80);
    facts.to_envelope = original_recipient(config, user, envelope, message);
    facts
}

/// `-a`, else `lda_original_recipient_header`, else `user@hostname` (lda-cli.md §5).
fn original_recipient(
    config: &Config,
    user: &UserIdentity,
    envelope: &EnvelopeArgs,
    message: &IncomingMessage,
) -> String {
    if let Some(addr) = &envelope.original_recipient {
        return addr.to_string();
    }
    let header_name = &config.settings().lda.lda_original_recipient_header;
    if !header_name.is_empty() {
        let found = first_header(message.header(), header_name)
            .and_then(|v| parse_path(v.trim()).ok().flatten())
            .filter(|a| a.domain.is_some());
        if let Some(addr) = found {
            return addr.to_string();
        }
    }
    if user.username.contains('@') {
        user.username.clone()
    } else {
        format!("{}@{}", user.username, user.hostname)
    }
}

/// `mail_debug` lines naming where the recipient addresses came from (as Dovecot's debug log).
fn log_destination(
    log: &mut Logger,
    envelope: &EnvelopeArgs,
    facts: &MessageFacts,
) -> Result<(), Fatal> {
    let source = if envelope.original_recipient.is_some() { "-a parameter" } else { "default" };
    let mut lines =
        vec![format!("Destination address: <{}> (source: {source})", facts.to_envelope)];
    if let Some(rcpt) = &envelope.final_recipient {
        lines.push(format!("Final recipient address: <{rcpt}> (source: -r parameter)"));
    }
    for line in lines {
        log.log(Level::Debug, &line).map_err(|e| Fatal::temp(e.to_string()))?;
    }
    Ok(())
}

struct LogAdapter<'a>(&'a mut Logger);

impl DeliveryLog for LogAdapter<'_> {
    fn info(&mut self, line: &str) -> std::io::Result<()> {
        self.0.log(Level::Info, line)
    }

    fn error(&mut self, line: &str) -> std::io::Result<()> {
        self.0.log(Level::Error, line)
    }

    fn debug(&mut self, line: &str) -> std::io::Result<()> {
        self.0.log(Level::Debug, line)
    }
}

fn deliver_message(
    ctx: &Ctx<'_>,
    message: &IncomingMessage,
    facts: &MessageFacts,
    started: Instant,
    logger: &mut Logger,
) -> Result<(), Fatal> {
    let cli = ctx.cli;
    let s = &ctx.config.settings().lda;
    let request = DeliveryRequest {
        message,
        facts,
        default_mailbox: cli.mailbox.as_deref().unwrap_or("INBOX"),
        autocreate: s.lda_mailbox_autocreate && !cli.no_autocreate,
        autosubscribe: s.lda_mailbox_autosubscribe || cli.autosubscribe,
        log_format: &s.deliver_log_format,
        started,
        envelope_sender: Some(facts.from_envelope.as_str()).filter(|e| !e.is_empty()),
        quota: ctx.quota,
    };
    let rcpt = Recipient {
        config: ctx.config,
        identity: ctx.identity,
        user: ctx.user,
        envelope: ctx.envelope,
        reject_to_stderr: cli.reject_to_stderr,
    };
    deliver_to_recipient(&rcpt, &request, &mut LogAdapter(logger))
}
