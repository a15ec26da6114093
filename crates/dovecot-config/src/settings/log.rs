//! Logging and process settings (mirrors dovecot/core@2.3.19.1
//! src/lib-master/master-service-settings.c; defaults from doveconf 2.3.19, Debian build).

use super::settings_block;

settings_block! {
    /// Where and how mail processes log, and process-wide settings.
    LogSettings {
        /// Error log file, or `syslog`.
        log_path: String = "syslog",
        /// Info log file (empty = `log_path`).
        info_log_path: String = "",
        /// Debug log file (empty = `info_log_path`).
        debug_log_path: String = "",
        /// Syslog facility.
        syslog_facility: String = "mail",
        /// strftime() prefix of file log lines.
        log_timestamp: String = "%b %d %H:%M:%S ",
        /// Prefix of mail process log lines (%-variables).
        mail_log_prefix: String = "%s(%u)<%{pid}><%{session}>: ",
        /// Environment variables kept when the environment is scrubbed (`NAME` or `NAME=value`).
        import_environment: Vec<String> = "TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS NOTIFY_SOCKET",
        /// Instance name (syslog ident and process titles).
        instance_name: String = "dovecot",
        /// Runtime directory; relative socket paths are under it (Debian build path).
        base_dir: String = "/run/dovecot",
        /// State directory (Debian build path).
        state_dir: String = "/var/lib/dovecot",
        /// Protocols the server offers (empty in a file-less configuration).
        protocols: Vec<String> = "",
        /// Show extra state in process titles.
        verbose_proctitle: bool = "no",
    }
}
