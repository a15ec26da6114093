//! Dovecot `%`-variable expansion for settings such as `mail_location`, `mail_home` and
//! `postmaster_address` (behaviour of dovecot/core@2.3.19.1 src/lib/var-expand.c as observed
//! with dovecot-lda 2.3.19: `%5u` → first 5 chars, `%2.3u` → 3 chars from offset 2, `%Lu`
//! lowercase, `%Uu` uppercase, `%Ru` reversed, `%%` → `%`; an unknown variable fails with
//! `Unknown variable '%NAME'` and Dovecot then tempfails). Hash modifiers (`%M`, `%H`, `%N`)
//! are not implemented and report an error.

use std::collections::BTreeMap;

/// The values variables expand to. `%n`/`%d` are derived from `user`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    /// Full user name (`%u`, `%{user}`).
    pub user: String,
    /// Home directory (`%h`, `%{home}`); `None` = not known (expands to empty).
    pub home: Option<String>,
    /// Service name (`%s`, `%{service}`), `lda` or `lmtp`; empty expands to empty.
    pub service: String,
    /// Further long-named variables (`pid`, `session`, `hostname`, `uid`, `gid`,
    /// `env:NAME`, …) looked up by the name inside `%{…}`.
    pub extra: BTreeMap<String, String>,
}

impl Vars {
    /// Variables for `user` with an optional home and the given service.
    pub fn new(user: &str, home: Option<&str>, service: &str) -> Self {
        Self {
            user: user.to_owned(),
            home: home.map(str::to_owned),
            service: service.to_owned(),
            extra: BTreeMap::new(),
        }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        let (local, domain) = match self.user.split_once('@') {
            Some((l, d)) => (l, d),
            None => (self.user.as_str(), ""),
        };
        let value = match name {
            "u" | "user" => self.user.clone(),
            "n" | "username" => local.to_owned(),
            "d" | "domain" => domain.to_owned(),
            "h" | "home" => self.home.clone().unwrap_or_default(),
            "s" | "service" => self.service.clone(),
            "p" => self.extra.get("pid").cloned()?,
            "i" => self.extra.get("uid").cloned()?,
            other => self.extra.get(other).cloned()?,
        };
        Some(value)
    }
}

/// Why an expansion failed (the message is Dovecot's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct VarExpandError {
    message: String,
    partial: String,
}

impl VarExpandError {
    /// The expansion with failed variables left as written.
    pub fn partial(&self) -> &str {
        &self.partial
    }
}

/// Expand Dovecot %-variables: %u %n %d %h %% %{user} %{username} %{domain} %{home}, modifiers
/// like %L (lowercase) %U (uppercase), %Nx truncation, plus a leading `~/` → home. Unknown
/// variables are left as written here; use [`try_expand`] to fail like Dovecot 2.3 does.
pub fn expand(template: &str, vars: &Vars) -> String {
    match try_expand(template, vars) {
        Ok(s) => s,
        Err(e) => e.partial,
    }
}

/// Like [`expand`], but an unknown variable or unsupported modifier is an error worded like
/// Dovecot's (`Unknown variable '%foo'`); the first failure is reported.
pub fn try_expand(template: &str, vars: &Vars) -> Result<String, VarExpandError> {
    let lookup = |name: &str| vars.lookup(name);
    match expand_raw(template, &lookup) {
        Ok(out) => Ok(expand_home(&out, vars.home.as_deref())),
        Err(e) => Err(VarExpandError {
            message: e.message,
            partial: expand_home(&e.partial, vars.home.as_deref()),
        }),
    }
}

/// A variable table given as a function from a variable name (`m`, `msgid`, `$`, …) to its
/// value; `None` = unknown variable.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Expand with a caller-defined variable table, for settings that have their own variables
/// (`deliver_log_format`, `rejection_reason`, `mail_log_prefix`, …). Same syntax and modifiers
/// as [`expand`]; unknown variables are left as written; no `~` handling.
pub fn expand_with(template: &str, lookup: &Lookup<'_>) -> String {
    match expand_raw(template, lookup) {
        Ok(s) => s,
        Err(e) => e.partial,
    }
}

/// Like [`expand_with`], failing on the first unknown variable as Dovecot does.
pub fn try_expand_with(template: &str, lookup: &Lookup<'_>) -> Result<String, VarExpandError> {
    expand_raw(template, lookup)
}

fn expand_raw(template: &str, vars: &Lookup<'_>) -> Result<String, VarExpandError> {
    let mut out = String::new();
    let mut first_error: Option<String> = None;
    let mut rest = template;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (piece, consumed, err) = expand_one(after, vars);
        out.push_str(&piece);
        if first_error.is_none() {
            first_error = err;
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    match first_error {
        Some(message) => Err(VarExpandError { message, partial: out }),
        None => Ok(out),
    }
}

/// Parsed `%[-][OFFSET.]WIDTH` and modifier letters.
#[derive(Default)]
struct Spec {
    offset: usize,
    width: Option<usize>,
    mods: Vec<char>,
}

/// Expands the variable after a `%`; returns (text, bytes consumed, error).
fn expand_one(s: &str, vars: &Lookup<'_>) -> (String, usize, Option<String>) {
    if let Some(rest) = s.strip_prefix('%') {
        let _ = rest;
        return ("%".into(), 1, None);
    }
    let (spec, spec_len) = parse_spec(s);
    let body = &s[spec_len..];
    let (name, name_len) = if let Some(inner) = body.strip_prefix('{') {
        match matching_brace(inner) {
            Some(end) => (&inner[..end], end + 2),
            None => (inner, inner.len() + 1),
        }
    } else {
        match body.chars().next() {
            Some(c) => (&body[..c.len_utf8()], c.len_utf8()),
            None => ("", 0),
        }
    };
    let consumed = spec_len + name_len;
    let original = format!("%{}", &s[..consumed]);
    let value = if let Some(args) = name.strip_prefix("if;") {
        eval_if(args, vars)
    } else {
        vars(name).ok_or_else(|| format!("Unknown variable '%{name}'"))
    };
    match value.and_then(|v| apply(&spec, v)) {
        Ok(v) => (v, consumed, None),
        Err(e) => (original, consumed, Some(e)),
    }
}

fn parse_spec(s: &str) -> (Spec, usize) {
    let mut spec = Spec::default();
    let bytes = s.as_bytes();
    let mut i = 0;
    if bytes.first() == Some(&b'-') {
        i += 1; // observed: `%-2u` behaves like `%2u`
    }
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let n = digits(i);
    if n > 0 {
        let first: usize = s[i..i + n].parse().unwrap_or(0);
        i += n;
        if bytes.get(i) == Some(&b'.') {
            let m = digits(i + 1);
            spec.offset = first;
            spec.width = s[i + 1..i + 1 + m].parse().ok();
            i += 1 + m;
        } else {
            spec.width = Some(first);
        }
    }
    while let Some(&b) = bytes.get(i) {
        if matches!(b, b'L' | b'U' | b'R' | b'T' | b'E' | b'X' | b'M' | b'H' | b'N' | b'D')
            && bytes.get(i + 1).is_some_and(|n| *n != b'}' && *n != b';')
        {
            spec.mods.push(char::from(b));
            i += 1;
        } else {
            break;
        }
    }
    (spec, i)
}

fn apply(spec: &Spec, value: String) -> Result<String, String> {
    let mut v = value;
    for m in &spec.mods {
        v = match m {
            'L' => v.to_lowercase(),
            'U' => v.to_uppercase(),
            'R' => v.chars().rev().collect(),
            'T' => v.trim_end().to_owned(),
            other => return Err(format!("Unsupported modifier '%{other}'")),
        };
    }
    let chars = v.chars().skip(spec.offset);
    Ok(match spec.width {
        Some(w) => chars.take(w).collect(),
        None => chars.collect(),
    })
}

/// Index of the `}` closing a `%{` whose content starts at `s`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `%{if;A;OP;B;THEN;ELSE}`: each argument is expanded first; OP is a string (`eq`, `ne`)
/// or numeric (`<`, `<=`, `>`, `>=`, `==`, `!=`) comparison.
fn eval_if(args: &str, vars: &Lookup<'_>) -> Result<String, String> {
    let parts = split_args(args);
    if parts.len() != 5 {
        return Err("if: requires five parameters".into());
    }
    let ex: Vec<String> = parts.iter().map(|p| expand_with(p, vars)).collect();
    let num = |s: &str| s.trim().parse::<i64>().map_err(|_| format!("if: {s} is not a number"));
    let truth = match parts[1].as_str() {
        "eq" => ex[0] == ex[2],
        "ne" => ex[0] != ex[2],
        "==" => num(&ex[0])? == num(&ex[2])?,
        "!=" => num(&ex[0])? != num(&ex[2])?,
        "<" => num(&ex[0])? < num(&ex[2])?,
        "<=" => num(&ex[0])? <= num(&ex[2])?,
        ">" => num(&ex[0])? > num(&ex[2])?,
        ">=" => num(&ex[0])? >= num(&ex[2])?,
        op => return Err(format!("if: Unsupported comparator '{op}'")),
    };
    Ok(if truth { ex[3].clone() } else { ex[4].clone() })
}

/// Splits on `;` outside nested `%{…}`.
fn split_args(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

/// `~` or `~/x` at the start of `path` → the home directory (unchanged when home is unknown
/// or the path does not start with `~`/`~/`; `~user/` forms are left to the caller).
pub fn expand_home(path: &str, home: Option<&str>) -> String {
    let Some(home) = home else {
        return path.to_owned();
    };
    if path == "~" {
        return home.to_owned();
    }
    match path.strip_prefix("~/") {
        Some(rest) => format!("{}/{rest}", home.trim_end_matches('/')),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::new("Alice@Example.org", Some("/home/alice"), "lda");
        v.extra.insert("hostname".into(), "mx.example.org".into());
        v
    }

    #[test]
    fn basic_variables() {
        let v = vars();
        assert_eq!(
            expand("%u|%n|%d|%h|%s", &v),
            "Alice@Example.org|Alice|Example.org|/home/alice|lda"
        );
        assert_eq!(
            expand("%{user}|%{username}|%{domain}|%{home}", &v),
            "Alice@Example.org|Alice|Example.org|/home/alice"
        );
        assert_eq!(expand("a%%b", &v), "a%b");
    }

    #[test]
    fn modifiers_and_truncation_as_observed() {
        let v = Vars::new("cloudsdk", None, "lda");
        assert_eq!(expand("%5u", &v), "cloud");
        assert_eq!(expand("%2.3u", &v), "oud");
        assert_eq!(expand("%-2u", &v), "cl");
        assert_eq!(expand("%Uu", &v), "CLOUDSDK");
        assert_eq!(expand("%Ru", &v), "kdsduolc");
        assert_eq!(expand("%3{user}", &v), "clo");
        assert_eq!(expand("%L{user}", &vars()), "alice@example.org");
        assert_eq!(expand("%Ld", &vars()), "example.org");
    }

    #[test]
    fn unknown_variables_fail_like_dovecot() {
        let v = vars();
        let e = try_expand("/x/%{foo}/y", &v).unwrap_err();
        assert_eq!(e.to_string(), "Unknown variable '%foo'");
        assert_eq!(expand("/x/%{foo}/y", &v), "/x/%{foo}/y");
        assert!(try_expand("100%", &v).is_err());
    }

    #[test]
    fn postmaster_default_uses_domain_or_hostname() {
        let tpl = "postmaster@%{if;%d;ne;;%d;%{hostname}}";
        assert_eq!(expand(tpl, &vars()), "postmaster@Example.org");
        let mut local = Vars::new("bob", None, "lda");
        local.extra.insert("hostname".into(), "mx.example.org".into());
        assert_eq!(expand(tpl, &local), "postmaster@mx.example.org");
    }

    #[test]
    fn home_tilde() {
        assert_eq!(expand_home("~/Maildir", Some("/home/a/")), "/home/a/Maildir");
        assert_eq!(expand_home("~", Some("/home/a")), "/home/a");
        assert_eq!(expand_home("~x/Maildir", Some("/home/a")), "~x/Maildir");
        assert_eq!(expand_home("~/Maildir", None), "~/Maildir");
        assert_eq!(expand("maildir:~/Maildir", &vars()), "maildir:~/Maildir");
        assert_eq!(expand("~/Maildir", &vars()), "/home/alice/Maildir");
    }
}
