//! Test evaluation and the generic "values × keys" matcher shared by every test.

use crate::address::{detail_part, domain, local_part, user_part};
use crate::matching::{compare, compile_regex, match_value, regex_match, relation_holds};
use crate::message::{HeaderField, parse_addresses};
use crate::mime::ContentType;
use crate::program::{
    AddressPart, BodyTransform, Keys, MatchSpec, MatchType, MimeOption, MimeOpts, PStr, Test,
};

use super::{Machine, RuntimeError};

impl Machine<'_> {
    /// Evaluates a test.
    pub(crate) fn test(&mut self, t: &Test) -> Result<bool, RuntimeError> {
        self.charge(1)?;
        match t {
            Test::True => Ok(true),
            Test::False => Ok(false),
            Test::Not(inner) => Ok(!self.test(inner)?),
            Test::AnyOf(list) => {
                for t in list {
                    if self.test(t)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Test::AllOf(list) => {
                for t in list {
                    if !self.test(t)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Test::Exists { names, mime } => Ok(self.exists(names, mime.as_ref())),
            Test::Size { over, limit } => {
                let size = self.message().size();
                Ok(if *over { size > *limit } else { size < *limit })
            }
            Test::Header { names, keys, spec, index, mime } => {
                let values = match mime {
                    None => self.header_values(names, *index),
                    Some(opts) => self.mime_header_values(names, *index, opts),
                };
                self.match_keys(values, keys, spec)
            }
            Test::Address { headers, keys, spec, part, index, mime } => {
                let values = self.address_values(headers, *part, *index, mime.as_ref());
                self.match_keys(values, keys, spec)
            }
            Test::Envelope { parts, keys, spec, part } => {
                let values = self.envelope_values(parts, *part);
                self.match_keys(values, keys, spec)
            }
            Test::String { sources, keys, spec } => {
                let mut values = self.eval_list(sources);
                if matches!(spec.match_type, MatchType::Count(_)) {
                    values.retain(|v| !v.is_empty());
                }
                self.match_keys(values, keys, spec)
            }
            _ => self.test_ext(t),
        }
    }

    /// Extension tests (kept apart to keep `test` short).
    fn test_ext(&mut self, t: &Test) -> Result<bool, RuntimeError> {
        match t {
            Test::HasFlag { vars, keys, spec } => {
                let flags: Vec<String> = match vars {
                    None => self.flags.clone(),
                    Some(vs) => {
                        let raw: Vec<String> = vs.iter().map(|v| self.read_var(v)).collect();
                        super::normalize_flags(&raw)
                    }
                };
                // RFC 5232 §5: each key is itself a space-separated list of flags.
                let split: Vec<PStr> = self
                    .eval_list(&keys.list)
                    .iter()
                    .flat_map(|k| {
                        k.split_whitespace().map(|f| PStr::Lit(f.to_owned())).collect::<Vec<_>>()
                    })
                    .collect();
                let keys = Keys { list: split, regexes: None };
                self.match_keys(flags, &keys, spec)
            }
            Test::Body { transform, keys, spec } => {
                let values = self.body_values(transform)?;
                // Pigeonhole's body test leaves the match variables alone.
                let saved = std::mem::take(&mut self.match_values);
                let matched = self.match_keys(values, keys, spec);
                self.match_values = saved;
                matched
            }
            Test::MailboxExists(names) => {
                for n in self.eval_list(names) {
                    if !self.env.mailbox_exists(&n).map_err(|e| self.host_error(e))? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Test::Environment { name, keys, spec } => {
                let n = self.eval(name).to_ascii_lowercase();
                match self.env.environment_item(&n) {
                    Some(v) => self.match_keys(vec![v], keys, spec),
                    None => Ok(false),
                }
            }
            Test::Ihave(b) => Ok(*b),
            Test::Custom(call) => call.test.evaluate(&call.args, self),
            _ => self.test_more(t),
        }
    }

    /// Values of the named headers, honouring `:index n [:last]`.
    pub(crate) fn header_values(
        &mut self,
        names: &[PStr],
        index: Option<(u64, bool)>,
    ) -> Vec<String> {
        let names = self.eval_list(names);
        values_in(self.headers(), &names, index)
    }

    /// Header lists of the parts a `:mime` test looks at.
    fn mime_header_lists(&mut self, opts: &MimeOpts) -> Vec<Vec<HeaderField>> {
        let tree = self.mime_tree();
        let current = self.current_part.unwrap_or(0);
        let end = if opts.anychild { tree.descendants(current).end } else { current + 1 };
        (current..end)
            .map(|i| if i == 0 { self.headers().to_vec() } else { tree.parts[i].headers.clone() })
            .collect()
    }

    fn mime_header_values(
        &mut self,
        names: &[PStr],
        index: Option<(u64, bool)>,
        opts: &MimeOpts,
    ) -> Vec<String> {
        let names = self.eval_list(names);
        let params = match &opts.option {
            MimeOption::Param(p) => self.eval_list(p),
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for list in self.mime_header_lists(opts) {
            for v in values_in(&list, &names, index) {
                if opts.option == MimeOption::None {
                    out.push(v);
                    continue;
                }
                let ct = ContentType::parse_lenient(&v);
                match &opts.option {
                    MimeOption::Type => out.push(ct.main.clone()),
                    MimeOption::Subtype => out.push(ct.sub.clone()),
                    MimeOption::ContentType if ct.sub.is_empty() => out.push(ct.main.clone()),
                    MimeOption::ContentType => out.push(format!("{}/{}", ct.main, ct.sub)),
                    _ => out.extend(params.iter().filter_map(|p| ct.param(p).map(str::to_owned))),
                }
            }
        }
        out
    }

    fn address_values(
        &mut self,
        headers: &[PStr],
        part: AddressPart,
        index: Option<(u64, bool)>,
        mime: Option<&MimeOpts>,
    ) -> Vec<String> {
        let names = self.eval_list(headers);
        let delim = self.env.subaddress_delimiter();
        match mime {
            None => addresses_in(self.headers(), &names, part, index, &delim),
            Some(opts) => self
                .mime_header_lists(opts)
                .iter()
                .flat_map(|l| addresses_in(l, &names, part, index, &delim))
                .collect(),
        }
    }

    fn exists(&mut self, names: &[PStr], mime: Option<&MimeOpts>) -> bool {
        let names = self.eval_list(names);
        let has_all = |list: &[HeaderField]| {
            names.iter().all(|n| list.iter().any(|h| h.name.eq_ignore_ascii_case(n)))
        };
        match mime {
            None => has_all(self.headers()),
            // With :anychild each name may be found in a different part.
            Some(opts) => {
                let lists = self.mime_header_lists(opts);
                names
                    .iter()
                    .all(|n| lists.iter().any(|l| l.iter().any(|h| h.name.eq_ignore_ascii_case(n))))
            }
        }
    }

    fn envelope_values(&mut self, parts: &[PStr], part: AddressPart) -> Vec<String> {
        let names = self.eval_list(parts);
        let delim = self.env.subaddress_delimiter();
        let mut out = Vec::new();
        for n in names {
            let value = match n.to_ascii_lowercase().as_str() {
                "from" => Some(self.envelope().from.clone().unwrap_or_default()),
                "to" => Some(self.envelope().to.clone()),
                "orig_to" => Some(
                    self.envelope().orig_to.clone().unwrap_or_else(|| self.envelope().to.clone()),
                ),
                "auth" => self.envelope().auth.clone(),
                _ => None,
            };
            let Some(value) = value else { continue };
            if value.is_empty() {
                // The null sender is "" for :all, :localpart and :domain (envelope.svtest); an
                // empty recipient is an unparsable one and has no parts at all.
                let null_sender = n.eq_ignore_ascii_case("from");
                if null_sender
                    && matches!(
                        part,
                        AddressPart::All | AddressPart::LocalPart | AddressPart::Domain
                    )
                {
                    out.push(value);
                }
                continue;
            }
            if let Some(v) = address_part(&value, part, &delim) {
                out.push(v);
            }
        }
        out
    }

    fn body_values(&mut self, transform: &BodyTransform) -> Result<Vec<String>, RuntimeError> {
        self.charge(self.message().size() / 1024)?;
        if !self.message().has_body() {
            return Ok(Vec::new());
        }
        let (types, convert) = match transform {
            BodyTransform::Raw => {
                return Ok(vec![String::from_utf8_lossy(self.message().body()).into_owned()]);
            }
            // Pigeonhole's :text: text/plain parts, and text/html converted to text.
            BodyTransform::Text => {
                let types = ["text", "application/xhtml+xml"];
                (types.iter().map(|t| (*t).to_owned()).collect(), true)
            }
            BodyTransform::Content(types) => (self.eval_list(types), false),
        };
        let tree = self.mime_tree();
        self.charge(tree.parts.len() as u64)?;
        Ok(crate::mime::text_parts(self.message().raw(), &tree, &types, convert))
    }

    /// Matches `values` against `keys`; sets match variables on a `:matches`/`:regex` hit.
    pub(crate) fn match_keys(
        &mut self,
        values: Vec<String>,
        keys: &Keys,
        spec: &MatchSpec,
    ) -> Result<bool, RuntimeError> {
        let key_strings = self.eval_list(&keys.list);
        self.charge((values.len() * key_strings.len()) as u64)?;
        match spec.match_type {
            MatchType::Count(rel) => {
                let n = values.len().to_string();
                Ok(key_strings.iter().any(|k| relation_holds(rel, compare(spec.comparator, &n, k))))
            }
            MatchType::Regex => self.match_regex(&values, keys, &key_strings, spec),
            mt => {
                let capture = mt == MatchType::Matches;
                for v in &values {
                    for k in &key_strings {
                        if capture {
                            // Wildcard matching is O(len(value) x len(pattern)): pay for it.
                            self.charge((v.len() as u64).saturating_mul(k.len() as u64) / 16)?;
                        }
                        let mut caps = capture.then(Vec::new);
                        if match_value(mt, spec.comparator, v, k, &mut caps) {
                            if let Some(c) = caps {
                                self.match_values = c;
                            }
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
        }
    }

    fn match_regex(
        &mut self,
        values: &[String],
        keys: &Keys,
        key_strings: &[String],
        spec: &MatchSpec,
    ) -> Result<bool, RuntimeError> {
        let compiled;
        let regexes = match &keys.regexes {
            Some(r) => r,
            None => {
                let mut v = Vec::new();
                for k in key_strings {
                    match compile_regex(k, spec.comparator) {
                        Ok(r) => v.push(r),
                        // Not fatal: the key does not match (regex/errors.svtest).
                        Err(e) => self.env.runtime_error(&format!(
                            "line {}: invalid regular expression '{k}' for regex match: {e}",
                            self.line
                        )),
                    }
                }
                compiled = v;
                &compiled
            }
        };
        for v in values {
            for re in regexes {
                let mut caps = Some(Vec::new());
                if regex_match(re, v, &mut caps) {
                    self.match_values = caps.unwrap_or_default();
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// Decoded values of the fields named in `names`, each name's list cut by `:index`.
fn values_in(headers: &[HeaderField], names: &[String], index: Option<(u64, bool)>) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        out.extend(pick_index(crate::message::header_values(headers, n), index));
    }
    out
}

/// Address parts of the fields named in `names`.
fn addresses_in(
    headers: &[HeaderField],
    names: &[String],
    part: AddressPart,
    index: Option<(u64, bool)>,
    delim: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        let raws: Vec<&[u8]> = headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(n))
            .map(|h| h.value.as_slice())
            .collect();
        for raw in pick_index(raws, index) {
            for a in parse_addresses(raw) {
                if !a.valid && part != AddressPart::All {
                    continue;
                }
                if let Some(v) = address_part(&a.address, part, delim) {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// Applies `:index n [:last]` (1-based) to a list of values.
fn pick_index<T>(mut vals: Vec<T>, index: Option<(u64, bool)>) -> Vec<T> {
    let Some((n, last)) = index else { return vals };
    let Ok(n) = usize::try_from(n) else { return Vec::new() };
    if n == 0 || n > vals.len() {
        return Vec::new();
    }
    let i = if last { vals.len() - n } else { n - 1 };
    vec![vals.swap_remove(i)]
}

/// Extracts an address part; `None` when the part does not exist (e.g. no detail).
fn address_part(addr: &str, part: AddressPart, delim: &str) -> Option<String> {
    match part {
        AddressPart::All => Some(addr.to_owned()),
        AddressPart::LocalPart => Some(local_part(addr).to_owned()),
        AddressPart::Domain => domain(addr).map(str::to_owned),
        AddressPart::User => Some(user_part(addr, delim).to_owned()),
        AddressPart::Detail => detail_part(addr, delim).map(str::to_owned),
    }
}
