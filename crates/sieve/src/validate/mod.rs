//! Validation and code generation: walks the syntax tree, handles `require`, checks every
//! command and test against its declared signature (see [`signature`]) and lets each
//! definition build its typed program node. Errors are collected, never fail-fast, in
//! Pigeonhole's wording and order.

pub mod signature;
pub(crate) mod strings;

pub use strings::is_identifier;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::CompileOptions;
use crate::diag::{Diagnostics, Pos};
use crate::extensions::Registry;
use crate::program::{
    CustomArgs, CustomOpCall, CustomTestCall, CustomValue, IncludedProgram, Op, OpKind, PStr, Test,
};
use crate::syntax::ast::{Arg, Node};
use signature::{Build, CommandDef, SubTests, Validated};

/// Shared state of one whole compile (main script and its includes).
pub(crate) struct Unit {
    pub registry: Arc<Registry>,
    pub options: CompileOptions,
    pub diags: Diagnostics,
    pub globals: Vec<String>,
    pub includes: Vec<IncludedProgram>,
    /// Sources of the included scripts, loaded at validation (same index as `includes`).
    pub include_sources: Vec<Option<String>>,
    /// (location, name) of the scripts being compiled, outermost first (cycle detection).
    pub include_stack: Vec<(crate::program::IncludeLocation, String)>,
}

/// State of an `if`/`elsif`/`else` chain while compiling a block.
struct Chain {
    /// Index of the `if` op in the block, if it compiled.
    index: Option<usize>,
    /// Whether an `elsif`/`else` may follow.
    open: bool,
}

/// Per-program compiler state handed to every build function.
pub struct Builder<'a> {
    pub(crate) unit: &'a mut Unit,
    pub(crate) registry: Arc<Registry>,
    /// Script name for diagnostics.
    pub script: String,
    /// Capabilities required so far.
    pub required: BTreeSet<&'static str>,
    pub(crate) reported_tags: HashSet<(&'static str, String)>,
    reported_unknown: HashSet<String>,
    /// Local variable name (lower case) → slot.
    pub(crate) locals: HashMap<String, usize>,
    /// Globals declared with `global` in this program (lower case).
    pub(crate) declared_globals: HashSet<String>,
    /// Whether the variable-limit error was already reported.
    pub(crate) scope_full_reported: bool,
    /// Names of the enclosing `foreverypart` loops, innermost last.
    pub(crate) loops: Vec<Option<String>>,
    /// Where each capability was required (for dependency errors).
    required_at: HashMap<&'static str, Pos>,
    /// Includes to compile after validation.
    pub(crate) pending_includes: Vec<PendingInclude>,
    /// A top-level command other than require/global/import/export was seen.
    pub(crate) plain_command_seen: bool,
    /// The misplaced import/export error was reported (Pigeonhole reports it once).
    pub(crate) import_error_reported: bool,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(unit: &'a mut Unit, script: &str) -> Self {
        let registry = unit.registry.clone();
        Builder {
            unit,
            registry,
            script: script.to_owned(),
            required: BTreeSet::new(),
            reported_tags: HashSet::new(),
            reported_unknown: HashSet::new(),
            locals: HashMap::new(),
            declared_globals: HashSet::new(),
            scope_full_reported: false,
            loops: Vec::new(),
            required_at: HashMap::new(),
            pending_includes: Vec::new(),
            plain_command_seen: false,
            import_error_reported: false,
        }
    }

    /// Records an error.
    pub fn error(&mut self, pos: Pos, msg: impl Into<String>) {
        let script = self.script.clone();
        self.unit.diags.error(&script, pos, msg);
    }

    /// Records a warning.
    pub fn warning(&mut self, pos: Pos, msg: impl Into<String>) {
        let script = self.script.clone();
        self.unit.diags.warning(&script, pos, msg);
    }

    /// Whether `ext` was required by this script.
    pub fn has_ext(&self, ext: &str) -> bool {
        self.required.contains(ext)
    }

    /// Compile options of this compile.
    pub fn options(&self) -> &CompileOptions {
        &self.unit.options
    }

    /// Compiles a list of top-level or block commands.
    pub(crate) fn block(&mut self, nodes: &[Node], top: bool) -> Vec<Op> {
        let mut ops: Vec<Op> = Vec::new();
        let mut require_allowed = top;
        let mut chain = Chain { index: None, open: false };
        for node in nodes {
            let lname = node.name.to_ascii_lowercase();
            if lname == "require" {
                if require_allowed {
                    self.require(node);
                } else {
                    self.error(
                        node.pos,
                        "require commands can only be placed at top level at the beginning of the file",
                    );
                }
                continue;
            }
            require_allowed = false;
            self.chained_command(node, &lname, &mut chain, &mut ops);
            if top && !["global", "import", "export"].contains(&lname.as_str()) {
                self.plain_command_seen = true;
            }
        }
        ops
    }

    /// Compiles one command, merging `elsif`/`else` into the preceding `if`.
    fn chained_command(&mut self, node: &Node, lname: &str, chain: &mut Chain, ops: &mut Vec<Op>) {
        let continues = lname == "elsif" || lname == "else";
        if continues && !chain.open {
            self.error(
                node.pos,
                format!("the {lname} command must follow an if or elseif command"),
            );
            // Later elsif/else of this broken chain are not reported again.
            chain.index = None;
            chain.open = lname == "elsif";
            return;
        }
        let op = self.node_command(node, lname);
        let starts = lname == "if";
        chain.open = starts || lname == "elsif";
        match op {
            Some(op) if continues => {
                let target = chain.index.and_then(|i| ops.get_mut(i));
                if let (
                    Some(Op { kind: OpKind::If { branches: b, otherwise: o }, .. }),
                    OpKind::If { branches, otherwise },
                ) = (target, op.kind)
                {
                    b.extend(branches);
                    if otherwise.is_some() {
                        *o = otherwise;
                    }
                }
            }
            Some(op) => {
                chain.index = starts.then_some(ops.len());
                ops.push(op);
            }
            None if starts => chain.index = None,
            None => {}
        }
    }

    fn require(&mut self, node: &Node) {
        if !node.tests.is_empty() {
            self.error(
                node.pos,
                "the require command accepts no sub-tests, but tests are specified",
            );
            return;
        }
        if node.block.is_some() {
            let msg =
                "the require command does not accept a command block, but one is specified anyway";
            self.error(node.pos, msg);
            return;
        }
        let items: Vec<(String, Pos)> = match node.args.as_slice() {
            [Arg::Str(s)] => vec![(s.value.clone(), s.pos)],
            [Arg::List(l, _)] => l.iter().map(|s| (s.value.clone(), s.pos)).collect(),
            [other] => {
                let msg = format!(
                    "the require command accepts a single string or string list argument, \
                     but a {} was found",
                    other.kind_name()
                );
                self.error(other.pos(), msg);
                return;
            }
            args => {
                let msg = format!(
                    "the require command requires 1 positional argument(s), but {} is/are specified",
                    args.len()
                );
                self.error(node.pos, msg);
                return;
            }
        };
        for (name, pos) in items {
            self.require_one(&name, pos);
        }
    }

    fn require_one(&mut self, name: &str, pos: Pos) {
        if name == "comparator-i;octet" || name == "comparator-i;ascii-casemap" {
            return;
        }
        match self.registry.capability(name) {
            Some((cap, deps)) => {
                for (old, new) in crate::extensions::DEPRECATED_CONFLICTS {
                    let clash = (cap == *old && self.required_at.contains_key(new))
                        || (cap == *new && self.required_at.contains_key(old));
                    if clash {
                        // Pigeonhole reports it where the deprecated one was required.
                        let pos = if cap == *new { self.required_at[old] } else { pos };
                        let msg = format!(
                            "the (deprecated) {old} extension cannot be used together with the {new} extension"
                        );
                        self.error(pos, msg);
                        return;
                    }
                }
                self.required.insert(cap);
                self.required_at.entry(cap).or_insert(pos);
                for d in deps {
                    if let Some((dcap, _)) = self.registry.capability(d) {
                        self.required.insert(dcap);
                    }
                }
            }
            None if self.registry.is_core_command(name) => self.error(
                pos,
                format!("require command: `{name}' is not known as a Sieve capability, but it is known as a Sieve command that is always available"),
            ),
            None => self.error(pos, format!("require command: unknown Sieve capability `{name}'")),
        }
    }

    /// Checks that required extensions have the companions they need.
    fn check_requirements(&mut self) {
        let rules: [(&str, &str); 2] =
            [("foreverypart", "extracttext"), ("variables", "extracttext")];
        for (needed, ext) in rules {
            if let Some(&pos) = self.required_at.get(ext)
                && !self.required.contains(needed)
            {
                let msg = format!("{ext} extension cannot be used without {needed} extension");
                self.error(pos, msg);
            }
        }
    }

    /// Looks up `name` as a command (or test when `as_test`), reporting misuse.
    fn lookup(&mut self, node: &Node, lname: &str, as_test: bool) -> Option<CommandDef> {
        let (own, other) = if as_test {
            (self.registry.test(lname), self.registry.command(lname))
        } else {
            (self.registry.command(lname), self.registry.test(lname))
        };
        let vis = |d: &&CommandDef| d.ext.is_empty() || self.required.contains(d.ext);
        if let Some(d) = own.filter(vis) {
            return Some(d.clone());
        }
        let (word, other_word) = if as_test { ("test", "command") } else { ("command", "test") };
        if other.filter(vis).is_some() {
            self.error(
                node.pos,
                format!("attempted to use {other_word} '{}' as {word}", node.name),
            );
        } else if self.reported_unknown.insert(format!("{word}/{lname}")) {
            self.error(
                node.pos,
                format!("unknown {word} '{}' (only reported once at first occurrence)", node.name),
            );
        }
        None
    }

    fn node_command(&mut self, node: &Node, lname: &str) -> Option<Op> {
        let def = self.lookup(node, lname, false)?;
        let errors_before = self.unit.diags.errors.len();
        if node.block.is_none() && def.block {
            let msg =
                format!("the {} command requires a command block, but it is missing", def.name);
            self.error(node.pos, msg);
        }
        let mut v = self.match_args(&def, node.pos, &node.args);
        self.check_subtests(&def, node, v.as_mut());
        let skip_block = lname != "else"
            && v.as_ref()
                .is_some_and(|v| matches!(v.tests.as_slice(), [Test::False | Test::Ihave(false)]));
        match (&node.block, def.block) {
            (Some(_), false) if self.unit.diags.errors.len() == errors_before => self.error(
                node.pos,
                format!(
                    "the {} command does not accept a command block, but one is specified anyway",
                    def.name
                ),
            ),
            (Some(b), true) if !skip_block => {
                let is_loop = def.name == "foreverypart";
                if is_loop {
                    if self.loops.len() >= crate::extensions::MAX_LOOP_NESTING {
                        let max = crate::extensions::MAX_LOOP_NESTING;
                        let msg = format!(
                            "the nested foreverypart loop exceeds the nesting limit (<= {max} levels)"
                        );
                        self.error(node.pos, msg);
                    }
                    self.loops.push(crate::extensions::loop_name(&node.args));
                }
                let ops = self.block(b, false);
                if is_loop {
                    self.loops.pop();
                }
                if let Some(v) = v.as_mut() {
                    v.block = ops;
                }
            }
            _ => {}
        }
        if self.unit.diags.errors.len() > errors_before {
            return None;
        }
        let mut v = v?;
        let kind = match &def.build {
            Build::Command(f) => f(self, &mut v)?,
            Build::CustomCommand(c) => {
                OpKind::Custom(CustomOpCall { command: c.clone(), args: self.custom_args(v) })
            }
            _ => return None,
        };
        Some(Op { pos: node.pos, kind })
    }

    /// Validates and builds a test node.
    pub(crate) fn node_test(&mut self, node: &Node) -> Option<Test> {
        let lname = node.name.to_ascii_lowercase();
        let def = self.lookup(node, &lname, true)?;
        let errors_before = self.unit.diags.errors.len();
        let mut v = self.match_args(&def, node.pos, &node.args);
        self.check_subtests(&def, node, v.as_mut());
        if self.unit.diags.errors.len() > errors_before {
            return None;
        }
        let mut v = v?;
        match &def.build {
            Build::Test(f) => f(self, &mut v),
            Build::CustomTest(t) => {
                Some(Test::Custom(CustomTestCall { test: t.clone(), args: self.custom_args(v) }))
            }
            _ => None,
        }
    }

    fn check_subtests(&mut self, def: &CommandDef, node: &Node, v: Option<&mut Validated>) {
        let what = def.what();
        match def.subtests {
            SubTests::None if !node.tests.is_empty() => self.no_subtests_error(def, node),
            SubTests::One if node.tests.is_empty() => {
                self.error(node.pos, format!("{what} requires one sub-test, but none is specified"))
            }
            SubTests::One if node.test_list => self.error(
                node.pos,
                format!("{what} requires one sub-test, but a list of tests is specified"),
            ),
            SubTests::List if node.tests.is_empty() => self.error(
                node.pos,
                format!("{what} requires a list of sub-tests, but none is specified"),
            ),
            SubTests::List if !node.test_list => self.error(
                node.pos,
                format!("{what} requires a list of sub-tests, but a single test is specified"),
            ),
            SubTests::None => {}
            _ => {
                let tests: Vec<Option<Test>> =
                    node.tests.iter().map(|t| self.node_test(t)).collect();
                if let (Some(v), Some(tests)) = (v, tests.into_iter().collect::<Option<Vec<_>>>()) {
                    v.tests = tests;
                }
            }
        }
    }

    fn no_subtests_error(&mut self, def: &CommandDef, node: &Node) {
        let sub = &node.tests[0];
        let sname = sub.name.to_ascii_lowercase();
        let is_tag = def.tags.iter().any(|t| t.name == sname)
            || (def.match_args && self.registry.match_type(&sname, &self.required).is_some())
            || (def.address_part && self.registry.address_part(&sname, &self.required).is_some());
        // A bare identifier on the same line as the arguments reads like a tag without colon.
        let last_line = node.args.last().map_or(node.pos.line, |a| a.pos().line);
        let bare = sub.args.is_empty() && sub.tests.is_empty() && sub.pos.line == last_line;
        let known_test = self.registry.test(&sname).is_some();
        if (is_tag || (bare && !known_test)) && !node.test_list {
            self.error(
                sub.pos,
                format!(
                    "missing colon ':' before ':{sname}' tag in {} {}",
                    def.name,
                    def.kind_word()
                ),
            );
        } else if !node.test_list && !known_test {
            let msg = format!("missing semicolon ';' after {} {}", def.name, def.kind_word());
            self.error(node.pos, msg);
        } else {
            self.error(
                node.pos,
                format!("{} accepts no sub-tests, but tests are specified", def.what()),
            );
        }
    }

    fn custom_args(&mut self, v: Validated) -> CustomArgs {
        let mut out = CustomArgs { spec: Some(v.spec), block: v.block, ..CustomArgs::default() };
        for t in v.tags {
            let val = t.param.as_ref().map(|a| self.custom_value(a));
            out.tags.push((t.name.to_owned(), val));
        }
        out.positional = v.positional.iter().map(|a| self.custom_value(a)).collect();
        out
    }

    fn custom_value(&mut self, a: &Arg) -> CustomValue {
        match a {
            Arg::Number(n, _) => CustomValue::Number(*n),
            Arg::List(..) => CustomValue::List(self.string_list(a)),
            Arg::Str(s) => CustomValue::Str(self.string(s)),
            Arg::Tag(t, _) => CustomValue::Str(PStr::Lit(t.clone())),
        }
    }
}

/// Stage at which compiling a script failed (decides Pigeonhole's summary line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Lexer/parser errors.
    Parse,
    /// Validation errors.
    Validate,
    /// Code generation (include processing) errors.
    Codegen,
}

impl Stage {
    /// Pigeonhole's summary error for a failed main script.
    pub(crate) fn summary(self) -> &'static str {
        match self {
            Stage::Parse => "parse failed",
            Stage::Validate => "validation failed",
            Stage::Codegen => "code generation failed",
        }
    }
}

/// An `include` whose script is compiled once the including script validated
/// (Pigeonhole processes includes during code generation).
pub(crate) struct PendingInclude {
    pub index: usize,
    pub location: crate::program::IncludeLocation,
    pub name: String,
    pub pos: Pos,
    pub once: bool,
}

/// Parses, validates and then compiles the includes of one script. Errors are recorded in
/// `unit.diags` (without summary line); the failing stage is returned.
pub(crate) fn compile_program(
    unit: &mut Unit,
    source: &str,
    name: &str,
) -> Result<crate::program::Program, Stage> {
    let mut parse_diags = Diagnostics::default();
    let nodes = crate::syntax::parse_script(source, name, &mut parse_diags);
    let parse_failed = parse_diags.has_errors();
    // The lexer runs ahead of the parser here; report in source order as Pigeonhole does.
    parse_diags.errors.sort_by_key(|d| d.line);
    unit.diags.extend(parse_diags);
    if parse_failed {
        return Err(Stage::Parse);
    }
    let before = unit.diags.errors.len();
    let mut b = Builder::new(unit, name);
    let ops = b.block(&nodes, true);
    b.check_requirements();
    let local_vars = b.locals.len();
    let pending = std::mem::take(&mut b.pending_includes);
    if unit.diags.errors.len() > before {
        return Err(Stage::Validate);
    }
    crate::extensions::compile_includes(unit, name, pending)?;
    Ok(crate::program::Program { ops, local_vars, name: name.to_owned() })
}
