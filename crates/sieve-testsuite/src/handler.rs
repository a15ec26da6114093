//! What each testsuite command and test does (spec sieve-testsuite.md §2–§12), reached through
//! [`sieve::extensions::testsuite::TestsuiteHandler`]. The state lives in [`Host`], which the
//! running machine carries as its environment.

use std::sync::Arc;

use sieve::extensions::testsuite::TestsuiteHandler;
use sieve::interpret::custom::CustomFlow;
use sieve::matching::{compare, compile_regex, match_value, regex_match, relation_holds};
use sieve::program::{CustomArgs, CustomValue, MatchType};
use sieve::{Envelope, Machine, MessageView, RuntimeError, SieveResult};

use crate::host::{Host, TEST_FAILED, derive_envelope, tool_user};

/// The runner's implementation of the testsuite commands.
pub struct Handler;

/// The test case's state, from the machine's environment.
pub fn host<'m>(m: &'m mut Machine<'_>) -> Result<&'m mut Host, RuntimeError> {
    let missing = m.failure("testsuite: runner state is missing");
    m.env.as_any_mut().and_then(|a| a.downcast_mut::<Host>()).ok_or(missing)
}

/// Positional argument `i` as a string (variables substituted).
pub fn str_arg(m: &mut Machine<'_>, args: &CustomArgs, i: usize) -> String {
    match args.positional.get(i) {
        Some(CustomValue::Str(s)) => m.eval(s),
        Some(CustomValue::List(l)) => m.eval_list(l).join(" "),
        Some(CustomValue::Number(n)) => n.to_string(),
        None => String::new(),
    }
}

/// Positional argument `i` as a string list.
pub fn list_arg(m: &mut Machine<'_>, args: &CustomArgs, i: usize) -> Vec<String> {
    match args.positional.get(i) {
        Some(CustomValue::Str(s)) => vec![m.eval(s)],
        Some(CustomValue::List(l)) => m.eval_list(l),
        Some(CustomValue::Number(n)) => vec![n.to_string()],
        None => Vec::new(),
    }
}

/// Positional argument `i` as a number.
fn num_arg(args: &CustomArgs, i: usize) -> u64 {
    match args.positional.get(i) {
        Some(CustomValue::Number(n)) => *n,
        _ => 0,
    }
}

/// Whether tag `name` was given, and its value.
fn tag<'a>(args: &'a CustomArgs, name: &str) -> Option<&'a Option<CustomValue>> {
    args.tags.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn tag_str(m: &mut Machine<'_>, args: &CustomArgs, name: &str) -> Option<String> {
    match tag(args, name) {
        Some(Some(CustomValue::Str(s))) => Some(m.eval(s)),
        _ => None,
    }
}

fn tag_num(args: &CustomArgs, name: &str) -> Option<u64> {
    match tag(args, name) {
        Some(Some(CustomValue::Number(n))) => Some(*n),
        _ => None,
    }
}

impl TestsuiteHandler for Handler {
    fn command(
        &self,
        name: &'static str,
        args: &CustomArgs,
        m: &mut Machine<'_>,
    ) -> Result<CustomFlow, RuntimeError> {
        match name {
            "test" => return run_test_block(args, m),
            "test_fail" => {
                let reason = str_arg(m, args, 0);
                return Err(host(m)?.fail_test(reason));
            }
            "test_set" => test_set(args, m)?,
            "test_result_reset" => {
                m.reset_result();
                let h = host(m)?;
                h.smtp.clear();
                h.executed = 0;
                h.kept = false;
            }
            "test_result_print" => {
                let text = sieve::dry_run_report(m.result());
                host(m)?.out.push_str(&format!("--\n{text}--\n"));
            }
            "test_message_print" => {
                let raw = String::from_utf8_lossy(m.message().raw()).into_owned();
                host(m)?.out.push_str(&format!("--MESSAGE: \n{raw}\n--MESSAGE--\n"));
            }
            "test_message" => {
                if !select_message(args, m)? {
                    let reason = match tag_str(m, args, "folder") {
                        Some(f) => {
                            format!("no message in folder '{f}' with index {}", num_arg(args, 0))
                        }
                        None => format!("no outgoing SMTP message with index {}", num_arg(args, 0)),
                    };
                    return Err(host(m)?.fail_test(reason));
                }
            }
            "test_mailbox_create" => {
                let mailbox = str_arg(m, args, 0);
                if let Err(e) = host(m)?.store.create(&mailbox) {
                    return Err(m.failure(e));
                }
            }
            "test_mailbox_delete" => {
                return Err(host(m)?.fail_test("test_mailbox_delete: NOT IMPLEMENTED"));
            }
            "test_imap_metadata_set" => {
                let mailbox = tag_str(m, args, "mailbox");
                let (entry, value) = (str_arg(m, args, 0), str_arg(m, args, 1));
                let h = host(m)?;
                if let Err(e) = h.store.set_metadata(mailbox.as_deref(), &entry, &value) {
                    h.errors.push(e.clone());
                    return Err(m.failure(e));
                }
            }
            _ => return config_or_binary(name, args, m),
        }
        Ok(CustomFlow::Continue)
    }

    fn test(
        &self,
        name: &'static str,
        args: &CustomArgs,
        m: &mut Machine<'_>,
    ) -> Result<bool, RuntimeError> {
        match name {
            "test_message" => select_message(args, m),
            "test_result_execute" => crate::execute::execute_current(m),
            "test_result_action" => {
                let names: Vec<String> =
                    m.result().actions.iter().map(|a| action_name(a).to_owned()).collect();
                Ok(match_values(m, args, names))
            }
            "test_error" => {
                let errors = host(m)?.errors.clone();
                Ok(match_values(m, args, errors))
            }
            "test_script_compile" => {
                let path = str_arg(m, args, 0);
                let h = host(m)?;
                match crate::compile_sub(h, &path) {
                    Some(script) => {
                        h.slot = Some(Arc::new(script));
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            "test_script_run" => script_run(m, tag(args, "append_result").is_some()),
            "test_multiscript" => {
                let paths = list_arg(m, args, 0);
                crate::execute::multiscript(m, &paths)
            }
            _ => Err(m.failure(format!("{name}: unknown testsuite test"))),
        }
    }
}

/// `test "name" { ... }` (spec §2.1).
fn run_test_block(args: &CustomArgs, m: &mut Machine<'_>) -> Result<CustomFlow, RuntimeError> {
    let name = str_arg(m, args, 0);
    let h = host(m)?;
    h.tests_started += 1;
    let n = h.tests_started;
    h.current = Some((n, name.clone()));
    let outcome = m.run_block(&args.block);
    let h = host(m)?;
    h.current = None;
    match outcome {
        Ok(true) => Ok(CustomFlow::Stop),
        Ok(false) => {
            h.report_block(n, &name, None);
            Ok(CustomFlow::Continue)
        }
        Err(e) if e.message == TEST_FAILED => {
            let reason = h.pending_fail.take().unwrap_or_default();
            h.failures += 1;
            h.report_block(n, &name, Some(&reason));
            Ok(CustomFlow::Continue)
        }
        Err(e) => Err(e),
    }
}

/// `test_set` (spec §3).
fn test_set(args: &CustomArgs, m: &mut Machine<'_>) -> Result<(), RuntimeError> {
    let object = str_arg(m, args, 0).to_ascii_lowercase();
    let value = str_arg(m, args, 1);
    if object == "message" {
        let view = MessageView::parse(value.as_bytes());
        let envelope = derive_envelope(&view);
        host(m)?.message = view.clone();
        m.set_message(view);
        m.set_flags(Vec::new());
        m.set_envelope(envelope);
        return Ok(());
    }
    let mut env: Envelope = m.envelope().clone();
    let field = object.strip_prefix("envelope.").unwrap_or(&object).to_owned();
    if field == "auth" {
        env.auth = Some(value).filter(|v| !v.is_empty());
        m.set_envelope(env);
        return Ok(());
    }
    let parsed = match crate::address::parse_path(&value) {
        Ok(p) => p,
        Err(why) => {
            let what = match field.as_str() {
                "from" => "sender",
                "to" => "recipient",
                _ => "original recipient",
            };
            let msg = format!("testsuite: envelope {what} address `{value}' is invalid: {why}");
            host(m)?.errors.push(msg);
            None
        }
    };
    match field.as_str() {
        "from" => env.from = parsed,
        "to" => {
            env.to = parsed.clone().unwrap_or_default();
            env.orig_to = parsed;
        }
        "orig_to" => env.orig_to = parsed,
        _ => return Err(m.failure(format!("unknown testsuite object '{object}'"))),
    }
    m.set_envelope(env);
    Ok(())
}

/// `test_message :smtp N` / `:folder "box" N`: selects a message; false when none.
fn select_message(args: &CustomArgs, m: &mut Machine<'_>) -> Result<bool, RuntimeError> {
    let index = usize::try_from(num_arg(args, 0)).unwrap_or(usize::MAX);
    let folder = tag_str(m, args, "folder");
    let h = host(m)?;
    match folder {
        Some(f) => {
            let Some(stored) = h.store.message(&f, index).cloned() else { return Ok(false) };
            let view = MessageView::parse(&stored.raw);
            let envelope = derive_envelope(&view);
            h.message = view.clone();
            m.set_flags(Vec::new());
            m.set_message(view);
            m.set_envelope(envelope);
            m.set_flags(stored.flags);
        }
        None => {
            let Some(entry) = h.smtp.get(index).cloned() else { return Ok(false) };
            let view = MessageView::parse(&entry.message);
            h.message = view.clone();
            m.set_flags(Vec::new());
            let envelope = Envelope {
                from: entry.from,
                to: entry.to.clone(),
                orig_to: Some(entry.to),
                auth: Some(tool_user()),
            };
            m.set_message(view);
            m.set_envelope(envelope);
        }
    }
    Ok(true)
}

/// `test_config_*` and `test_binary_*` (spec §8, §10).
fn config_or_binary(
    name: &str,
    args: &CustomArgs,
    m: &mut Machine<'_>,
) -> Result<CustomFlow, RuntimeError> {
    match name {
        "test_config_set" => {
            let (k, v) = (str_arg(m, args, 0), str_arg(m, args, 1));
            host(m)?.settings.insert(k, v);
        }
        "test_config_unset" => {
            let k = str_arg(m, args, 0);
            host(m)?.settings.remove(&k);
        }
        "test_config_reload" => {
            let ext = tag_str(m, args, "extension");
            let h = host(m)?;
            if let Some(e) = ext
                && !known_extension(&e)
            {
                return Err(h.fail_test(format!("test_config_reload: unknown extension '{e}'")));
            }
            h.reload();
        }
        "test_binary_save" => {
            let key = str_arg(m, args, 0);
            let h = host(m)?;
            let Some(script) = h.slot.clone() else {
                h.errors.push("test_binary_save: no compiled script to save".into());
                return Err(m.failure("no compiled script to save"));
            };
            h.binaries.insert(key, script);
        }
        "test_binary_load" => {
            let key = str_arg(m, args, 0);
            let h = host(m)?;
            match h.binaries.get(&key).cloned() {
                Some(s) => h.slot = Some(s),
                None => {
                    h.errors.push(format!("failed to load binary '{key}'"));
                    return Err(m.failure(format!("failed to load binary '{key}'")));
                }
            }
        }
        _ => return Err(m.failure(format!("{name}: unknown testsuite command"))),
    }
    Ok(CustomFlow::Continue)
}

fn known_extension(name: &str) -> bool {
    sieve::extensions::ALL_EXTENSIONS.iter().any(|e| e.name() == name)
        || matches!(
            name,
            "vnd.dovecot.testsuite"
                | "notify"
                | "imapflags"
                | "comparator-i;octet"
                | "comparator-i;ascii-casemap"
        )
}

/// `test_script_run [:append_result]` (spec §9.2).
fn script_run(m: &mut Machine<'_>, append: bool) -> Result<bool, RuntimeError> {
    let h = host(m)?;
    h.clear_log();
    let limits = h.limits.clone();
    let Some(script) = h.slot.clone() else {
        h.errors.push("no compiled script to run".into());
        return Ok(false);
    };
    let executed = host(m)?.executed;
    let prior = if append && executed > 0 {
        // Rules against already executed actions differ (see `fold_after_execution`): run
        // into an empty result and fold the new actions in afterwards.
        SieveResult::default()
    } else if append {
        m.result().clone()
    } else {
        let h = host(m)?;
        h.executed = 0;
        h.kept = false;
        SieveResult::default()
    };
    let message = m.message().clone();
    let envelope = m.envelope().clone();
    let outcome = sieve::run_appending(&script, &message, &envelope, &mut *m.env, &limits, prior);
    match outcome {
        Ok(result) if append && executed > 0 => {
            let merged = fold_after_execution(m.result().clone(), executed, result);
            m.set_result(merged);
            Ok(true)
        }
        Ok(result) => {
            m.set_result(result);
            Ok(true)
        }
        Err(e) if e.message == TEST_FAILED => Err(e),
        Err(e) => {
            let h = host(m)?;
            h.errors.push(e.message);
            if !append {
                m.reset_result();
            }
            Ok(false)
        }
    }
}

/// Adds the actions of a later script to a result whose first `executed` actions were already
/// executed (spec §4.2): nothing conflicts with an executed action any more (a `reject` after an
/// executed store is fine, a second `reject` after an executed one is dropped), and duplicates
/// still merge (`keep` after `fileinto "INBOX"` becomes the keep).
fn fold_after_execution(mut prior: SieveResult, executed: usize, new: SieveResult) -> SieveResult {
    use sieve::Action;
    let same_box = |a: &Action, b: &Action, default: &str| {
        let target = |x: &Action| match x {
            Action::Keep { .. } => Some(default.to_owned()),
            Action::FileInto { mailbox, .. } => Some(mailbox.clone()),
            _ => None,
        };
        match (target(a), target(b)) {
            (Some(x), Some(y)) => {
                x == y || (x.eq_ignore_ascii_case("INBOX") && y.eq_ignore_ascii_case("INBOX"))
            }
            _ => false,
        }
    };
    let default = if prior.default_mailbox.is_empty() {
        "INBOX".to_owned()
    } else {
        prior.default_mailbox.clone()
    };
    for (action, src) in new.actions.into_iter().zip(new.sources) {
        if let Some(i) = prior.actions.iter().position(|a| same_box(a, &action, &default)) {
            if matches!(action, Action::Keep { .. }) {
                prior.actions[i] = action;
            }
            continue;
        }
        let duplicate = prior.actions.iter().enumerate().any(|(i, a)| match (a, &action) {
            (Action::Reject { .. }, Action::Reject { .. }) => i < executed,
            (Action::Redirect { address: x, .. }, Action::Redirect { address: y, .. }) => {
                x.eq_ignore_ascii_case(y)
            }
            (Action::Discard, Action::Discard) => true,
            _ => false,
        });
        if !duplicate {
            prior.actions.push(action);
            prior.sources.push(src);
        }
    }
    prior.implicit_keep = !prior.actions.iter().any(Action::cancels_implicit_keep);
    prior.implicit_keep_flags = new.implicit_keep_flags;
    prior
}

/// Name of an action as `test_result_action` sees it (spec §4.3).
pub fn action_name(a: &sieve::Action) -> &'static str {
    match a {
        sieve::Action::Keep { .. } => "keep",
        other => other.name(),
    }
}

/// Matches `values` against the key list with the test's match type, comparator and `:index`.
fn match_values(m: &mut Machine<'_>, args: &CustomArgs, mut values: Vec<String>) -> bool {
    let keys = list_arg(m, args, 0);
    if let Some(n) = tag_num(args, "index").filter(|n| *n > 0) {
        let i = usize::try_from(n - 1).unwrap_or(usize::MAX);
        values = values.get(i).cloned().into_iter().collect();
    }
    let spec = args.spec.unwrap_or_default();
    let c = spec.comparator;
    match spec.match_type {
        MatchType::Count(rel) => {
            let count = values.len().to_string();
            keys.iter().any(|k| relation_holds(rel, compare(c, &count, k)))
        }
        MatchType::Regex => keys.iter().any(|k| match compile_regex(k, c) {
            Ok(re) => values.iter().any(|v| regex_match(&re, v, &mut None)),
            Err(_) => false,
        }),
        mt => values.iter().any(|v| keys.iter().any(|k| match_value(mt, c, v, k, &mut None))),
    }
}
