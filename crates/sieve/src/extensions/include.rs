//! RFC 6609 `include [LOCATION] [":once"] [":optional"] <value: string>`, `return`, and
//! `global <value: string-list>`. Included scripts are resolved and compiled at compile time
//! through [`crate::IncludeResolver`], so their errors are compile errors as in Pigeonhole.

use crate::diag::Pos;
use crate::program::{IncludeLocation, IncludedProgram, OpKind, Program};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `include` extension.
pub struct Include;

impl Extension for Include {
    fn name(&self) -> &'static str {
        "include"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let def = CommandDef::command("include", vec![pos_arg("value", ArgKind::Str)], build)
            .with_tags(&[
                tag("personal", None),
                tag("global", None),
                tag("once", None),
                tag("optional", None),
            ]);
        r.command(def);
        r.command(CommandDef::command("return", vec![], |_, _| Some(OpKind::Return)));
        r.command(CommandDef::command(
            "global",
            vec![pos_arg("value", ArgKind::StrList)],
            build_global,
        ));
    }
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    let Some(Arg::Str(s)) = v.positional.first() else { return None };
    let Some(name) = b.string(s).as_literal().map(str::to_owned) else {
        b.error(s.pos, "the include command requires a constant string for its value argument");
        return None;
    };
    if v.has("personal") && v.has("global") {
        b.error(v.pos, "the include command cannot have both :personal and :global");
        return None;
    }
    let location =
        if v.has("global") { IncludeLocation::Global } else { IncludeLocation::Personal };
    let bad = |c: char| c == '/' || c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if name.is_empty() || name.contains(bad) {
        let shown: String = name.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
        b.error(s.pos, format!("include: invalid script name '{shown}'"));
        return None;
    }
    let (index, missing) = b.include_script(location, &name, v.has("optional"), v.pos)?;
    Some(OpKind::Include { index, once: v.has("once"), missing })
}

fn build_global(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    if !b.has_ext("variables") {
        b.error(v.pos, "global command requires that variables extension is active");
        return None;
    }
    let names: Vec<(String, Pos)> = match &v.positional[0] {
        Arg::Str(s) => vec![(s.value.clone(), s.pos)],
        Arg::List(l, _) => l.iter().map(|s| (s.value.clone(), s.pos)).collect(),
        _ => Vec::new(),
    };
    for (name, pos) in names {
        let lname = name.to_ascii_lowercase();
        if !crate::validate::is_identifier(&lname) {
            b.error(pos, format!("invalid variable name '{name}'"));
            continue;
        }
        b.declared_globals.insert(lname.clone());
        b.global(&lname);
    }
    None
}

fn location_word(l: IncludeLocation) -> &'static str {
    match l {
        IncludeLocation::Personal => "personal",
        IncludeLocation::Global => "global",
    }
}

impl Builder<'_> {
    /// Resolves and compiles an included script; returns its index and whether it is missing
    /// (allowed with `:optional`).
    fn include_script(
        &mut self,
        location: IncludeLocation,
        name: &str,
        optional: bool,
        pos: Pos,
    ) -> Option<(usize, bool)> {
        let word = location_word(location);
        if self.unit.include_stack.iter().any(|(l, n)| *l == location && n == name) {
            self.error(pos, format!("circular include of {word} script '{name}'"));
            return None;
        }
        if let Some(i) =
            self.unit.includes.iter().position(|p| p.location == location && p.name == name)
        {
            return Some((i, false));
        }
        let limits = &self.unit.options.limits;
        if self.unit.include_stack.len() >= limits.max_include_depth {
            let max = limits.max_include_depth;
            self.error(pos, format!("cannot nest includes deeper than {max} levels"));
            return None;
        }
        if self.unit.includes.len() >= limits.max_includes {
            let max = limits.max_includes;
            self.error(
                pos,
                format!("failed to include script '{name}': no more than {max} includes allowed"),
            );
            return None;
        }
        let loaded = match &self.unit.options.includes {
            Some(r) => r.load(location, name),
            None => Err("no script location configured".to_owned()),
        };
        let source = match loaded {
            Ok(Some(src)) => src,
            Ok(None) if optional => return Some((0, true)),
            Ok(None) => {
                self.error(pos, format!("included {word} script '{name}' does not exist"));
                return None;
            }
            Err(e) => {
                self.error(pos, format!("failed to include {word} script '{name}': {e}"));
                return None;
            }
        };
        let index = self.unit.includes.len();
        self.unit.includes.push(IncludedProgram {
            location,
            name: name.to_owned(),
            program: Program::default(),
        });
        self.unit.include_stack.push((location, name.to_owned()));
        let compiled = crate::validate::compile_program(self.unit, &source, name);
        self.unit.include_stack.pop();
        match compiled {
            Some(program) => {
                self.unit.includes[index].program = program;
                Some((index, false))
            }
            None => {
                self.error(pos, format!("failed to compile included {word} script '{name}'"));
                None
            }
        }
    }
}
