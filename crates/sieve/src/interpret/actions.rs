//! Execution of action commands: they only add entries to the result (the host performs them),
//! plus editheader's changes to the header list later tests see.

use crate::message::HeaderField;
use crate::program::{Keys, MatchSpec, NotifyOp, OpKind, PStr, VacationOp};
use crate::result::{Action, NotifyAction, ReportAction, VacationAction};

use super::{Machine, RuntimeError};

/// Header fields editheader may never delete (adding them is allowed, as in Pigeonhole).
const PROTECTED_HEADERS: &[&str] = &["received", "auto-submitted"];

impl Machine<'_> {
    /// Runs an action command.
    pub(crate) fn action(&mut self, kind: &OpKind) -> Result<(), RuntimeError> {
        match kind {
            OpKind::Keep { flags } => {
                let flags = self.action_flags(flags.as_ref());
                self.add_action(Action::Keep { flags })
            }
            OpKind::Discard => self.add_action(Action::Discard),
            OpKind::FileInto { mailbox, flags, create, copy, special_use } => {
                let mailbox = self.eval(mailbox);
                check_mailbox_name(&mailbox).map_err(|e| self.failure(e))?;
                let flags = self.action_flags(flags.as_ref());
                let special_use = special_use.as_ref().map(|s| self.eval(s));
                let action =
                    Action::FileInto { mailbox, flags, create: *create, copy: *copy, special_use };
                self.add_action(action)
            }
            OpKind::Redirect { address, copy } => {
                let raw = self.eval(address);
                // Pigeonhole reports this one without a script position.
                let address = crate::address::parse_single(&raw).map_err(|e| RuntimeError {
                    line: 0,
                    ..self.failure(format!("specified redirect address '{raw}' is invalid: {e}"))
                })?;
                self.add_action(Action::Redirect { address, copy: *copy })
            }
            OpKind::Reject { reason, ereject } => {
                let reason = self.eval(reason);
                self.add_action(Action::Reject { reason, ereject: *ereject })
            }
            OpKind::Vacation(v) => {
                let action = self.vacation(v);
                self.add_action(Action::Vacation(Box::new(action)))
            }
            OpKind::Notify(n) => {
                let action = self.notify(n);
                self.add_action(Action::Notify(Box::new(action)))
            }
            OpKind::Report(r) => {
                let raw = self.eval(&r.address);
                let address = crate::address::parse_single(&raw).map_err(|e| RuntimeError {
                    line: 0,
                    ..self.failure(format!("specified report address '{raw}' is invalid: {e}"))
                })?;
                let action = ReportAction {
                    feedback_type: self.eval(&r.feedback_type),
                    message: self.eval(&r.message),
                    address,
                    headers_only: r.headers_only,
                };
                self.add_action(Action::Report(Box::new(action)))
            }
            OpKind::AddHeader { name, value, last } => self.add_header(name, value, *last),
            OpKind::DeleteHeader { name, index, values } => {
                self.delete_header(name, *index, values.as_ref())
            }
            _ => Ok(()),
        }
    }

    fn notify(&mut self, n: &NotifyOp) -> NotifyAction {
        NotifyAction {
            method: self.eval(&n.method),
            from: n.from.as_ref().map(|s| self.eval(s)),
            importance: n.importance.as_ref().map(|s| self.eval(s)),
            options: self.eval_list(&n.options),
            message: n.message.as_ref().map(|s| self.eval(s)),
        }
    }

    fn vacation(&mut self, v: &VacationOp) -> VacationAction {
        let subject = v.subject.as_ref().map(|s| self.eval(s));
        let from = v.from.as_ref().map(|s| self.eval(s));
        let reason = self.eval(&v.reason);
        let handle = match &v.handle {
            Some(h) => self.eval(h),
            None => format!(
                "{reason}{}{}{}",
                subject.as_deref().unwrap_or("<default-subject>"),
                from.as_deref().unwrap_or("<default-from>"),
                if v.mime { "<MIME>" } else { "<NO-MIME>" }
            ),
        };
        let addresses = self.eval_list(&v.addresses);
        VacationAction {
            seconds: v.seconds,
            subject,
            from,
            addresses,
            mime: v.mime,
            handle,
            reason,
        }
    }

    fn editable_name(&self, name: &str) -> Result<(), RuntimeError> {
        if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
            return Err(
                self.failure(format!("addheader action: specified field name `{name}' is invalid"))
            );
        }
        Ok(())
    }

    fn add_header(&mut self, name: &PStr, value: &PStr, last: bool) -> Result<(), RuntimeError> {
        let name = self.eval(name);
        let value = self.eval(value);
        self.editable_name(&name)?;
        let field = HeaderField { name, value: format!(" {}", fold_value(&value)).into_bytes() };
        if self.headers.is_none() {
            self.headers = Some(self.message().headers.clone());
        }
        let Some(headers) = self.headers.as_mut() else { return Ok(()) };
        if last {
            headers.push(field);
        } else {
            headers.insert(0, field);
        }
        Ok(())
    }

    fn delete_header(
        &mut self,
        name: &PStr,
        index: Option<(u64, bool)>,
        values: Option<&(Keys, MatchSpec)>,
    ) -> Result<(), RuntimeError> {
        let name = self.eval(name);
        self.editable_name(&name).map_err(|_| {
            self.failure(format!("deleteheader action: specified field name `{name}' is invalid"))
        })?;
        if PROTECTED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Ok(());
        }
        let mut headers = match self.headers.take() {
            Some(h) => h,
            None => self.message().headers.clone(),
        };
        let positions: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.name.eq_ignore_ascii_case(&name))
            .map(|(i, _)| i)
            .collect();
        let selected: Vec<usize> = match index {
            None => positions,
            Some((n, last)) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                let pick = if n == 0 || n > positions.len() {
                    None
                } else if last {
                    positions.get(positions.len() - n)
                } else {
                    positions.get(n - 1)
                };
                pick.copied().into_iter().collect()
            }
        };
        let mut remove = Vec::new();
        for i in selected {
            let keep = match values {
                None => false,
                Some((keys, spec)) => {
                    let v = headers[i].decoded();
                    !self.match_keys(vec![v], keys, spec)?
                }
            };
            if !keep {
                remove.push(i);
            }
        }
        for i in remove.into_iter().rev() {
            headers.remove(i);
        }
        self.headers = Some(headers);
        Ok(())
    }
}

/// Folds a header value so no line exceeds ~78 characters (RFC 5322 §2.2.3).
fn fold_value(v: &str) -> String {
    let clean: String = v.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
    let mut out = String::new();
    let mut line_len = 0;
    for (i, word) in clean.split(' ').enumerate() {
        if i > 0 {
            if line_len + word.len() + 1 > 76 && line_len > 0 {
                out.push_str("\n\t");
                line_len = 1;
            } else {
                out.push(' ');
                line_len += 1;
            }
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

/// Pigeonhole's run-time mailbox name checks (valid UTF-8 is guaranteed by `String`).
fn check_mailbox_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().any(char::is_control) || name.contains('\u{fffd}') {
        return Err(format!("fileinto action: invalid folder name `{name}' specified"));
    }
    Ok(())
}
