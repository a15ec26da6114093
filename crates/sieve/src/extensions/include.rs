//! RFC 6609 `include [LOCATION] [":once"] [":optional"] <value: string>`, `return`, and
//! `global <value: string-list>`. Included scripts are resolved and compiled at compile time
//! through [`crate::IncludeResolver`], so their errors are compile errors as in Pigeonhole.

use crate::diag::Pos;
use crate::program::{IncludeLocation, IncludedProgram, OpKind, Program};
use crate::syntax::ast::Arg;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};
use crate::validate::{Builder, PendingInclude, Stage, Unit};

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
        // Deprecated predecessors of `global` (draft include-03).
        for name in ["import", "export"] {
            r.command(CommandDef::command(
                name,
                vec![pos_arg("value", ArgKind::StrList)],
                build_import,
            ));
        }
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
        // Pigeonhole shows C0 control characters as '?'.
        let shown: String = name.chars().map(|c| if c < ' ' { '?' } else { c }).collect();
        b.error(s.pos, format!("include: invalid script name '{shown}'"));
        return None;
    }
    let (index, missing) =
        b.include_script(location, &name, v.has("optional"), v.has("once"), v.pos)?;
    Some(OpKind::Include { index, once: v.has("once"), missing })
}

fn build_import(b: &mut Builder<'_>, v: &mut Validated) -> Option<OpKind> {
    if b.plain_command_seen && !b.import_error_reported {
        b.import_error_reported = true;
        let msg = format!(
            "the DEPRECATED {} command can only be placed at top level at the beginning of the file \
             after any require or import/export commands",
            v.name
        );
        b.error(v.pos, msg);
        return None;
    }
    build_global(b, v)
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
        if b.locals.contains_key(&lname) {
            let msg = format!(
                "declaration of new global variable '{name}' conflicts with earlier local use"
            );
            b.error(pos, msg);
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
    /// Validation of an `include`: the script must exist (unless `:optional`); it is loaded
    /// now and compiled after this script validated. Returns its index and whether missing.
    fn include_script(
        &mut self,
        location: IncludeLocation,
        name: &str,
        optional: bool,
        once: bool,
        pos: Pos,
    ) -> Option<(usize, bool)> {
        let word = location_word(location);
        let existing =
            self.unit.includes.iter().position(|p| p.location == location && p.name == name);
        let index = match existing {
            Some(i) => i,
            None => {
                let max = self.unit.options.limits.max_includes;
                if self.unit.includes.len() >= max {
                    self.error(
                        pos,
                        format!(
                            "failed to include script '{name}': no more than {max} includes allowed"
                        ),
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
                let program = Program { name: name.to_owned(), ..Program::default() };
                self.unit.includes.push(IncludedProgram {
                    location,
                    name: name.to_owned(),
                    program,
                });
                self.unit.include_sources.push(Some(source));
                self.unit.includes.len() - 1
            }
        };
        self.pending_includes.push(PendingInclude {
            index,
            location,
            name: name.to_owned(),
            pos,
            once,
        });
        Some((index, false))
    }
}

/// Code generation of the includes of script `current`: compiles each included script once,
/// detecting cycles, with Pigeonhole's error chain ("circular include", "failed to validate
/// included script", "failed to generate code for included script").
pub(crate) fn compile_includes(
    unit: &mut Unit,
    current: &str,
    pending: Vec<PendingInclude>,
) -> Result<(), Stage> {
    let mut failed = false;
    for inc in pending {
        if unit.include_stack.iter().any(|(l, n)| *l == inc.location && *n == inc.name) {
            // With :once the recursion ends at run time, so it is allowed.
            if inc.once {
                continue;
            }
            unit.diags.error(current, inc.pos, "circular include");
            failed = true;
            continue;
        }
        let max_depth = unit.options.limits.max_include_depth;
        if max_depth > 0 && unit.include_stack.len() >= max_depth {
            unit.diags.error(
                current,
                inc.pos,
                format!("cannot nest includes deeper than {max_depth} levels"),
            );
            failed = true;
            continue;
        }
        let Some(source) = unit.include_sources.get_mut(inc.index).and_then(Option::take) else {
            continue; // already compiled (or being compiled higher up the stack)
        };
        unit.include_stack.push((inc.location, inc.name.clone()));
        let compiled = crate::validate::compile_program(unit, &source, &inc.name);
        unit.include_stack.pop();
        match compiled {
            Ok(program) => unit.includes[inc.index].program = program,
            Err(stage) => {
                let what = match stage {
                    Stage::Parse => "parse",
                    Stage::Validate => "validate",
                    Stage::Codegen => "generate code for",
                };
                unit.diags.error(
                    current,
                    inc.pos,
                    format!("failed to {what} included script '{}'", inc.name),
                );
                failed = true;
            }
        }
    }
    if failed { Err(Stage::Codegen) } else { Ok(()) }
}
