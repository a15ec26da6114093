//! The `dovecot-lda` command line, parsed with POSIX getopt rules and no I/O.
//!
//! Option string: the LDA's own `a:d:ef:m:p:r:`, Dovecot's common `c:i:ko:OL`, plus the seed's
//! `-n` (don't create the destination mailbox) and `-s` (subscribe what we create), which
//! Dovecot 2.3 dropped (seed-wins.md). `-dalice` and `-d alice` both work, flags cluster
//! (`-ek`), parsing stops at the first non-option or after `--`.

/// The deliver command line as given (nothing resolved yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliverArgs {
    /// `-a`: original recipient.
    pub original_recipient: Option<String>,
    /// `-d`: destination user (last one wins).
    pub destination_user: Option<String>,
    /// `-e`: rejections go to stderr with exit 77.
    pub reject_to_stderr: bool,
    /// `-f`: envelope sender.
    pub envelope_sender: Option<String>,
    /// `-m`: destination mailbox (an empty value is ignored).
    pub mailbox: Option<String>,
    /// `-p`: message file instead of stdin.
    pub message_path: Option<String>,
    /// `-r`: final recipient.
    pub final_recipient: Option<String>,
    /// `-c`: config file.
    pub config_path: Option<String>,
    /// `-i`: Dovecot instance name.
    pub instance: Option<String>,
    /// `-k`: keep the environment.
    pub keep_environment: bool,
    /// `-o key=value`, in order.
    pub overrides: Vec<(String, String)>,
    /// `-O`: read no config file.
    pub no_config: bool,
    /// `-L`: log directly (accepted, no effect).
    pub log_directly: bool,
    /// `-n`: don't create a missing destination mailbox.
    pub no_autocreate: bool,
    /// `-s`: subscribe mailboxes we create.
    pub autosubscribe: bool,
}

/// A command line that cannot be used: exit 64 with usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// getopt's `invalid option -- 'x'`.
    InvalidOption(char),
    /// getopt's `option requires an argument -- 'x'`.
    MissingArgument(char),
    /// A non-option argument was left over.
    UnknownArgument(String),
    /// `-o` without `=`.
    BadOverride(String),
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsageError::InvalidOption(c) => write!(f, "invalid option -- '{c}'"),
            UsageError::MissingArgument(c) => write!(f, "option requires an argument -- '{c}'"),
            UsageError::UnknownArgument(a) => write!(f, "Unknown argument: {a}"),
            UsageError::BadOverride(o) => write!(f, "Configuration override {o} must have '='"),
        }
    }
}

/// The usage text dovecot-lda prints on stdout (four lines, same options).
pub const USAGE: &str = "\
Usage: dovecot-lda [-c <config file>] [-d <username>] [-p <path>]
                   [-m <mailbox>] [-e] [-k] [-n] [-s] [-f <envelope sender>]
                   [-a <original envelope recipient>] [-r <final envelope recipient>]
                   [-o <key>=<value>] [-O] [-L]
";

const WITH_ARG: &str = "adfmprcio";
const FLAGS: &str = "ekOLns";

/// Parse the arguments after the program/subcommand name.
pub fn parse_deliver_args(args: &[String]) -> Result<DeliverArgs, UsageError> {
    let mut out = DeliverArgs::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            i += 1;
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            break;
        }
        for (pos, opt) in arg[1..].char_indices() {
            if FLAGS.contains(opt) {
                set_flag(&mut out, opt);
            } else if WITH_ARG.contains(opt) {
                let rest = &arg[1 + pos + opt.len_utf8()..];
                let value = if !rest.is_empty() {
                    rest.to_string()
                } else {
                    i += 1;
                    args.get(i).cloned().ok_or(UsageError::MissingArgument(opt))?
                };
                set_value(&mut out, opt, value)?;
                break;
            } else {
                return Err(UsageError::InvalidOption(opt));
            }
        }
        i += 1;
    }
    match args.get(i) {
        Some(extra) => Err(UsageError::UnknownArgument(extra.clone())),
        None => Ok(out),
    }
}

fn set_flag(out: &mut DeliverArgs, opt: char) {
    match opt {
        'e' => out.reject_to_stderr = true,
        'k' => out.keep_environment = true,
        'O' => out.no_config = true,
        'L' => out.log_directly = true,
        'n' => out.no_autocreate = true,
        's' => out.autosubscribe = true,
        _ => unreachable!("FLAGS lists only the letters handled here"),
    }
}

fn set_value(out: &mut DeliverArgs, opt: char, value: String) -> Result<(), UsageError> {
    match opt {
        'a' => out.original_recipient = Some(value),
        'd' => out.destination_user = Some(value),
        'f' => out.envelope_sender = Some(value),
        'm' => out.mailbox = Some(value).filter(|m| !m.is_empty()),
        'p' => out.message_path = Some(value),
        'r' => out.final_recipient = Some(value),
        'c' => out.config_path = Some(value),
        'i' => out.instance = Some(value),
        'o' => {
            let (key, val) = value.split_once('=').ok_or(UsageError::BadOverride(value.clone()))?;
            out.overrides.push((key.to_string(), val.to_string()));
        }
        _ => unreachable!("WITH_ARG lists only the letters handled here"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<DeliverArgs, UsageError> {
        parse_deliver_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn attached_and_separate_values() {
        let a = parse(&["-dalice", "-f", "s@x", "-m", "Work", "-oa=b", "-o", "c=d=e"]).unwrap();
        assert_eq!(a.destination_user.as_deref(), Some("alice"));
        assert_eq!(a.envelope_sender.as_deref(), Some("s@x"));
        assert_eq!(a.mailbox.as_deref(), Some("Work"));
        assert_eq!(a.overrides, vec![("a".into(), "b".into()), ("c".into(), "d=e".into())]);
    }

    #[test]
    fn clustered_flags_and_last_d_wins() {
        let a = parse(&["-eknsOL", "-d", "a", "-d", "b", "-efx"]).unwrap();
        assert!(a.reject_to_stderr && a.keep_environment && a.no_autocreate && a.autosubscribe);
        assert!(a.no_config && a.log_directly);
        assert_eq!(a.destination_user.as_deref(), Some("b"));
        assert_eq!(a.envelope_sender.as_deref(), Some("x"));
    }

    #[test]
    fn empty_mailbox_is_ignored() {
        assert_eq!(parse(&["-m", ""]).unwrap().mailbox, None);
    }

    #[test]
    fn usage_errors() {
        assert_eq!(parse(&["-x"]), Err(UsageError::InvalidOption('x')));
        assert_eq!(parse(&["-d"]), Err(UsageError::MissingArgument('d')));
        assert_eq!(parse(&["extra"]), Err(UsageError::UnknownArgument("extra".into())));
        assert_eq!(parse(&["-d", "a", "extra"]), Err(UsageError::UnknownArgument("extra".into())));
        assert_eq!(parse(&["-o", "novalue"]), Err(UsageError::BadOverride("novalue".into())));
        assert!(parse(&["--", "x"]).is_err());
        assert!(parse(&["-d", "a", "--"]).is_ok());
    }
}
