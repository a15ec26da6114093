//! Comparators (RFC 4790: `i;octet`, `i;ascii-casemap`, `i;ascii-numeric`) and match types
//! (`:is`, `:contains`, `:matches` with leftmost-shortest wildcards, `:regex` with the linear-time
//! `regex` crate, relational `:value`/`:count`).

use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};

use crate::program::{Comparator, MatchType, Relation};

/// Largest compiled regex we accept (guards memory; matching is linear anyway).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a POSIX extended regular expression as Pigeonhole uses it (`REG_EXTENDED`,
/// `REG_ICASE` for `i;ascii-casemap`).
pub fn compile_regex(pattern: &str, comparator: Comparator) -> Result<Regex, String> {
    if comparator == Comparator::AsciiNumeric {
        return Err("comparator not supported".into());
    }
    let translated = translate_posix(pattern);
    // The case flag goes into the pattern itself (not the builder) so that `Regex::as_str`
    // rebuilds an identical regex from the compiled-script cache (`crate::binary`).
    let full = if comparator == Comparator::AsciiCasemap {
        format!("(?i){translated}")
    } else {
        translated
    };
    build_regex(&full).map_err(|e| posix_wording(&e.to_string()))
}

/// Builds a regex from a pattern already in the `regex` crate's syntax (what
/// [`compile_regex`] produced, as returned by `Regex::as_str`), with the same size limits.
pub fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_SIZE_LIMIT).build()
}

/// Words a regex compile error the way glibc's `regerror` does, where there is an equivalent.
fn posix_wording(err: &str) -> String {
    let last = err.lines().last().unwrap_or("invalid").trim();
    let last = last.strip_prefix("error: ").unwrap_or(last);
    match last {
        "repetition operator missing expression" => "invalid preceding regular expression".into(),
        "unclosed character class" => "unmatched [, [^, [:, [., or [=".into(),
        "unclosed group" => "unmatched ( or \\(".into(),
        "unopened group" => "unmatched ) or \\)".into(),
        other => other.to_owned(),
    }
}

/// Maps POSIX ERE constructs the `regex` crate spells differently (`[[:alpha:]]` works as is;
/// a `\` before an ordinary character means that character in POSIX).
fn translate_posix(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if !in_class => match chars.next() {
                Some(n) if n.is_ascii_alphanumeric() && !"bBwWsSdD".contains(n) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push_str("\\\\"),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                out.push('[');
                for n in chars.by_ref() {
                    out.push(n);
                    if n == ']' {
                        break;
                    }
                }
            }
            // Characters the regex crate treats as set operators inside a class.
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '-' if in_class && chars.peek() == Some(&'-') => out.push_str("\\-"),
            '\\' if in_class => out.push_str("\\\\"),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Equality under a comparator.
pub fn equals(c: Comparator, a: &str, b: &str) -> bool {
    match c {
        Comparator::Octet => a == b,
        Comparator::AsciiCasemap => a.eq_ignore_ascii_case(b),
        Comparator::AsciiNumeric => numeric_cmp(a, b) == Ordering::Equal,
    }
}

/// Ordering under a comparator (for `:value`).
pub fn compare(c: Comparator, a: &str, b: &str) -> Ordering {
    match c {
        Comparator::Octet => a.as_bytes().cmp(b.as_bytes()),
        Comparator::AsciiCasemap => {
            let la = a.bytes().map(|x| x.to_ascii_lowercase());
            la.cmp(b.bytes().map(|x| x.to_ascii_lowercase()))
        }
        Comparator::AsciiNumeric => numeric_cmp(a, b),
    }
}

/// RFC 4790 §9.1: the leading digits are the value; no leading digit means +infinity.
fn numeric_cmp(a: &str, b: &str) -> Ordering {
    let digits = |s: &str| -> Option<String> {
        let d: String = s.chars().take_while(char::is_ascii_digit).collect();
        if d.is_empty() {
            return None;
        }
        let t = d.trim_start_matches('0');
        Some(if t.is_empty() { "0".to_owned() } else { t.to_owned() })
    };
    match (digits(a), digits(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(&y)),
    }
}

/// Whether `ord` satisfies the relation.
pub fn relation_holds(rel: Relation, ord: Ordering) -> bool {
    match rel {
        Relation::Gt => ord == Ordering::Greater,
        Relation::Ge => ord != Ordering::Less,
        Relation::Lt => ord == Ordering::Less,
        Relation::Le => ord != Ordering::Greater,
        Relation::Eq => ord == Ordering::Equal,
        Relation::Ne => ord != Ordering::Equal,
    }
}

/// Substring test under a comparator.
pub fn contains(c: Comparator, hay: &str, needle: &str) -> bool {
    match c {
        Comparator::Octet => hay.contains(needle),
        _ => {
            let h = hay.to_ascii_lowercase();
            h.contains(&needle.to_ascii_lowercase())
        }
    }
}

/// Matches one value against one key for the simple match types (`:is`, `:contains`,
/// `:matches`, `:value`); `captures` receives `${0}`, `${1}`, ... for `:matches`.
pub fn match_value(
    mt: MatchType,
    c: Comparator,
    value: &str,
    key: &str,
    captures: &mut Option<Vec<String>>,
) -> bool {
    match mt {
        MatchType::Is => equals(c, value, key),
        MatchType::Contains => contains(c, value, key),
        MatchType::Matches => wildcard(value, key, c != Comparator::Octet, captures),
        MatchType::Value(rel) => relation_holds(rel, compare(c, value, key)),
        MatchType::Regex | MatchType::Count(_) => false,
    }
}

/// Regex match; captures receive the groups (`${0}` = whole match).
pub fn regex_match(re: &Regex, value: &str, captures: &mut Option<Vec<String>>) -> bool {
    if let Some(caps) = captures {
        match re.captures(value) {
            Some(m) => {
                *caps =
                    m.iter().map(|g| g.map_or(String::new(), |g| g.as_str().to_owned())).collect();
                true
            }
            None => false,
        }
    } else {
        re.is_match(value)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Pat {
    Lit(char),
    Star,
    One,
}

fn chars_eq(a: char, b: char, fold: bool) -> bool {
    a == b || (fold && a.eq_ignore_ascii_case(&b))
}

/// Splits a `:matches` pattern into literals and wildcards (`\\` escapes the next char).
fn compile_wildcard(pattern: &str) -> Vec<Pat> {
    let mut pat = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        pat.push(match c {
            '*' => Pat::Star,
            '?' => Pat::One,
            '\\' => Pat::Lit(it.next().unwrap_or('\\')),
            c => Pat::Lit(c),
        });
    }
    pat
}

/// `:matches` with `*` and `?` (`\` escapes), leftmost-shortest, as RFC 5229 requires.
/// Runs in O(len(value) × len(pattern)).
pub fn wildcard(
    value: &str,
    pattern: &str,
    fold: bool,
    captures: &mut Option<Vec<String>>,
) -> bool {
    let pat = compile_wildcard(pattern);
    let text: Vec<char> = value.chars().collect();
    // Wildcard index -> (start, end) in `text`.
    let nwild = pat.iter().filter(|p| matches!(p, Pat::Star | Pat::One)).count();
    let mut spans = vec![(0usize, 0usize); nwild];
    let (mut p, mut t) = (0usize, 0usize);
    let mut wild_idx = 0usize;
    // Backtrack point: (pattern index after star, text index, wildcard index of the star).
    let mut back: Option<(usize, usize, usize)> = None;
    while t < text.len() || p < pat.len() {
        match pat.get(p) {
            Some(Pat::Star) => {
                spans[wild_idx] = (t, t);
                back = Some((p + 1, t, wild_idx));
                wild_idx += 1;
                p += 1;
                continue;
            }
            Some(Pat::One) if t < text.len() => {
                spans[wild_idx] = (t, t + 1);
                wild_idx += 1;
                p += 1;
                t += 1;
                continue;
            }
            Some(Pat::Lit(c)) if t < text.len() && chars_eq(*c, text[t], fold) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match back {
            Some((bp, bt, bw)) if bt < text.len() => {
                back = Some((bp, bt + 1, bw));
                spans[bw] = (spans[bw].0, bt + 1);
                p = bp;
                t = bt + 1;
                wild_idx = bw + 1;
            }
            _ => return false,
        }
    }
    if let Some(caps) = captures {
        caps.clear();
        caps.push(value.to_owned());
        for (s, e) in spans {
            caps.push(text[s..e].iter().collect());
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(value: &str, pattern: &str) -> Option<Vec<String>> {
        let mut c = Some(Vec::new());
        wildcard(value, pattern, true, &mut c).then(|| c.unwrap_or_default())
    }

    #[test]
    fn wildcards_are_leftmost_shortest() {
        let c = caps("frop.......frop.........frop....", "?*frop*").unwrap();
        assert_eq!(c[1..].concat(), "frop................frop....");
        assert_eq!(c[1], "f");
        let c = caps("frop:frup:frop", "*:*:*").unwrap();
        assert_eq!(c, vec!["frop:frup:frop", "frop", "frup", "frop"]);
        assert_eq!(caps("puk pok puk pok", "pu*ok").unwrap()[1], "k pok puk p");
        assert!(caps("abc", "a?d").is_none());
        assert!(caps("a*c", "a\\*c").is_some());
        assert!(caps("ABC", "a*").is_some());
        assert!(!wildcard("ABC", "a*", false, &mut None));
        assert!(wildcard("", "*", false, &mut None));
    }

    #[test]
    fn numeric_comparator() {
        assert!(equals(Comparator::AsciiNumeric, "007", "7abc"));
        assert!(equals(Comparator::AsciiNumeric, "x", "y"));
        assert_eq!(compare(Comparator::AsciiNumeric, "x", "99"), Ordering::Greater);
        assert_eq!(compare(Comparator::AsciiNumeric, "10", "9"), Ordering::Greater);
    }

    #[test]
    fn regex_posix_translation_and_captures() {
        let re = compile_regex("^[a-c](b+)[[:digit:]]$", Comparator::AsciiCasemap).unwrap();
        let mut c = Some(Vec::new());
        assert!(regex_match(&re, "ABB5", &mut c));
        assert_eq!(c.unwrap()[1], "BB");
        assert!(compile_regex("(a", Comparator::Octet).is_err());
        let re = compile_regex("(a+)+$", Comparator::Octet).unwrap();
        let long = format!("{}b", "a".repeat(10_000));
        assert!(!regex_match(&re, &long, &mut None));
    }
}
