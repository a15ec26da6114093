//! Splits a configuration file into logical lines and classifies them the way Dovecot's
//! config parser does (dovecot/core@2.3.19.1 src/config/config-parser.c; rules written down
//! in `spec/config.md` §2 and checked against doveconf 2.3.19).

/// The value part of a `key = value` line, before any expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue {
    /// Unquoted text, kept as written (internal spaces kept).
    Plain(String),
    /// `"…"` or `'…'`: quotes removed, backslash escapes resolved.
    Quoted(String),
    /// `<path`: the value is the content of the file.
    File(String),
    /// Unquoted text containing `$`: `$NAME` / `$ENV:NAME` words are substituted.
    Variable(String),
}

/// One logical line of a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// `key = value`.
    KeyValue {
        /// The setting name.
        key: String,
        /// The unexpanded value.
        value: RawValue,
    },
    /// `type [name] {`.
    SectionBegin {
        /// Section type (`namespace`, `protocol`, …).
        kind: String,
        /// Optional section name (unquoted).
        name: Option<String>,
    },
    /// `}`.
    SectionEnd,
    /// `!include PATTERN` or `!include_try PATTERN`.
    Include {
        /// The glob pattern (relative to the including file's directory).
        pattern: String,
        /// True for `!include_try` (missing or unreadable files are not errors).
        optional: bool,
    },
    /// A line Dovecot refuses, with its error message.
    Invalid(String),
}

/// A classified logical line with the physical line number Dovecot reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based number of the last physical line of the logical line.
    pub number: u32,
    /// What the line is.
    pub kind: LineKind,
}

/// Result of lexing one file: lines plus warnings (ambiguous `#`).
#[derive(Debug, Default)]
pub struct Lexed {
    /// Logical lines in order.
    pub lines: Vec<Line>,
    /// `(line, message)` warnings, worded like doveconf.
    pub warnings: Vec<(u32, String)>,
}

/// Lexes a whole file's content (bytes; invalid UTF-8 is replaced, Dovecot keeps bytes).
pub fn lex(content: &[u8]) -> Lexed {
    let text = String::from_utf8_lossy(content);
    let mut out = Lexed::default();
    let mut pending = String::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let number = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let line = raw.trim_start_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            // A blank or comment line ends (and drops) a pending continuation (observed).
            pending.clear();
            continue;
        }
        let (line, ambiguous) = strip_comment(line);
        if ambiguous {
            out.warnings.push((
                number,
                "Ambiguous '#' character in line, treating it as comment. \
                 Add a space before it to remove this warning."
                    .to_owned(),
            ));
        }
        let line = line.trim_end_matches([' ', '\t', '\r']);
        if let Some(head) = line.strip_suffix('\\') {
            let head = head.trim_end_matches([' ', '\t']);
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        let full = if pending.is_empty() { line.to_owned() } else { pending.clone() + line };
        pending.clear();
        if full.is_empty() {
            continue;
        }
        out.lines.push(Line { number, kind: classify(&full) });
    }
    out
}

/// Removes a `#` comment outside quotes. Returns the kept text and whether the `#` was
/// "ambiguous" (not preceded by whitespace).
fn strip_comment(line: &str) -> (&str, bool) {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'#' => {
                let ambiguous = i > 0 && !matches!(bytes[i - 1], b' ' | b'\t');
                return (&line[..i], ambiguous);
            }
            None => {}
        }
        i += 1;
    }
    (line, false)
}

/// Classifies a logical line that is non-empty and comment-free.
fn classify(line: &str) -> LineKind {
    if let Some(rest) = line.strip_prefix('!') {
        return classify_directive(rest);
    }
    if line == "}" {
        return LineKind::SectionEnd;
    }
    let key_len = line.find([' ', '\t', '=']).unwrap_or(line.len());
    let key = &line[..key_len];
    let rest = line[key_len..].trim_start_matches([' ', '\t']);
    if let Some(value) = rest.strip_prefix('=') {
        if key.is_empty() {
            return LineKind::Invalid("Missing key name ('=' at the beginning of line)".into());
        }
        let value = value.trim_start_matches([' ', '\t']);
        return LineKind::KeyValue { key: key.to_owned(), value: classify_value(value) };
    }
    classify_section(key, rest)
}

fn classify_directive(rest: &str) -> LineKind {
    let (word, arg) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
    let optional = match word {
        "include" => false,
        "include_try" => true,
        _ => return LineKind::Invalid(format!("Unknown command: !{word}")),
    };
    let pattern = unquote(arg.trim());
    if pattern.is_empty() {
        return LineKind::Invalid(format!("Missing parameter for !{word}"));
    }
    LineKind::Include { pattern, optional }
}

fn classify_section(key: &str, rest: &str) -> LineKind {
    let Some(brace) = rest.find('{') else {
        return LineKind::Invalid("Expecting '{'".into());
    };
    if !rest[brace + 1..].trim().is_empty() {
        return LineKind::Invalid("Garbage after '{'".into());
    }
    let name = rest[..brace].trim_end_matches([' ', '\t']);
    if key.is_empty() || key == "}" {
        return LineKind::Invalid("Expecting '{'".into());
    }
    let name = if name.is_empty() {
        None
    } else if is_quoted(name) {
        Some(unescape(&name[1..name.len() - 1]))
    } else if name.contains([' ', '\t']) {
        return LineKind::Invalid("Expecting '{'".into());
    } else {
        Some(name.to_owned())
    };
    LineKind::SectionBegin { kind: key.to_owned(), name }
}

fn classify_value(value: &str) -> RawValue {
    if let Some(path) = value.strip_prefix('<') {
        return RawValue::File(path.trim_start_matches([' ', '\t']).to_owned());
    }
    if is_quoted(value) {
        return RawValue::Quoted(unescape(&value[1..value.len() - 1]));
    }
    if value.contains('$') {
        return RawValue::Variable(value.to_owned());
    }
    RawValue::Plain(value.to_owned())
}

fn is_quoted(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0]
}

fn unquote(s: &str) -> String {
    if is_quoted(s) { unescape(&s[1..s.len() - 1]) } else { s.to_owned() }
}

/// Drops each backslash and keeps the character after it (no `\n`-style escapes).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<LineKind> {
        lex(text.as_bytes()).lines.into_iter().map(|l| l.kind).collect()
    }

    fn kv(key: &str, value: RawValue) -> LineKind {
        LineKind::KeyValue { key: key.into(), value }
    }

    #[test]
    fn key_values_and_quotes() {
        assert_eq!(kinds("a = b c\n"), vec![kv("a", RawValue::Plain("b c".into()))]);
        assert_eq!(kinds("a=b"), vec![kv("a", RawValue::Plain("b".into()))]);
        assert_eq!(
            kinds(r#"a = "Hash # inside and \"escaped\" quote""#),
            vec![kv("a", RawValue::Quoted(r#"Hash # inside and "escaped" quote"#.into()))]
        );
        assert_eq!(kinds("a = 'x\\'y'"), vec![kv("a", RawValue::Quoted("x'y".into()))]);
        assert_eq!(kinds("a = \"abc"), vec![kv("a", RawValue::Plain("\"abc".into()))]);
        assert_eq!(kinds("a = <  f.txt"), vec![kv("a", RawValue::File("f.txt".into()))]);
        assert_eq!(kinds("a = $b c"), vec![kv("a", RawValue::Variable("$b c".into()))]);
        assert_eq!(kinds("a ="), vec![kv("a", RawValue::Plain(String::new()))]);
    }

    #[test]
    fn comments_and_ambiguous_hash() {
        let lexed = lex(b"a = b#c\n# full\n   # indented\nd = e # f\n");
        assert_eq!(
            lexed.lines.iter().map(|l| l.kind.clone()).collect::<Vec<_>>(),
            vec![kv("a", RawValue::Plain("b".into())), kv("d", RawValue::Plain("e".into()))]
        );
        assert_eq!(lexed.warnings.len(), 1);
        assert_eq!(lexed.warnings[0].0, 1);
        assert_eq!(lexed.lines[1].number, 4);
    }

    #[test]
    fn continuation_joins_with_one_space() {
        let lexed = lex(b"rejection_subject = Rejected:\\\n   %s\n");
        assert_eq!(lexed.lines.len(), 1);
        assert_eq!(lexed.lines[0].number, 2);
        assert_eq!(
            lexed.lines[0].kind,
            kv("rejection_subject", RawValue::Plain("Rejected: %s".into()))
        );
        assert_eq!(kinds("a = \"x \\\n y\""), vec![kv("a", RawValue::Quoted("x y".into()))]);
    }

    #[test]
    fn blank_line_or_eof_drops_a_pending_continuation() {
        assert_eq!(kinds("a = b \\\n\nc = d"), vec![kv("c", RawValue::Plain("d".into()))]);
        assert!(kinds("a = b\\\\").is_empty());
    }

    #[test]
    fn sections_and_errors() {
        assert_eq!(
            kinds("namespace inbox {\n}\nmailbox \"Sent Messages\" {\nplugin {"),
            vec![
                LineKind::SectionBegin { kind: "namespace".into(), name: Some("inbox".into()) },
                LineKind::SectionEnd,
                LineKind::SectionBegin {
                    kind: "mailbox".into(),
                    name: Some("Sent Messages".into())
                },
                LineKind::SectionBegin { kind: "plugin".into(), name: None },
            ]
        );
        assert_eq!(kinds("x"), vec![LineKind::Invalid("Expecting '{'".into())]);
        assert_eq!(kinds("a b c {"), vec![LineKind::Invalid("Expecting '{'".into())]);
        assert_eq!(kinds("} x"), vec![LineKind::Invalid("Expecting '{'".into())]);
        assert_eq!(kinds("n x { a = b }"), vec![LineKind::Invalid("Garbage after '{'".into())]);
        assert_eq!(
            kinds("= x"),
            vec![LineKind::Invalid("Missing key name ('=' at the beginning of line)".into())]
        );
    }

    #[test]
    fn include_directives() {
        assert_eq!(
            kinds("!include conf.d/*.conf\n!include_try \"x y.conf\""),
            vec![
                LineKind::Include { pattern: "conf.d/*.conf".into(), optional: false },
                LineKind::Include { pattern: "x y.conf".into(), optional: true },
            ]
        );
    }

    /// Arbitrary input (a fixed pseudo-random sequence over the config alphabet, plus
    /// multi-byte characters) never panics.
    #[test]
    fn arbitrary_input_does_not_panic() {
        let alphabet: Vec<char> = "ab =#\"'\\{}<$!\n\t é€".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(state % 40) {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                text.push(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            let _ = lex(text.as_bytes());
            let _ = crate::var_expand::expand(&text.replace('$', "%"), &Default::default());
        }
    }
}
