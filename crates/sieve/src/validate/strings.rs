//! String compilation: `encoded-character` substitutions (RFC 5228 §2.4.2.4) decoded at compile
//! time, then `${...}` variable references (RFC 5229 §3) resolved to slots.

use crate::diag::Pos;
use crate::program::{Keys, MatchSpec, MatchType, PStr, Part, VarRef};
use crate::syntax::ast::{Arg, StrLit};

use super::Builder;

/// Most local variables one script may use (Pigeonhole's scope size).
pub const MAX_VARIABLES: usize = 255;
/// Longest variable name element.
pub const MAX_VARIABLE_NAME_LEN: usize = 64;
/// Highest match variable index (`${32}`).
pub const MAX_MATCH_INDEX: usize = 32;

impl Builder<'_> {
    /// Compiles one string argument.
    pub fn string(&mut self, lit: &StrLit) -> PStr {
        let text = if self.has_ext("encoded-character") {
            self.decode_encoded(&lit.value, lit.pos)
        } else {
            lit.value.clone()
        };
        if self.has_ext("variables") { self.template(&text, lit.pos) } else { PStr::Lit(text) }
    }

    /// Compiles a string or string-list argument (anything else gives an empty list).
    pub fn string_list(&mut self, arg: &Arg) -> Vec<PStr> {
        match arg {
            Arg::Str(s) => vec![self.string(s)],
            Arg::List(l, _) => l.iter().map(|s| self.string(s)).collect(),
            _ => Vec::new(),
        }
    }

    /// Compiles a key list; constant `:regex` keys are compiled to regexes here.
    pub fn keys(&mut self, arg: &Arg, spec: &MatchSpec) -> Keys {
        let list = self.string_list(arg);
        let mut regexes = None;
        if spec.match_type == MatchType::Regex {
            let literal: Option<Vec<&str>> = list.iter().map(PStr::as_literal).collect();
            if let Some(lits) = literal {
                let mut out = Vec::new();
                for k in lits {
                    match crate::matching::compile_regex(k, spec.comparator) {
                        Ok(r) => out.push(r),
                        Err(e) => {
                            self.error(
                                arg.pos(),
                                format!("invalid regular expression '{k}' for regex match: {e}"),
                            );
                        }
                    }
                }
                regexes = Some(out);
            }
        }
        Keys { list, regexes }
    }

    /// Resolves an assignable variable name (as in `set`); reports errors itself.
    pub fn variable(&mut self, name: &str, pos: Pos) -> Option<VarRef> {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            self.error(pos, "cannot assign to match variable");
            return None;
        }
        match self.resolve_name(name, pos)? {
            Part::Var(v @ (VarRef::Local(_) | VarRef::Global(_))) => Some(v),
            _ => {
                self.error(pos, format!("cannot assign to variable '{name}'"));
                None
            }
        }
    }

    /// Resolves `name` (without `${}`) to a match value or variable; `None` after an error
    /// or when the name is not well-formed (`report_invalid` decides whether that is an error).
    fn resolve_name(&mut self, name: &str, pos: Pos) -> Option<Part> {
        let elems: Vec<&str> = name.split('.').collect();
        let valid =
            |e: &&str| is_identifier(e) || (!e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()));
        if !elems.iter().all(valid) || elems.iter().any(|e| e.len() > MAX_VARIABLE_NAME_LEN) {
            let shown: String = name.chars().take(77).collect();
            let more = if name.chars().count() > 80 { "..." } else { "" };
            self.error(pos, format!("invalid variable name '{shown}{more}'"));
            return None;
        }
        if elems.len() == 1 {
            let e = elems[0];
            if e.bytes().all(|b| b.is_ascii_digit()) {
                return self.match_index(e, pos);
            }
            return self.local(&e.to_ascii_lowercase(), pos).map(Part::Var);
        }
        let ns = elems[0].to_ascii_lowercase();
        let rest = &elems[1..];
        match ns.as_str() {
            "global" if self.has_ext("include") => {
                if rest.len() > 1 {
                    self.error(
                        pos,
                        "invalid variable name within global namespace: encountered sub-namespace",
                    );
                    return None;
                }
                if rest[0].bytes().all(|b| b.is_ascii_digit()) {
                    self.error(pos, "invalid variable name within global namespace: encountered numeric variable name");
                    return None;
                }
                Some(Part::Var(self.global(&rest[0].to_ascii_lowercase())))
            }
            "env" if self.has_ext("vnd.dovecot.environment") => {
                Some(Part::Var(VarRef::Env(rest.join(".").to_ascii_lowercase())))
            }
            _ if self.registry.namespace(&ns, &self.required) => {
                Some(Part::Var(VarRef::Host(name.to_ascii_lowercase())))
            }
            _ => {
                self.error(
                    pos,
                    format!("referring to variable in unknown namespace '{}'", elems[0]),
                );
                None
            }
        }
    }

    fn match_index(&mut self, digits: &str, pos: Pos) -> Option<Part> {
        let trimmed = digits.trim_start_matches('0');
        let n: usize = if trimmed.is_empty() { 0 } else { trimmed.parse().unwrap_or(usize::MAX) };
        if n > MAX_MATCH_INDEX {
            let shown = if trimmed.len() > 10 { "(too large)" } else { trimmed };
            self.error(
                pos,
                format!("match value index {shown} out of range (max: {MAX_MATCH_INDEX})"),
            );
            return None;
        }
        Some(Part::Match(n))
    }

    /// Slot of local variable `lname` (or the global it was declared as), created on first use.
    fn local(&mut self, lname: &str, pos: Pos) -> Option<VarRef> {
        if self.declared_globals.contains(lname) {
            return Some(self.global(lname));
        }
        if let Some(&slot) = self.locals.get(lname) {
            return Some(VarRef::Local(slot));
        }
        if self.locals.len() >= MAX_VARIABLES {
            if !self.scope_full_reported {
                self.scope_full_reported = true;
                self.error(
                    pos,
                    format!("(implicit) declaration of new variable '{lname}' exceeds the limit (max variables: {MAX_VARIABLES})"),
                );
            }
            return None;
        }
        let slot = self.locals.len();
        self.locals.insert(lname.to_owned(), slot);
        Some(VarRef::Local(slot))
    }

    /// Slot of global variable `name` (lower case), created on first use.
    pub(crate) fn global(&mut self, name: &str) -> VarRef {
        let globals = &mut self.unit.globals;
        let idx = globals.iter().position(|g| g == name).unwrap_or_else(|| {
            globals.push(name.to_owned());
            globals.len() - 1
        });
        VarRef::Global(idx)
    }

    /// A `${...}` reference: `None` leaves the text literal (malformed names are not errors).
    fn reference(&mut self, inner: &str, pos: Pos) -> Option<Part> {
        let well_formed = inner
            .split('.')
            .all(|e| is_identifier(e) || (!e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())));
        // A namespace must be an identifier: `${0.s}` stays literal text.
        let ns_ok = !inner.contains('.') || inner.split('.').next().is_some_and(is_identifier);
        if !well_formed || inner.is_empty() || !ns_ok {
            return None;
        }
        self.resolve_name(inner, pos)
    }

    /// Splits `text` into literal text and variable references.
    fn template(&mut self, text: &str, pos: Pos) -> PStr {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            lit.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                lit.push_str(&rest[start..]);
                rest = "";
                break;
            };
            // A nested "${" before the "}" means this one is not a reference.
            if let Some(nested) = after[..end].find("${") {
                lit.push_str(&rest[start..start + 2 + nested]);
                rest = &after[nested..];
                continue;
            }
            match self.reference(&after[..end], pos) {
                Some(part) => {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(part);
                }
                None => lit.push_str(&rest[start..start + 3 + end]),
            }
            rest = &after[end + 1..];
        }
        lit.push_str(rest);
        if parts.is_empty() {
            return PStr::Lit(lit);
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        PStr::Template(parts)
    }

    /// Decodes `${hex:...}` and `${unicode:...}`; malformed ones stay as written.
    fn decode_encoded(&mut self, text: &str, pos: Pos) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let decoded = after.find('}').and_then(|end| {
                let (kind, body) = after[..end].split_once(':')?;
                let kind = kind.to_ascii_lowercase();
                let value = match kind.as_str() {
                    "hex" => decode_hex(body),
                    "unicode" => self.decode_unicode(body, pos),
                    _ => None,
                }?;
                Some((value, end))
            });
            match decoded {
                Some((value, end)) => {
                    out.push_str(&value);
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str("${");
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn decode_unicode(&mut self, body: &str, pos: Pos) -> Option<String> {
        if body.trim().is_empty() {
            return None;
        }
        let mut out = String::new();
        for item in body.split([' ', '\t', '\r', '\n']).filter(|s| !s.is_empty()) {
            if !item.bytes().all(|b| b.is_ascii_hexdigit()) || item.len() > 8 {
                return None;
            }
            let cp = u32::from_str_radix(item, 16).ok()?;
            match char::from_u32(cp) {
                Some(c) => out.push(c),
                None => {
                    self.error(
                        pos,
                        format!(
                            "invalid unicode character 0x{cp:08x} in encoded character substitution"
                        ),
                    );
                    return Some(String::new());
                }
            }
        }
        Some(out)
    }
}

fn decode_hex(body: &str) -> Option<String> {
    if body.trim().is_empty() {
        return None;
    }
    let mut bytes = Vec::new();
    for item in body.split([' ', '\t', '\r', '\n']).filter(|s| !s.is_empty()) {
        if item.len() % 2 != 0 || !item.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        for pair in item.as_bytes().chunks(2) {
            let s = std::str::from_utf8(pair).ok()?;
            bytes.push(u8::from_str_radix(s, 16).ok()?);
        }
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// RFC 5229 identifier: letter or `_`, then letters, digits, `_`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
