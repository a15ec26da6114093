//! The small subset of Dovecot's `%` variable expansion that a userdb needs on its own:
//! `username_format`, `auth_username_format`, passwd-file `userdb_*` extra fields and
//! `default_fields`/`override_fields` values.
//!
//! Supported: `%%`, `%u %n %d %s %h` and the long forms `%{user} %{username} %{domain}
//! %{service} %{home}`, an optional `[offset.]width` substring (negative offset counts from
//! the end), and the modifiers `L` (lowercase), `U` (uppercase), `T` (trim trailing
//! whitespace), `R` (reverse) and `E` (backslash-escape `\`, `"` and `'`).
//! Unknown variables are left in the text unchanged (Dovecot logs an error instead).

/// The values `%` variables expand to during a lookup.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExpandVars<'a> {
    /// Full user name (`%u`); `%n` and `%d` are split from it at the first `@`.
    pub user: &'a str,
    /// Service name (`%s`), e.g. `lda` or `lmtp`.
    pub service: &'a str,
    /// Home directory (`%h`); empty when not known.
    pub home: &'a str,
}

impl ExpandVars<'_> {
    fn value(&self, name: &str) -> Option<String> {
        let (local, domain) = match self.user.split_once('@') {
            Some((l, d)) => (l, d),
            None => (self.user, ""),
        };
        let v = match name {
            "u" | "user" => self.user,
            "n" | "username" => local,
            "d" | "domain" => domain,
            "s" | "service" => self.service,
            "h" | "home" => self.home,
            _ => return None,
        };
        Some(v.to_owned())
    }
}

/// Expands `template` with `vars` (see the module documentation for the syntax).
pub fn expand(template: &str, vars: &ExpandVars<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        match expand_one(after, vars) {
            Some((text, consumed)) => {
                out.push_str(&text);
                rest = &after[consumed..];
            }
            None => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Expands one variable reference (the text after `%`); returns the text and bytes consumed.
fn expand_one(spec: &str, vars: &ExpandVars<'_>) -> Option<(String, usize)> {
    let bytes = spec.as_bytes();
    let mut i = 0;
    let (mut offset, mut width) = (0i64, None);
    let num_start = i;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let number = &spec[num_start..i];
    if bytes.get(i) == Some(&b'.') {
        offset = if number.is_empty() { 0 } else { number.parse().ok()? };
        i += 1;
        let w_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        width = Some(spec[w_start..i].parse().ok()?);
    } else if !number.is_empty() {
        width = Some(number.parse().ok()?);
    }
    let mod_start = i;
    while bytes.get(i).is_some_and(|b| b"LUTRE".contains(b)) {
        i += 1;
    }
    let modifiers = &spec[mod_start..i];
    let (name, end) = if bytes.get(i) == Some(&b'{') {
        let close = spec[i..].find('}')? + i;
        (&spec[i + 1..close], close + 1)
    } else {
        let c = spec[i..].chars().next()?;
        (&spec[i..i + c.len_utf8()], i + c.len_utf8())
    };
    let value = vars.value(name)?;
    let value = substring(&value, offset, width);
    Some((apply_modifiers(value, modifiers), end))
}

fn substring(value: &str, offset: i64, width: Option<usize>) -> String {
    let chars: Vec<char> = value.chars().collect();
    let len = chars.len() as i64;
    let start = if offset < 0 { (len + offset).max(0) } else { offset.min(len) };
    let start = usize::try_from(start).unwrap_or(0);
    let end = width.map_or(chars.len(), |w| start.saturating_add(w).min(chars.len()));
    chars[start..end].iter().collect()
}

fn apply_modifiers(mut value: String, modifiers: &str) -> String {
    for m in modifiers.chars() {
        value = match m {
            'L' => value.to_lowercase(),
            'U' => value.to_uppercase(),
            'T' => value.trim_end().to_owned(),
            'R' => value.chars().rev().collect(),
            'E' => value.chars().fold(String::new(), |mut s, c| {
                if matches!(c, '\\' | '"' | '\'') {
                    s.push('\\');
                }
                s.push(c);
                s
            }),
            _ => value,
        };
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(user: &str) -> ExpandVars<'_> {
        ExpandVars { user, service: "lda", home: "/home/x" }
    }

    #[test]
    fn basic_variables_and_modifiers() {
        let v = vars("Alice@Example.ORG");
        assert_eq!(expand("%u|%n|%d|%s|%h", &v), "Alice@Example.ORG|Alice|Example.ORG|lda|/home/x");
        assert_eq!(expand("%Lu", &v), "alice@example.org");
        assert_eq!(expand("%Un/%Ld", &v), "ALICE/example.org");
        assert_eq!(
            expand("%{user}:%{domain}:%L{username}", &v),
            "Alice@Example.ORG:Example.ORG:alice"
        );
        assert_eq!(expand("100%%", &v), "100%");
    }

    #[test]
    fn substrings() {
        let v = vars("abcdef");
        assert_eq!(expand("%1u", &v), "a");
        assert_eq!(expand("%2.1u", &v), "c");
        assert_eq!(expand("%-2.2u", &v), "ef");
        assert_eq!(expand("%.2u", &v), "ab");
        assert_eq!(expand("%9.3u", &v), "");
    }

    #[test]
    fn unknown_and_truncated_references_stay_literal() {
        let v = vars("bob");
        assert_eq!(expand("%x-%{nope}-%", &v), "%x-%{nope}-%");
        assert_eq!(expand("%{user", &v), "%{user");
        assert_eq!(expand("no vars", &v), "no vars");
        assert_eq!(expand("%n@%d", &v), "bob@");
    }

    #[test]
    fn other_modifiers() {
        let v = vars("a'b ");
        assert_eq!(expand("%Tu|%Ru|%Eu", &v), "a'b| b'a|a\\'b ");
    }
}
