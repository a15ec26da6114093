//! Declarative command/test signatures and the generic argument matcher that checks a parsed
//! node against one, with Pigeonhole's error wording.

use std::sync::Arc;

use crate::diag::Pos;
use crate::interpret::custom::{CustomCommand, CustomTest};
use crate::program::{AddressPart, Comparator, MatchSpec, MatchType, Op, OpKind, Relation, Test};
use crate::syntax::ast::Arg;

use super::Builder;

/// Kind of a positional argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A single string.
    Str,
    /// A string list (a single string is accepted too).
    StrList,
    /// A number.
    Number,
}

impl ArgKind {
    fn name(self) -> &'static str {
        match self {
            ArgKind::Str => "string",
            ArgKind::StrList => "string list",
            ArgKind::Number => "number",
        }
    }

    fn accepts(self, arg: &Arg) -> bool {
        matches!(
            (self, arg),
            (ArgKind::Str, Arg::Str(_))
                | (ArgKind::StrList, Arg::Str(_) | Arg::List(..))
                | (ArgKind::Number, Arg::Number(..))
        )
    }
}

/// A positional argument: its label (shown in errors) and kind.
#[derive(Debug, Clone, Copy)]
pub struct Positional {
    /// Label, e.g. `header names`.
    pub label: &'static str,
    /// Kind.
    pub kind: ArgKind,
}

/// Shorthand constructor for [`Positional`].
pub const fn pos_arg(label: &'static str, kind: ArgKind) -> Positional {
    Positional { label, kind }
}

/// A tagged argument: its name (without colon) and parameter kind.
#[derive(Debug, Clone, Copy)]
pub struct TagDef {
    /// Name without the colon.
    pub name: &'static str,
    /// Parameter, if any.
    pub param: Option<ArgKind>,
    /// Capability that provides the tag (`""` = always there); filled in by the registrar
    /// for tags attached to other extensions' commands.
    pub ext: &'static str,
}

/// Shorthand constructor for a [`TagDef`] of the command's own extension.
pub const fn tag(name: &'static str, param: Option<ArgKind>) -> TagDef {
    TagDef { name, param, ext: "" }
}

/// Sub-test requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubTests {
    /// No sub-tests.
    None,
    /// Exactly one test, not a list (`if`, `not`).
    One,
    /// A parenthesised list (`anyof`, `allof`).
    List,
}

/// A command-specific positional check; reports its own errors.
pub type PositionalCheck = fn(&mut Builder<'_>, &CommandDef, Pos, &[Arg]) -> Option<()>;

/// Which positional argument may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionalArg {
    /// All are required.
    None,
    /// The first may be omitted (`setflag [variable] list`).
    Leading,
    /// The last may be omitted (`deleteheader name [value-patterns]`).
    Trailing,
}

/// Builds a command from its validated arguments (`None` after reporting an error).
pub type CommandBuildFn = fn(&mut Builder<'_>, &mut Validated) -> Option<OpKind>;
/// Builds a test from its validated arguments (`None` after reporting an error).
pub type TestBuildFn = fn(&mut Builder<'_>, &mut Validated) -> Option<Test>;

/// How a validated node becomes program code.
#[derive(Clone)]
pub enum Build {
    /// A command of this crate.
    Command(CommandBuildFn),
    /// A test of this crate.
    Test(TestBuildFn),
    /// A command implemented outside this crate.
    CustomCommand(Arc<dyn CustomCommand>),
    /// A test implemented outside this crate.
    CustomTest(Arc<dyn CustomTest>),
}

/// The signature of one command or test.
#[derive(Clone)]
pub struct CommandDef {
    /// Identifier (lower case).
    pub name: &'static str,
    /// True for tests.
    pub test: bool,
    /// Capability providing it (`""` = core); set by the registrar.
    pub ext: &'static str,
    /// Positional arguments.
    pub positional: Vec<Positional>,
    /// Own tagged arguments.
    pub tags: Vec<TagDef>,
    /// Accepts `:comparator` and match-type tags.
    pub match_args: bool,
    /// Accepts address-part tags.
    pub address_part: bool,
    /// Sub-test requirement.
    pub subtests: SubTests,
    /// Requires a block (true) or forbids one (false).
    pub block: bool,
    /// Positional argument that may be omitted.
    pub optional: OptionalArg,
    /// Replaces the generic positional count/kind check (for irregular signatures).
    pub positional_check: Option<PositionalCheck>,
    /// Code generation.
    pub build: Build,
}

impl CommandDef {
    /// A command with no tags, no sub-tests and no block.
    pub fn command(
        name: &'static str,
        positional: Vec<Positional>,
        build: fn(&mut Builder<'_>, &mut Validated) -> Option<OpKind>,
    ) -> Self {
        CommandDef {
            name,
            test: false,
            ext: "",
            positional,
            tags: Vec::new(),
            match_args: false,
            address_part: false,
            subtests: SubTests::None,
            block: false,
            optional: OptionalArg::None,
            positional_check: None,
            build: Build::Command(build),
        }
    }

    /// A test with no tags and no sub-tests.
    pub fn test(
        name: &'static str,
        positional: Vec<Positional>,
        build: fn(&mut Builder<'_>, &mut Validated) -> Option<Test>,
    ) -> Self {
        CommandDef {
            test: true,
            build: Build::Test(build),
            ..CommandDef::command(name, positional, |_, _| None)
        }
    }

    /// Adds own tags.
    pub fn with_tags(mut self, tags: &[TagDef]) -> Self {
        self.tags.extend_from_slice(tags);
        self
    }

    /// Accepts match type and comparator tags.
    pub fn with_match(mut self) -> Self {
        self.match_args = true;
        self
    }

    /// Accepts address-part tags.
    pub fn with_address_part(mut self) -> Self {
        self.address_part = true;
        self
    }

    /// "the X command" / "the X test".
    pub fn what(&self) -> String {
        format!("the {} {}", self.name, if self.test { "test" } else { "command" })
    }

    /// "command" / "test".
    pub fn kind_word(&self) -> &'static str {
        if self.test { "test" } else { "command" }
    }
}

/// A tag found on a node, with its parameter.
#[derive(Debug, Clone)]
pub struct TagValue {
    /// Tag name (lower case, without colon).
    pub name: &'static str,
    /// Position of the tag.
    pub pos: Pos,
    /// Its parameter.
    pub param: Option<Arg>,
}

/// A node whose arguments matched its signature.
#[derive(Debug, Clone)]
pub struct Validated {
    /// Command/test name.
    pub name: &'static str,
    /// Position of the identifier.
    pub pos: Pos,
    /// Tags given (own and attached ones; not match-type/comparator/address-part).
    pub tags: Vec<TagValue>,
    /// Positional arguments.
    pub positional: Vec<Arg>,
    /// Match type and comparator.
    pub spec: MatchSpec,
    /// Whether `:comparator` was given (some tests have another default).
    pub comparator_given: bool,
    /// Address part.
    pub part: AddressPart,
    /// Compiled sub-tests.
    pub tests: Vec<Test>,
    /// Compiled block.
    pub block: Vec<Op>,
}

impl Validated {
    /// The tag with this name, if given.
    pub fn tag(&self, name: &str) -> Option<&TagValue> {
        self.tags.iter().find(|t| t.name == name)
    }

    /// Whether the tag was given.
    pub fn has(&self, name: &str) -> bool {
        self.tag(name).is_some()
    }
}

/// Parses a relational operator name (RFC 5231).
pub fn relation(s: &str) -> Option<Relation> {
    Some(match s.to_ascii_lowercase().as_str() {
        "gt" => Relation::Gt,
        "ge" => Relation::Ge,
        "lt" => Relation::Lt,
        "le" => Relation::Le,
        "eq" => Relation::Eq,
        "ne" => Relation::Ne,
        _ => return None,
    })
}

/// What a match-type tag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// A match type without parameter.
    Plain(MatchType),
    /// `:count`
    Count,
    /// `:value`
    Value,
}

impl Builder<'_> {
    /// Checks `args` against `def`; `None` after reporting errors.
    pub(crate) fn match_args(
        &mut self,
        def: &CommandDef,
        node_pos: Pos,
        args: &[Arg],
    ) -> Option<Validated> {
        let mut v = Validated {
            name: def.name,
            pos: node_pos,
            tags: Vec::new(),
            positional: Vec::new(),
            spec: MatchSpec::default(),
            comparator_given: false,
            part: AddressPart::All,
            tests: Vec::new(),
            block: Vec::new(),
        };
        if !self.all_tags_known(def, args) {
            return None;
        }
        let mut seen = (false, false, false);
        let mut i = 0;
        while let Some(Arg::Tag(name, tpos)) = args.get(i) {
            let lname = name.to_ascii_lowercase();
            i += 1;
            let param = args.get(i);
            let used = self.one_tag(def, &lname, *tpos, param, &mut v, &mut seen)?;
            if used {
                i += 1;
            }
        }
        self.positional(def, &args[i..], &mut v)?;
        self.check_spec(def, &v)?;
        Some(v)
    }

    /// Pigeonhole first checks every tag of the node, wherever it is, against the command.
    fn all_tags_known(&mut self, def: &CommandDef, args: &[Arg]) -> bool {
        let mut ok = true;
        for a in args {
            let Arg::Tag(name, tpos) = a else { continue };
            let lname = name.to_ascii_lowercase();
            let known = (def.match_args
                && (lname == "comparator"
                    || self.registry.match_type(&lname, &self.required).is_some()))
                || (def.address_part
                    && self.registry.address_part(&lname, &self.required).is_some())
                || self.registry.tag_for(def, &lname, &self.required).is_some();
            if known {
                continue;
            }
            ok = false;
            if self.reported_tags.insert((def.name, lname.clone())) {
                let msg = format!(
                    "unknown tagged argument ':{lname}' for {} (reported only once at first occurrence)",
                    def.what()
                );
                self.error(*tpos, msg);
            }
        }
        ok
    }

    /// Handles one tag; returns whether its parameter was consumed.
    fn one_tag(
        &mut self,
        def: &CommandDef,
        lname: &str,
        tpos: Pos,
        param: Option<&Arg>,
        v: &mut Validated,
        seen: &mut (bool, bool, bool),
    ) -> Option<bool> {
        let what = def.what();
        if def.match_args {
            if let Some(kind) = self.registry.match_type(lname, &self.required) {
                if seen.0 {
                    self.error(
                        tpos,
                        format!("encountered duplicate MATCH-TYPE argument (:{lname}) for {what}"),
                    );
                    return None;
                }
                seen.0 = true;
                return self.match_type_tag(lname, kind, tpos, param, v);
            }
            if lname == "comparator" {
                if seen.1 {
                    self.error(
                        tpos,
                        format!("encountered duplicate COMPARATOR argument (:{lname}) for {what}"),
                    );
                    return None;
                }
                seen.1 = true;
                v.spec.comparator = self.comparator_tag(def, tpos, param)?;
                v.comparator_given = true;
                return Some(true);
            }
        }
        if def.address_part
            && let Some(part) = self.registry.address_part(lname, &self.required)
        {
            if seen.2 {
                self.error(
                    tpos,
                    format!("encountered duplicate ADDRESS-PART argument (:{lname}) for {what}"),
                );
                return None;
            }
            seen.2 = true;
            v.part = part;
            return Some(false);
        }
        let Some(tdef) = self.registry.tag_for(def, lname, &self.required) else {
            // Unknown tags were reported by `all_tags_known` already.
            return None;
        };
        self.own_tag(&what, tdef, tpos, param, v)
    }

    /// A tag of the command itself (or attached by another extension) and its parameter.
    fn own_tag(
        &mut self,
        what: &str,
        tdef: TagDef,
        tpos: Pos,
        param: Option<&Arg>,
        v: &mut Validated,
    ) -> Option<bool> {
        let Some(kind) = tdef.param else {
            v.tags.push(TagValue { name: tdef.name, pos: tpos, param: None });
            return Some(false);
        };
        match param {
            Some(a) if kind.accepts(a) => {
                v.tags.push(TagValue { name: tdef.name, pos: tpos, param: Some(a.clone()) });
                Some(true)
            }
            other => {
                let found = other.map_or("no parameters were".to_owned(), |a| {
                    format!("a {} was", a.kind_name())
                });
                self.error(
                    tpos,
                    format!(
                        "the :{} tag for {what} requires a {} as parameter, but {found} found",
                        tdef.name,
                        kind.name()
                    ),
                );
                None
            }
        }
    }

    fn match_type_tag(
        &mut self,
        lname: &str,
        kind: MatchKind,
        tpos: Pos,
        param: Option<&Arg>,
        v: &mut Validated,
    ) -> Option<bool> {
        let rel_of = |b: &mut Self, param: Option<&Arg>| -> Option<Relation> {
            let Some(Arg::Str(s)) = param else {
                let msg = format!(
                    "the :{lname} match-type requires a constant string argument being one of \
                     \"gt\", \"ge\", \"lt\", \"le\", \"eq\" or \"ne\", but none was found"
                );
                b.error(tpos, msg);
                return None;
            };
            let r = relation(&s.value);
            if r.is_none() {
                b.error(
                    s.pos,
                    format!(
                        "the :{lname} match-type requires a constant string argument being one of \
                         \"gt\", \"ge\", \"lt\", \"le\", \"eq\" or \"ne\", but \"{}\" was found",
                        s.value
                    ),
                );
            }
            r
        };
        match kind {
            MatchKind::Plain(mt) => {
                v.spec.match_type = mt;
                Some(false)
            }
            MatchKind::Count => {
                v.spec.match_type = MatchType::Count(rel_of(self, param)?);
                Some(true)
            }
            MatchKind::Value => {
                v.spec.match_type = MatchType::Value(rel_of(self, param)?);
                Some(true)
            }
        }
    }

    fn comparator_tag(
        &mut self,
        def: &CommandDef,
        tpos: Pos,
        param: Option<&Arg>,
    ) -> Option<Comparator> {
        let Some(Arg::Str(s)) = param else {
            let found = param
                .map_or("no parameters were".to_owned(), |a| format!("a {} was", a.kind_name()));
            self.error(
                tpos,
                format!(
                    "the :comparator tag for {} requires a string as parameter, but {found} found",
                    def.what()
                ),
            );
            return None;
        };
        if self.has_ext("variables") && s.value.contains("${") {
            self.error(
                s.pos,
                "this Sieve implementation currently only supports a literal string argument for the :comparator tag",
            );
            return None;
        }
        match self.registry.comparator(&s.value, &self.required) {
            Some(c) => Some(c),
            None => {
                self.error(s.pos, format!("unknown comparator '{}'", s.value));
                None
            }
        }
    }

    fn positional(&mut self, def: &CommandDef, args: &[Arg], v: &mut Validated) -> Option<()> {
        let what = def.what();
        if let Some(Arg::Tag(t, p)) = args.iter().find(|a| matches!(a, Arg::Tag(..))) {
            self.error(
                *p,
                format!(
                    "encountered an unexpected tagged argument ':{t}' while validating positional arguments for {what}"
                ),
            );
            return None;
        }
        if let Some(check) = def.positional_check {
            check(self, def, v.pos, args)?;
            v.positional = args.to_vec();
            return Some(());
        }
        let min = def.positional.len() - usize::from(def.optional != OptionalArg::None);
        let shift =
            usize::from(def.optional == OptionalArg::Leading && args.len() < def.positional.len());
        if args.is_empty() && min < def.positional.len() && !def.positional.is_empty() {
            let msg =
                format!("{what} expects at least one positional argument, but none was found");
            self.error(v.pos, msg);
            return None;
        }
        if args.len() < min || args.len() > def.positional.len() {
            let at = args.first().map_or(v.pos, Arg::pos);
            self.error(
                at,
                format!(
                    "{what} requires {} positional argument(s), but {} is/are specified",
                    def.positional.len(),
                    args.len()
                ),
            );
            return None;
        }
        let mut ok = true;
        for (n, (arg, p)) in args.iter().zip(def.positional.iter().skip(shift)).enumerate() {
            if !p.kind.accepts(arg) {
                self.error(
                    arg.pos(),
                    format!(
                        "{what} expects a {} as argument {} ({}), but a {} was found",
                        p.kind.name(),
                        n + 1,
                        p.label,
                        arg.kind_name()
                    ),
                );
                ok = false;
            }
        }
        v.positional = args.to_vec();
        ok.then_some(())
    }

    fn check_spec(&mut self, def: &CommandDef, v: &Validated) -> Option<()> {
        if !def.match_args || v.spec.comparator != Comparator::AsciiNumeric {
            return Some(());
        }
        let mt = match v.spec.match_type {
            MatchType::Contains => "contains",
            MatchType::Matches => "matches",
            MatchType::Regex => {
                let msg = "regex match type only supports i;octet and i;ascii-casemap comparators";
                self.error(v.pos, msg);
                return None;
            }
            _ => return Some(()),
        };
        self.error(
            v.pos,
            format!(
                "the specified i;ascii-numeric comparator does not support sub-string matching as required by the :{mt} match type"
            ),
        );
        None
    }
}
