//! The interpreter: runs a compiled [`Script`] against one message and envelope, asking the
//! host through [`ScriptEnvironment`], and collects actions into a [`SieveResult`]. No I/O.
//! Every command and every comparison costs one step of the `cpu_steps` budget.

mod actions;
pub mod custom;
pub mod environment;
mod eval;
mod eval_ext;
pub mod limits;

use std::collections::HashSet;

use crate::message::{HeaderField, MessageView};
use crate::program::{FlagAction, Modifier, Op, OpKind, PStr, Part, Program, Script, VarRef};
use crate::result::{Action, ActionSource, ResultBuilder, SieveResult};
use custom::CustomFlow;
pub use environment::{
    Envelope, HostError, Now, NullEnvironment, ScriptEnvironment, implementation_item,
};
pub use limits::Limits;

/// Class of a run-time failure, as Pigeonhole's execution exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A resource limit (steps, include depth) was hit.
    ResourceLimit,
    /// A temporary failure of the host; the delivery should be retried.
    TempFailure,
    /// Any other run-time error (action conflict, action limit, invalid value).
    Failure,
}

/// A run-time error: the script failed and the host must fall back to the implicit keep.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RuntimeError {
    /// Line of the failing command (0 if unknown).
    pub line: u32,
    /// Class.
    pub class: ErrorClass,
    /// Message, Pigeonhole's wording where known.
    pub message: String,
}

/// Control flow after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
    Return,
    /// Leave the innermost `foreverypart` and this many enclosing ones.
    Break(usize),
}

/// A running script. Custom commands receive it to evaluate strings and add actions.
pub struct Machine<'a> {
    script: &'a Script,
    /// The message as received.
    pub message: &'a MessageView,
    /// The envelope.
    pub envelope: &'a Envelope,
    /// The host.
    pub env: &'a mut dyn ScriptEnvironment,
    /// Limits of this run.
    pub limits: &'a Limits,
    pub(crate) headers: Option<Vec<HeaderField>>,
    locals: Vec<String>,
    globals: Vec<String>,
    pub(crate) match_values: Vec<String>,
    pub(crate) flags: Vec<String>,
    pub(crate) result: ResultBuilder,
    /// How many `foreverypart` loops are running (across includes).
    loop_depth: usize,
    steps: u64,
    /// When the run must end (`Limits::max_time`).
    deadline: Option<std::time::Instant>,
    include_depth: usize,
    once_done: HashSet<usize>,
    program_name: String,
    line: u32,
    /// MIME structure, parsed on first use.
    mime: Option<std::sync::Arc<crate::mime::MimeTree>>,
    /// Part `foreverypart` is visiting (`None` = the message itself).
    pub(crate) current_part: Option<usize>,
    /// Replacement message set by a host command (testsuite `test_set "message"`).
    message_override: Option<Box<MessageView>>,
    /// Replacement envelope set by a host command (testsuite `test_set "envelope.*"`).
    envelope_override: Option<Box<Envelope>>,
}

/// Runs `script` against `message`/`envelope`.
pub fn run(
    script: &Script,
    message: &MessageView,
    envelope: &Envelope,
    env: &mut dyn ScriptEnvironment,
    limits: &Limits,
) -> Result<SieveResult, RuntimeError> {
    run_appending(script, message, envelope, env, limits, SieveResult::default())
}

/// Runs `script` like [`run`], adding its actions to those of `prior` (merge and conflict rules
/// apply against them) and starting with the imap4flags internal variable set to
/// `prior.implicit_keep_flags`: the testsuite's `test_script_run :append_result` and script
/// sequences, where flags set by one script are seen by the next.
pub fn run_appending(
    script: &Script,
    message: &MessageView,
    envelope: &Envelope,
    env: &mut dyn ScriptEnvironment,
    limits: &Limits,
    prior: SieveResult,
) -> Result<SieveResult, RuntimeError> {
    let default_mailbox = env.default_mailbox();
    let mut m = Machine {
        script,
        message,
        envelope,
        env,
        limits,
        headers: None,
        locals: vec![String::new(); script.main.local_vars],
        globals: vec![String::new(); script.globals.len()],
        match_values: Vec::new(),
        flags: prior.implicit_keep_flags.clone(),
        result: ResultBuilder {
            result: prior,
            default_mailbox,
            max_actions: limits.max_actions,
            max_redirects: limits.max_redirects,
        },
        steps: 0,
        loop_depth: 0,
        deadline: limits.max_time.map(|t| std::time::Instant::now() + t),
        include_depth: 0,
        once_done: HashSet::new(),
        program_name: script.main.name.clone(),
        line: 0,
        mime: None,
        current_part: None,
        message_override: None,
        envelope_override: None,
    };
    m.exec_block(&script.main.ops)?;
    let edited = m.headers.take();
    let flags = std::mem::take(&mut m.flags);
    let mut result = m.result.finish(flags);
    result.edited_headers = edited;
    Ok(result)
}

impl Machine<'_> {
    /// Builds an error of class `Failure` at the current command.
    pub fn failure(&self, message: impl Into<String>) -> RuntimeError {
        RuntimeError { line: self.line, class: ErrorClass::Failure, message: message.into() }
    }

    pub(crate) fn host_error(&self, e: HostError) -> RuntimeError {
        let class = if e.temporary { ErrorClass::TempFailure } else { ErrorClass::Failure };
        RuntimeError { line: self.line, class, message: e.message }
    }

    /// Charges `n` steps against the budget.
    pub fn charge(&mut self, n: u64) -> Result<(), RuntimeError> {
        self.steps = self.steps.saturating_add(n);
        let late = self.deadline.is_some_and(|d| std::time::Instant::now() > d);
        if late || (self.limits.cpu_steps > 0 && self.steps > self.limits.cpu_steps) {
            return Err(RuntimeError {
                line: self.line,
                class: ErrorClass::ResourceLimit,
                message: "execution exceeded CPU time limit".into(),
            });
        }
        Ok(())
    }

    /// The current header fields (edited by editheader, or the message's own).
    pub fn headers(&self) -> &[HeaderField] {
        self.headers.as_deref().unwrap_or(&self.message().headers)
    }

    /// The message under test (a host command may have replaced it).
    pub fn message(&self) -> &MessageView {
        self.message_override.as_deref().unwrap_or(self.message)
    }

    /// Replaces the message under test for the rest of the run (drops cached MIME data,
    /// header edits and match values). For host commands such as the testsuite's `test_set`.
    pub fn set_message(&mut self, message: MessageView) {
        self.message_override = Some(Box::new(message));
        self.mime = None;
        self.headers = None;
        self.current_part = None;
        self.match_values.clear();
    }

    /// Runs a block of commands (for host-provided block commands such as the testsuite's
    /// `test`); returns true when the script should stop (`stop`, or `return` at the top).
    pub fn run_block(&mut self, block: &[Op]) -> Result<bool, RuntimeError> {
        let flow = self.exec_block(block)?;
        Ok(matches!(flow, Flow::Stop | Flow::Return))
    }

    /// The envelope (a host command may have replaced it).
    pub fn envelope(&self) -> &Envelope {
        self.envelope_override.as_deref().unwrap_or(self.envelope)
    }

    /// Replaces the envelope for the rest of the run (testsuite `test_set "envelope.*"`).
    pub fn set_envelope(&mut self, envelope: Envelope) {
        self.envelope_override = Some(Box::new(envelope));
    }

    /// The actions collected so far.
    pub fn result(&self) -> &SieveResult {
        &self.result.result
    }

    /// Drops all actions collected so far (testsuite `test_result_reset`).
    pub fn reset_result(&mut self) {
        self.result.result = SieveResult::default();
    }

    /// The imap4flags internal variable (flags of `keep` and the implicit keep).
    pub fn flags(&self) -> &[String] {
        &self.flags
    }

    /// Replaces the imap4flags internal variable (testsuite `test_message :folder`, which
    /// selects a stored message together with its flags).
    pub fn set_flags(&mut self, flags: Vec<String>) {
        self.flags = flags;
    }

    /// Replaces the actions collected so far (testsuite `test_script_run`, whose sub-script
    /// result becomes the test case's current result).
    pub fn set_result(&mut self, result: SieveResult) {
        self.result.result = result;
    }

    /// The MIME structure of the current message.
    pub(crate) fn mime_tree(&mut self) -> std::sync::Arc<crate::mime::MimeTree> {
        if let Some(t) = &self.mime {
            return t.clone();
        }
        let tree = std::sync::Arc::new(crate::mime::MimeTree::parse(self.message().raw()));
        self.mime = Some(tree.clone());
        tree
    }

    /// Evaluates a program string (variables substituted).
    pub fn eval(&mut self, s: &PStr) -> String {
        match s {
            PStr::Lit(l) => l.clone(),
            PStr::Template(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Lit(l) => out.push_str(l),
                        Part::Match(n) => {
                            out.push_str(self.match_values.get(*n).map_or("", String::as_str))
                        }
                        Part::Var(v) => out.push_str(&self.read_var(v)),
                    }
                }
                out
            }
        }
    }

    /// Evaluates a list of program strings.
    pub fn eval_list(&mut self, l: &[PStr]) -> Vec<String> {
        l.iter().map(|s| self.eval(s)).collect()
    }

    pub(crate) fn read_var(&mut self, v: &VarRef) -> String {
        match v {
            VarRef::Local(i) => self.locals.get(*i).cloned().unwrap_or_default(),
            VarRef::Global(i) => self.globals.get(*i).cloned().unwrap_or_default(),
            VarRef::Env(name) => self.env.environment_item(name).unwrap_or_default(),
            VarRef::Host(name) => self.env.host_variable(name).unwrap_or_default(),
        }
    }

    pub(crate) fn write_var(&mut self, v: &VarRef, mut value: String) {
        truncate_utf8(&mut value, self.limits.max_variable_size);
        let slot = match v {
            VarRef::Local(i) => self.locals.get_mut(*i),
            VarRef::Global(i) => self.globals.get_mut(*i),
            VarRef::Env(_) | VarRef::Host(_) => None,
        };
        if let Some(slot) = slot {
            *slot = value;
        }
    }

    /// Adds an action to the result (merge/conflict/limit rules apply).
    pub fn add_action(&mut self, action: Action) -> Result<(), RuntimeError> {
        let src = ActionSource { script: self.program_name.clone(), line: self.line };
        self.result.add(action, src)
    }

    fn exec_block(&mut self, ops: &[Op]) -> Result<Flow, RuntimeError> {
        for op in ops {
            self.line = op.pos.line;
            self.charge(1)?;
            let flow = self.exec(op)?;
            if flow != Flow::Continue {
                return Ok(flow);
            }
        }
        Ok(Flow::Continue)
    }

    fn exec(&mut self, op: &Op) -> Result<Flow, RuntimeError> {
        match &op.kind {
            OpKind::If { branches, otherwise } => {
                for (test, block) in branches {
                    if self.test(test)? {
                        return self.exec_block(block);
                    }
                }
                match otherwise {
                    Some(block) => self.exec_block(block),
                    None => Ok(Flow::Continue),
                }
            }
            OpKind::Stop => Ok(Flow::Stop),
            OpKind::Break(n) => Ok(Flow::Break(*n)),
            OpKind::ForEveryPart { block } => self.foreverypart(block),
            OpKind::ExtractText { var, first, modifiers } => {
                self.extract_text(var, *first, modifiers);
                Ok(Flow::Continue)
            }
            OpKind::Return => Ok(Flow::Return),
            OpKind::DebugLog(msg) => {
                let text = self.eval(msg);
                self.env.debug_log(&text);
                Ok(Flow::Continue)
            }
            OpKind::Error(msg) => {
                let text = self.eval(msg);
                Err(self.failure(text))
            }
            OpKind::Include { index, once, missing } => self.include(*index, *once, *missing),
            OpKind::Set { var, value, modifiers } => {
                let v = self.eval(value);
                let v = apply_modifiers(v, modifiers);
                self.write_var(var, v);
                Ok(Flow::Continue)
            }
            OpKind::Flags { action, var, flags } => {
                let list = self.eval_list(flags);
                self.flag_op(*action, var.as_ref(), &list);
                Ok(Flow::Continue)
            }
            OpKind::Custom(call) => match call.command.execute(&call.args, self)? {
                CustomFlow::Continue => Ok(Flow::Continue),
                CustomFlow::Stop => Ok(Flow::Stop),
            },
            _ => {
                self.action(&op.kind)?;
                Ok(Flow::Continue)
            }
        }
    }

    /// `extracttext`: the current part's decoded text (empty for non-text parts).
    fn extract_text(&mut self, var: &VarRef, first: Option<u64>, modifiers: &[Modifier]) {
        let text = match self.current_part {
            Some(p) => {
                let tree = self.mime_tree();
                // Text parts only; HTML is converted to plain text as for body :text.
                match tree.parts.get(p).map(|x| &x.content_type) {
                    Some(ct) if ct.main == "text" => {
                        let text = tree.text(self.message().raw(), p).unwrap_or_default();
                        if ct.sub == "html" {
                            mail_parser::decoders::html::html_to_text(&text)
                        } else {
                            text
                        }
                    }
                    _ => String::new(),
                }
            }
            None => String::new(),
        };
        let text = match first {
            Some(n) => text.chars().take(usize::try_from(n).unwrap_or(usize::MAX)).collect(),
            None => text,
        };
        let v = apply_modifiers(text, modifiers);
        self.write_var(var, v);
    }

    fn foreverypart(&mut self, block: &[Op]) -> Result<Flow, RuntimeError> {
        // Nesting across included scripts is only known at run time (mime/errors.svtest).
        if self.loop_depth >= crate::extensions::mime::MAX_LOOP_NESTING {
            return Err(RuntimeError {
                line: self.line,
                class: ErrorClass::Failure,
                message: format!(
                    "new loop exceeds the nesting limit (<= {} levels)",
                    crate::extensions::mime::MAX_LOOP_NESTING
                ),
            });
        }
        self.loop_depth += 1;
        let flow = self.foreverypart_parts(block);
        self.loop_depth -= 1;
        flow
    }

    fn foreverypart_parts(&mut self, block: &[Op]) -> Result<Flow, RuntimeError> {
        let tree = self.mime_tree();
        // The outermost loop visits the message itself first; a nested loop visits the parts
        // below the current one (checked against Pigeonhole's foreverypart.svtest).
        let parts = match self.current_part {
            None => 0..tree.parts.len(),
            Some(p) => tree.descendants(p),
        };
        let saved = self.current_part;
        let mut outcome = Flow::Continue;
        for part in parts {
            self.charge(1)?;
            self.current_part = Some(part);
            match self.exec_block(block) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Break(0)) => break,
                Ok(Flow::Break(n)) => {
                    outcome = Flow::Break(n - 1);
                    break;
                }
                Ok(other) => {
                    outcome = other;
                    break;
                }
                Err(e) => {
                    self.current_part = saved;
                    return Err(e);
                }
            }
        }
        self.current_part = saved;
        Ok(outcome)
    }

    fn include(&mut self, index: usize, once: bool, missing: bool) -> Result<Flow, RuntimeError> {
        if missing || (once && self.once_done.contains(&index)) {
            return Ok(Flow::Continue);
        }
        let script = self.script;
        let Some(inc) = script.includes.get(index) else { return Ok(Flow::Continue) };
        if self.include_depth >= self.limits.max_include_depth {
            return Err(RuntimeError {
                line: self.line,
                class: ErrorClass::ResourceLimit,
                message: format!(
                    "include nesting depth exceeds limit ({})",
                    self.limits.max_include_depth
                ),
            });
        }
        self.once_done.insert(index);
        let saved_locals =
            std::mem::replace(&mut self.locals, vec![String::new(); inc.program.local_vars]);
        let saved_name = std::mem::replace(&mut self.program_name, inc.program.name.clone());
        let saved_line = self.line;
        self.include_depth += 1;
        let flow = self.run_program(&inc.program);
        self.include_depth -= 1;
        self.locals = saved_locals;
        self.program_name = saved_name;
        self.line = saved_line;
        match flow? {
            Flow::Stop => Ok(Flow::Stop),
            _ => Ok(Flow::Continue),
        }
    }

    fn run_program(&mut self, p: &Program) -> Result<Flow, RuntimeError> {
        self.exec_block(&p.ops)
    }

    fn flag_op(&mut self, action: FlagAction, var: Option<&VarRef>, list: &[String]) {
        let current = match var {
            Some(v) => split_flags(&self.read_var(v)),
            None => self.flags.clone(),
        };
        let given = normalize_flags(list);
        let new = match action {
            FlagAction::Set => given,
            FlagAction::Add => {
                let mut c = current;
                for f in given {
                    if !c.iter().any(|x| x.eq_ignore_ascii_case(&f)) {
                        c.push(f);
                    }
                }
                c
            }
            FlagAction::Remove => current
                .into_iter()
                .filter(|x| !given.iter().any(|g| g.eq_ignore_ascii_case(x)))
                .collect(),
        };
        match var {
            Some(v) => self.write_var(v, new.join(" ")),
            None => self.flags = new,
        }
    }

    /// Flags an action stores with: explicit `:flags`, else the internal variable.
    fn action_flags(&mut self, explicit: Option<&Vec<PStr>>) -> Vec<String> {
        match explicit {
            Some(l) => {
                let v = self.eval_list(l);
                normalize_flags(&v)
            }
            None => self.flags.clone(),
        }
    }
}

/// Splits space-separated flag lists and removes duplicates (case-insensitive).
pub(crate) fn normalize_flags(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in list {
        for f in split_flags(item) {
            if !out.iter().any(|x| x.eq_ignore_ascii_case(&f)) {
                out.push(f);
            }
        }
    }
    out
}

fn split_flags(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// Cuts `s` to at most `max` bytes at a character boundary.
pub(crate) fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// Applies `set` modifiers (already in precedence order).
fn apply_modifiers(mut v: String, mods: &[Modifier]) -> String {
    for m in mods {
        v = match m {
            Modifier::Lower => v.to_lowercase(),
            Modifier::Upper => v.to_uppercase(),
            Modifier::LowerFirst => first_char(&v, char::to_lowercase),
            Modifier::UpperFirst => first_char(&v, char::to_uppercase),
            Modifier::QuoteWildcard => quote(&v, "*?\\"),
            Modifier::QuoteRegex => quote(&v, "\\^$.[]|()?*+{}"),
            Modifier::EncodeUrl => encode_url(&v),
            Modifier::Length => v.chars().count().to_string(),
        };
    }
    v
}

fn first_char<I: Iterator<Item = char>>(v: &str, f: fn(char) -> I) -> String {
    let mut c = v.chars();
    match c.next() {
        Some(first) => f(first).chain(c).collect(),
        None => String::new(),
    }
}

fn quote(v: &str, special: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn encode_url(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers() {
        let m = [Modifier::Upper, Modifier::Length];
        assert_eq!(apply_modifiers("abc".into(), &m), "3");
        assert_eq!(apply_modifiers("hello World".into(), &[Modifier::UpperFirst]), "Hello World");
        assert_eq!(apply_modifiers("a*b?".into(), &[Modifier::QuoteWildcard]), "a\\*b\\?");
        assert_eq!(apply_modifiers("a b&".into(), &[Modifier::EncodeUrl]), "a%20b%26");
    }

    #[test]
    fn truncation_keeps_utf8() {
        let mut s = "aé".to_owned();
        truncate_utf8(&mut s, 2);
        assert_eq!(s, "a");
    }
}
