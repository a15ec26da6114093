//! `letterbox lmtp`: the LMTP server (RFC 2033) on the same delivery core as `deliver`.
//!
//! `letterbox lmtp [-c CONFIG | -O] [-o key=value]… [--listen unix:PATH | --listen HOST:PORT |
//! --listen PORT]… [--max-message-size BYTES] [--max-recipients N] [--max-connections N]
//! [--idle-timeout SECS]`. Without `--listen` one session is served on stdin/stdout (as
//! Dovecot's `lmtp` run by hand or from inetd). The privilege model is decided here once (see
//! `lmtp_server`'s crate docs): not root → deliver as ourselves; root with `mail_uid` → drop to
//! it now; root without → one `letterbox deliver` child per recipient.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use delivery::user_storage::{hostname, resolve_id};
use dovecot_config::{Config, LoadOptions};
use lmtp_server::{
    DeliveryAddress, Limits, LocalBackend, LogLevel, PrivilegeModel, ServerLog, ServerOptions,
    SessionConfig, TraceSettings,
};

use crate::exit_status::ExitStatus;
use crate::logging::{Level, LogSettings, Logger};

const USAGE: &str = "Usage: letterbox lmtp [-c CONFIG | -O] [-o key=value] [--listen unix:PATH|HOST:PORT|PORT]... \
[--max-message-size BYTES] [--max-recipients N] [--max-connections N] [--idle-timeout SECS]";

/// Parsed `letterbox lmtp` arguments.
#[derive(Debug, Default)]
struct LmtpArgs {
    config_path: Option<String>,
    no_config: bool,
    overrides: Vec<(String, String)>,
    listen: Vec<String>,
    limits: Limits,
    max_connections: usize,
    idle_timeout: u64,
}

fn parse_args(args: &[String]) -> Result<LmtpArgs, String> {
    let mut out = LmtpArgs {
        limits: Limits::default(),
        max_connections: 100,
        idle_timeout: 300,
        ..LmtpArgs::default()
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>().map_err(|_| format!("{name}: not a number: {v}"))
        };
        match arg.as_str() {
            "-c" => out.config_path = Some(value("-c")?),
            "-O" => out.no_config = true,
            "-o" => {
                let kv = value("-o")?;
                let (k, v) = kv.split_once('=').ok_or(format!("-o {kv}: expected key=value"))?;
                out.overrides.push((k.trim().to_string(), v.to_string()));
            }
            "--listen" => out.listen.push(value("--listen")?),
            "--max-message-size" => out.limits.max_message_size = number(arg, value(arg)?)?,
            "--max-recipients" => out.limits.max_recipients = number(arg, value(arg)?)? as usize,
            "--max-connections" => out.max_connections = number(arg, value(arg)?)? as usize,
            "--idle-timeout" => out.idle_timeout = number(arg, value(arg)?)?,
            other => return Err(format!("Unknown argument: {other}")),
        }
    }
    Ok(out)
}

/// Run `lmtp` with the arguments after the subcommand name.
pub fn run(args: &[String]) -> ExitStatus {
    let cli = match parse_args(args) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("lmtp: {e}\n{USAGE}");
            return ExitStatus::Usage;
        }
    };
    match serve(&cli) {
        Ok(()) => ExitStatus::Ok,
        Err(e) => {
            eprintln!("lmtp: Fatal: {e}");
            ExitStatus::TempFail
        }
    }
}

fn config_path(cli: &LmtpArgs) -> Option<PathBuf> {
    if cli.no_config {
        return None;
    }
    Some(PathBuf::from(cli.config_path.clone().unwrap_or_else(|| {
        std::env::var("CONFIG_FILE").unwrap_or_else(|_| "/etc/dovecot/dovecot.conf".into())
    })))
}

fn serve(cli: &LmtpArgs) -> Result<(), String> {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let listens = cli
        .listen
        .iter()
        .map(|l| lmtp_server::Listen::parse(l))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let path = config_path(cli);
    let opts = LoadOptions {
        path: path.clone(),
        protocol: "lmtp".into(),
        overrides: cli.overrides.clone(),
    };
    let config = dovecot_config::load(&opts).map_err(|e| e.to_string())?;
    let log: Arc<dyn ServerLog> = Arc::new(ServerLogger(Mutex::new(open_logger(&config)?)));
    // Bind while still privileged; privileges are dropped (if at all) right after.
    let listeners = lmtp_server::Listeners::bind(&listens).map_err(|e| e.to_string())?;
    let model = privilege_model(&config, path, &cli.overrides)?;
    let userdb = delivery::userdb::userdb_for(&config, "lmtp").map_err(|e| e.to_string())?;
    let hostname = hostname(&config);
    let session = session_config(&config, cli, &hostname);
    let backend = LocalBackend::new(config, userdb, model, Arc::clone(&log), hostname);
    if listens.is_empty() {
        return lmtp_server::serve_stdio(&backend, &session, log.as_ref())
            .map_err(|e| e.to_string());
    }
    let options = ServerOptions { session, max_connections: cli.max_connections.max(1) };
    mail_storage::begin_long_lived_process();
    let served = lmtp_server::serve(listeners, Arc::new(backend), &options, log);
    mail_storage::end_long_lived_process();
    served.map_err(|e| e.to_string())
}

fn session_config(config: &Config, cli: &LmtpArgs, hostname: &str) -> SessionConfig {
    let lmtp = &config.settings().lmtp;
    SessionConfig {
        hostname: hostname.to_string(),
        greeting: config.get("login_greeting").unwrap_or("letterbox ready.").to_string(),
        limits: cli.limits,
        trace: TraceSettings {
            add_received: lmtp.lmtp_add_received_header,
            delivery_address: DeliveryAddress::from_setting(&lmtp.lmtp_hdr_delivery_address),
            hostname: hostname.to_string(),
        },
        idle_timeout: Duration::from_secs(cli.idle_timeout.max(1)),
    }
}

/// Decide who delivers (crate docs of `lmtp_server`), dropping to `mail_uid` when asked.
fn privilege_model(
    config: &Config,
    config_path: Option<PathBuf>,
    overrides: &[(String, String)],
) -> Result<PrivilegeModel, String> {
    let euid = nix::unistd::geteuid();
    let egid = nix::unistd::getegid();
    if !euid.is_root() {
        return Ok(PrivilegeModel::SingleUid { uid: euid.as_raw(), gid: egid.as_raw() });
    }
    let mail = &config.settings().mail;
    if mail.mail_uid.is_empty() {
        let exe = std::env::current_exe().map_err(|e| format!("Can't find our own binary: {e}"))?;
        return Ok(PrivilegeModel::Spawn { exe, config_path, overrides: overrides.to_vec() });
    }
    let uid = resolve_required(&mail.mail_uid, true)?;
    let gid = if mail.mail_gid.is_empty() {
        user_lookup::user_by_uid(uid).ok().flatten().and_then(|u| u.gid).unwrap_or(uid)
    } else {
        resolve_required(&mail.mail_gid, false)?
    };
    crate::privileges::switch_to_user(uid, gid, None, &[]).map_err(|e| e.to_string())?;
    Ok(PrivilegeModel::SingleUid { uid, gid })
}

/// A uid/gid that must resolve.
fn resolve_required(value: &str, is_user: bool) -> Result<u32, String> {
    resolve_id(value, is_user)?.ok_or_else(|| format!("Unknown user or group name: {value}"))
}

fn open_logger(config: &Config) -> Result<Logger, String> {
    let s = &config.settings().log;
    let settings = LogSettings {
        log_path: s.log_path.clone(),
        info_log_path: s.info_log_path.clone(),
        debug_log_path: s.debug_log_path.clone(),
        log_timestamp: s.log_timestamp.clone(),
        syslog_facility: s.syslog_facility.clone(),
        debug: config.settings().mail.mail_debug,
    };
    Logger::open(&settings).map_err(|e| e.to_string())
}

/// letterbox's logger shared by all sessions: one line at a time, each with its own prefix.
struct ServerLogger(Mutex<Logger>);

impl ServerLog for ServerLogger {
    fn log(&self, level: LogLevel, prefix: &str, text: &str) -> std::io::Result<()> {
        let level = match level {
            LogLevel::Debug => Level::Debug,
            LogLevel::Info => Level::Info,
            LogLevel::Warning => Level::Warning,
            LogLevel::Error => Level::Error,
        };
        let mut logger = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        logger.set_prefix(prefix.to_string());
        logger.log(level, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments() {
        let cli = parse_args(&args(&[
            "-c",
            "/x.conf",
            "--listen",
            "unix:/s",
            "--listen",
            "2424",
            "-o",
            "a=b=c",
            "--max-message-size",
            "1000",
            "--max-recipients",
            "5",
            "--idle-timeout",
            "9",
        ]))
        .unwrap();
        assert_eq!(cli.config_path.as_deref(), Some("/x.conf"));
        assert_eq!(cli.listen, ["unix:/s", "2424"]);
        assert_eq!(cli.overrides, [("a".to_string(), "b=c".to_string())]);
        assert_eq!((cli.limits.max_message_size, cli.limits.max_recipients), (1000, 5));
        assert_eq!((cli.idle_timeout, cli.max_connections), (9, 100));
        assert!(parse_args(&args(&["--bogus"])).is_err());
        assert!(parse_args(&args(&["--listen"])).is_err());
        assert!(parse_args(&args(&["--max-recipients", "x"])).is_err());
    }
}
