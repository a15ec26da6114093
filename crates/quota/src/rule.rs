//! Quota rules: `quota_rule = <mailbox mask>:<limits>` and the size syntax shared with
//! `quota_grace`, `quota_warning` and `quota_max_mail_size`.
//!
//! Mirrors the rule language of dovecot/core@2.3.19.1 src/plugins/quota/quota-util.c as
//! described in `spec/quota.md` §2: `*` is the forced default rule, `?` the default rule
//! that limits stored by the backend (line 1 of `maildirsize`) override, any other mask is a
//! mailbox rule *relative* to the default (`Trash:storage=+10%`), `ignore` excludes a
//! mailbox, `backend=` carries a Maildir++ limit string.

/// A limit as written in a rule: absolute, or a percentage of the default rule's limit.
///
/// Mailbox rules are deltas added to the default rule, so both variants are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitValue {
    /// Bytes or messages (signed for relative rules).
    Absolute(i64),
    /// Percent of the default rule's limit of the same kind (signed for relative rules).
    Percent(i64),
}

impl LimitValue {
    /// The value in bytes or messages, with percentages taken of `base` (the default rule's
    /// limit). Saturates instead of overflowing.
    pub fn resolve(self, base: u64) -> i64 {
        match self {
            LimitValue::Absolute(n) => n,
            LimitValue::Percent(p) => {
                let v = i128::from(base) * i128::from(p) / 100;
                i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
            }
        }
    }
}

/// A pair of limits in Dovecot's convention: `0` means unlimited.
///
/// This is what a default rule, `maildirsize` line 1 and a `backend=` rule all reduce to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Storage limit in bytes, 0 = unlimited.
    pub bytes: u64,
    /// Message count limit, 0 = unlimited.
    pub count: u64,
}

impl Limits {
    /// True when neither limit is set.
    pub fn is_unlimited(self) -> bool {
        self.bytes == 0 && self.count == 0
    }

    /// Parses a Maildir++ limit string (`300S,10C`, `1073741824S`, `500C`, `0S`, `NOQUOTA`).
    ///
    /// Returns `None` for anything else (an unknown part makes the whole string invalid,
    /// as Dovecot treats it).
    pub fn parse_maildirpp(s: &str) -> Option<Limits> {
        if s == "NOQUOTA" {
            return Some(Limits::default());
        }
        let mut limits = Limits::default();
        for part in s.split(',') {
            let (num, kind) = part.split_at(part.len().checked_sub(1)?);
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u64 = num.parse().ok()?;
            match kind {
                "S" => limits.bytes = n,
                "C" => limits.count = n,
                _ => return None,
            }
        }
        Some(limits)
    }

    /// Formats the limits as Dovecot writes `maildirsize` line 1: `<bytes>S` when the byte
    /// limit is set or both are unlimited, then `<count>C` when the count limit is set.
    pub fn to_maildirpp(self) -> String {
        let mut out = String::new();
        if self.bytes != 0 || self.count == 0 {
            out.push_str(&format!("{}S", self.bytes));
        }
        if self.count != 0 {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&format!("{}C", self.count));
        }
        out
    }
}

/// The limits one rule line sets; `None` = this rule line does not touch that limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuleLimits {
    /// `storage=` / `bytes=` (bytes).
    pub bytes: Option<LimitValue>,
    /// `messages=`.
    pub count: Option<LimitValue>,
}

/// What a mailbox rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// Adjust the default limits while saving into matching mailboxes.
    Relative(RuleLimits),
    /// `ignore`: matching mailboxes are neither counted nor checked.
    Ignore,
}

/// One mailbox rule (`Trash:storage=+100M`, `Spam:ignore`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxRule {
    /// Mailbox mask with `*`/`?` wildcards; `INBOX` is stored upper-case.
    pub mask: String,
    /// The rule's effect.
    pub action: RuleAction,
}

/// The effective limits of one mailbox of one root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxLimits {
    /// The mailbox is `ignore`d: no counting, no checks.
    Ignored,
    /// Limits in force; `None` = unlimited, `Some(0)` = no space at all (a `-` rule can
    /// lower a limit to nothing).
    Limited {
        /// Storage limit in bytes.
        bytes: Option<u64>,
        /// Message count limit.
        count: Option<u64>,
    },
}

/// All rules of one quota root, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSet {
    /// The default rule (`*` or `?`), absolute values only.
    pub default: Limits,
    /// True when a `*` rule exists: its limits override the backend's (maildirsize line 1).
    pub default_forced: bool,
    /// True when the default rule is `*:ignore` / `?:ignore` (nothing counted or checked).
    pub default_ignored: bool,
    /// Mailbox rules, first match wins.
    pub mailbox_rules: Vec<MailboxRule>,
}

/// Parses `[+|-]<n>[B|K|M|G|T|%|%%]`; `default_unit` multiplies a number without a unit.
///
/// `%%` is accepted as `%` because plugin values may reach us before %-expansion.
pub fn parse_limit_value(s: &str, default_unit: u64) -> Result<LimitValue, String> {
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1i64, &s[1..]),
        Some(b'-') => (-1i64, &s[1..]),
        _ => (1i64, s),
    };
    let digits_end = rest.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(rest.len());
    if digits_end == 0 {
        return Err(format!("{s:?} is not a number"));
    }
    let n: i64 = rest[..digits_end].parse().map_err(|_| format!("{s:?} is too large"))?;
    let unit = &rest[digits_end..];
    if unit == "%" || unit == "%%" {
        return Ok(LimitValue::Percent(sign * n));
    }
    let multiplier = match unit.to_ascii_uppercase().as_str() {
        "" => default_unit,
        "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}")),
    };
    let v = i64::try_from(multiplier)
        .ok()
        .and_then(|m| n.checked_mul(m))
        .ok_or_else(|| format!("{s:?} is too large"))?;
    Ok(LimitValue::Absolute(sign * v))
}

/// Parses a non-negative absolute size with units (default bytes), e.g. `quota_max_mail_size`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    match parse_limit_value(s.trim(), 1)? {
        LimitValue::Absolute(n) if n >= 0 && !s.trim().starts_with(['+', '-']) => Ok(n as u64),
        _ => Err(format!("{s:?} is not a size")),
    }
}

/// Parses the limit list of a rule (`storage=1G:messages=100`); `:` or spaces separate items.
pub fn parse_rule_limits(s: &str) -> Result<RuleLimits, String> {
    let mut limits = RuleLimits::default();
    let mut any = false;
    for item in s.split([':', ' ']).filter(|i| !i.is_empty()) {
        any = true;
        let (name, value) =
            item.split_once('=').ok_or_else(|| format!("invalid limit {item:?}"))?;
        match name {
            "storage" => limits.bytes = Some(parse_limit_value(value, 1024)?),
            "bytes" => limits.bytes = Some(parse_limit_value(value, 1)?),
            "messages" => limits.count = Some(parse_limit_value(value, 1)?),
            _ => return Err(format!("unknown rule limit name {name:?}")),
        }
    }
    if !any {
        return Err("no limits given".to_owned());
    }
    Ok(limits)
}

impl RuleSet {
    /// Adds one `quota_rule*` line. `backend_rules` says whether `backend=` is understood
    /// (the maildir backend only). Non-fatal remarks (deprecated unsigned relative limits)
    /// are pushed to `notes` for the caller to log. Errors are plain reasons; the settings
    /// reader wraps them with the setting name.
    pub fn add(
        &mut self,
        line: &str,
        backend_rules: bool,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        let (mask, rest) = line.split_once(':').ok_or("invalid rule (no ':')")?;
        let is_default = mask == "*" || mask == "?";
        if mask.is_empty() {
            return Err("empty mailbox mask".to_owned());
        }
        if mask == "*" {
            self.default_forced = true;
        }
        if rest == "ignore" {
            if is_default {
                self.default_ignored = true;
            } else {
                self.mailbox_rule(mask).action = RuleAction::Ignore;
            }
            return Ok(());
        }
        let limits = if let Some(backend) = rest.strip_prefix("backend=") {
            if !backend_rules {
                return Err("backend= rules are only supported by the maildir backend".to_owned());
            }
            let l = Limits::parse_maildirpp(backend)
                .ok_or_else(|| format!("invalid Maildir++ limit string {backend:?}"))?;
            absolute_rule_limits(l)
        } else {
            parse_rule_limits(rest)?
        };
        if is_default {
            if signed_values(rest) {
                return Err("the default rule cannot use + or -".to_owned());
            }
            self.set_default(limits)
        } else {
            warn_unsigned(mask, rest, notes);
            let rule = self.mailbox_rule(mask);
            let merged = match rule.action {
                RuleAction::Relative(old) => RuleLimits {
                    bytes: limits.bytes.or(old.bytes),
                    count: limits.count.or(old.count),
                },
                RuleAction::Ignore => limits,
            };
            rule.action = RuleAction::Relative(merged);
            Ok(())
        }
    }

    fn set_default(&mut self, limits: RuleLimits) -> Result<(), String> {
        let absolute = |v: LimitValue| match v {
            LimitValue::Absolute(n) if n >= 0 => Ok(n as u64),
            LimitValue::Absolute(_) => Err("the default rule cannot be negative".to_owned()),
            LimitValue::Percent(_) => Err("the default rule cannot be a percentage".to_owned()),
        };
        if let Some(b) = limits.bytes {
            self.default.bytes = absolute(b)?;
        }
        if let Some(c) = limits.count {
            self.default.count = absolute(c)?;
        }
        Ok(())
    }

    /// The rule with exactly this mask, created at the end of the list if missing.
    fn mailbox_rule(&mut self, mask: &str) -> &mut MailboxRule {
        let mask = normalize_inbox(mask);
        let idx = match self.mailbox_rules.iter().position(|r| r.mask == mask) {
            Some(i) => i,
            None => {
                self.mailbox_rules.push(MailboxRule {
                    mask: mask.to_owned(),
                    action: RuleAction::Relative(RuleLimits::default()),
                });
                self.mailbox_rules.len() - 1
            }
        };
        &mut self.mailbox_rules[idx]
    }

    /// The default limits in force: the configured ones when forced (`*`) or when the
    /// backend has none, else the backend's (`maildirsize` line 1 under a `?` rule).
    pub fn effective_default(&self, backend: Option<Limits>) -> Limits {
        match backend {
            Some(b) if !self.default_forced => b,
            _ => self.default,
        }
    }

    /// The first mailbox rule matching `mailbox` (vname; `inbox` in any case is INBOX).
    pub fn find(&self, mailbox: &str) -> Option<&MailboxRule> {
        let name = normalize_inbox(mailbox);
        self.mailbox_rules.iter().find(|r| wildcard_match(name, &r.mask))
    }

    /// True when `mailbox` is not counted (an `ignore` rule, or `*:ignore`).
    pub fn is_ignored(&self, mailbox: &str) -> bool {
        self.default_ignored
            || matches!(self.find(mailbox), Some(MailboxRule { action: RuleAction::Ignore, .. }))
    }

    /// The limits for saving into `mailbox`, given the effective default limits.
    ///
    /// As in Dovecot, an unlimited default stays unlimited whatever the mailbox rule says.
    pub fn mailbox_limits(&self, mailbox: &str, default: Limits) -> MailboxLimits {
        if self.default_ignored {
            return MailboxLimits::Ignored;
        }
        let rule = match self.find(mailbox).map(|r| &r.action) {
            Some(RuleAction::Ignore) => return MailboxLimits::Ignored,
            Some(RuleAction::Relative(l)) => *l,
            None => RuleLimits::default(),
        };
        let apply = |base: u64, delta: Option<LimitValue>| -> Option<u64> {
            if base == 0 {
                return None;
            }
            let d = delta.map_or(0, |v| v.resolve(base));
            let v = i128::from(base) + i128::from(d);
            Some(u64::try_from(v.max(0)).unwrap_or(u64::MAX))
        };
        MailboxLimits::Limited {
            bytes: apply(default.bytes, rule.bytes),
            count: apply(default.count, rule.count),
        }
    }
}

fn absolute_rule_limits(l: Limits) -> RuleLimits {
    let abs = |n: u64| Some(LimitValue::Absolute(i64::try_from(n).unwrap_or(i64::MAX)));
    RuleLimits { bytes: abs(l.bytes), count: abs(l.count) }
}

/// True when any `name=value` item of a limit list has a `+`/`-` sign.
fn signed_values(rest: &str) -> bool {
    rest.split([':', ' '])
        .filter_map(|i| i.split_once('=').map(|(_, v)| v))
        .any(|v| v.starts_with(['+', '-']))
}

/// Dovecot logs a deprecation warning for a relative rule written without `+`/`-`.
fn warn_unsigned(mask: &str, rest: &str, notes: &mut Vec<String>) {
    let unsigned = rest
        .split([':', ' '])
        .filter_map(|i| i.split_once('=').map(|(_, v)| v))
        .any(|v| !v.starts_with(['+', '-']) && v != "0");
    if unsigned {
        notes.push(format!(
            "quota rule {mask}:{rest}: relative limit without + or - is deprecated (treated as +)"
        ));
    }
}

fn normalize_inbox(name: &str) -> &str {
    if name.eq_ignore_ascii_case("INBOX") { "INBOX" } else { name }
}

/// Wildcard match with `*` (any run, also empty) and `?` (exactly one character).
pub fn wildcard_match(name: &str, mask: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let m: Vec<char> = mask.chars().collect();
    let (mut ni, mut mi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if mi < m.len() && (m[mi] == '?' || m[mi] == n[ni]) {
            ni += 1;
            mi += 1;
        } else if mi < m.len() && m[mi] == '*' {
            star = Some((mi, ni));
            mi += 1;
        } else if let Some((smi, sni)) = star {
            mi = smi + 1;
            ni = sni + 1;
            star = Some((smi, sni + 1));
        } else {
            return false;
        }
    }
    m[mi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lines: &[&str]) -> RuleSet {
        let mut r = RuleSet::default();
        let mut notes = Vec::new();
        for l in lines {
            r.add(l, true, &mut notes).unwrap();
        }
        r
    }

    #[test]
    fn limit_values_and_units() {
        assert_eq!(parse_limit_value("1G", 1024), Ok(LimitValue::Absolute(1 << 30)));
        assert_eq!(
            parse_limit_value("10", 1024),
            Ok(LimitValue::Absolute(10240)),
            "storage default KiB"
        );
        assert_eq!(parse_limit_value("10", 1), Ok(LimitValue::Absolute(10)));
        assert_eq!(parse_limit_value("300B", 1024), Ok(LimitValue::Absolute(300)));
        assert_eq!(parse_limit_value("2k", 1), Ok(LimitValue::Absolute(2048)));
        assert_eq!(parse_limit_value("3M", 1), Ok(LimitValue::Absolute(3 << 20)));
        assert_eq!(parse_limit_value("1T", 1), Ok(LimitValue::Absolute(1 << 40)));
        assert_eq!(parse_limit_value("+100M", 1024), Ok(LimitValue::Absolute(100 << 20)));
        assert_eq!(parse_limit_value("-5", 1), Ok(LimitValue::Absolute(-5)));
        assert_eq!(parse_limit_value("+10%%", 1024), Ok(LimitValue::Percent(10)));
        assert_eq!(parse_limit_value("95%", 1024), Ok(LimitValue::Percent(95)));
        assert!(parse_limit_value("", 1).is_err());
        assert!(parse_limit_value("x", 1).is_err());
        assert!(parse_limit_value("5X", 1).is_err());
        assert!(parse_limit_value("99999999999999999999", 1).is_err());
        assert!(parse_limit_value("9999999999T", 1).is_err(), "overflow");
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert!(parse_size("-1").is_err());
        assert!(parse_size("5%").is_err());
    }

    #[test]
    fn default_rules_forced_and_not() {
        let r = set(&["*:storage=1G:messages=10000"]);
        assert_eq!(r.default, Limits { bytes: 1 << 30, count: 10000 });
        assert!(r.default_forced);
        let r = set(&["?:storage=500M"]);
        assert!(!r.default_forced);
        assert_eq!(r.default.bytes, 500 << 20);
        // Backend limits win only over a non-forced default.
        let backend = Some(Limits { bytes: 7, count: 0 });
        assert_eq!(r.effective_default(backend), Limits { bytes: 7, count: 0 });
        assert_eq!(set(&["*:bytes=9"]).effective_default(backend).bytes, 9);
        assert_eq!(RuleSet::default().effective_default(backend).bytes, 7);
        // A later line with the same mask modifies the rule.
        let r = set(&["*:storage=1M", "*:messages=5"]);
        assert_eq!(r.default, Limits { bytes: 1 << 20, count: 5 });
    }

    #[test]
    fn default_rule_rejects_relative_forms() {
        let mut r = RuleSet::default();
        let mut n = Vec::new();
        assert!(r.add("*:storage=10%", true, &mut n).is_err());
        assert!(r.add("*:storage=-10", true, &mut n).is_err());
        assert!(r.add("storage=1G", true, &mut n).is_err(), "no mask");
        assert!(r.add("*:size=1G", true, &mut n).is_err());
        assert!(r.add("*:", true, &mut n).is_err());
        assert!(r.add("*:backend=1000S", false, &mut n).is_err(), "count backend");
        assert!(r.add("*:backend=junk", true, &mut n).is_err());
        assert!(r.add("*:storage=+1G", true, &mut n).is_err(), "default rule cannot be relative");
        assert!(r.add("?:messages=-1", true, &mut n).is_err());
        assert_eq!(r.default, Limits::default(), "failed lines change nothing");
    }

    #[test]
    fn backend_rule_and_maildirpp_strings() {
        let r = set(&["*:backend=1000000S,1000C"]);
        assert_eq!(r.default, Limits { bytes: 1_000_000, count: 1000 });
        assert_eq!(set(&["*:backend=NOQUOTA"]).default, Limits::default());
        for (s, l) in [
            ("300S,10C", Limits { bytes: 300, count: 10 }),
            ("1073741824S", Limits { bytes: 1 << 30, count: 0 }),
            ("0S", Limits::default()),
            ("500C", Limits { bytes: 0, count: 500 }),
        ] {
            assert_eq!(Limits::parse_maildirpp(s), Some(l), "{s}");
            assert_eq!(l.to_maildirpp(), s, "{s}");
        }
        for bad in ["", "S", "10X", "10S,", "-1S", "10S,5D"] {
            assert_eq!(Limits::parse_maildirpp(bad), None, "{bad}");
        }
    }

    #[test]
    fn mailbox_rules_relative_and_ignore() {
        let r = set(&[
            "*:storage=100M:messages=1000",
            "Trash:storage=+10%%",
            "Sent:storage=-50M:messages=+10",
            "Spam:ignore",
            "Arch*:storage=+1G",
        ]);
        let d = r.effective_default(None);
        let lim = |m: &str| r.mailbox_limits(m, d);
        assert_eq!(
            lim("INBOX"),
            MailboxLimits::Limited { bytes: Some(100 << 20), count: Some(1000) }
        );
        assert_eq!(
            lim("Trash"),
            MailboxLimits::Limited { bytes: Some(110 << 20), count: Some(1000) }
        );
        assert_eq!(
            lim("Sent"),
            MailboxLimits::Limited { bytes: Some(50 << 20), count: Some(1010) }
        );
        assert_eq!(lim("Spam"), MailboxLimits::Ignored);
        assert!(r.is_ignored("Spam") && !r.is_ignored("Trash"));
        assert_eq!(
            lim("Archive.2020"),
            MailboxLimits::Limited { bytes: Some((100 << 20) + (1 << 30)), count: Some(1000) }
        );
        assert_eq!(lim("trash"), lim("INBOX"), "non-INBOX names are case-sensitive");
    }

    #[test]
    fn lowering_below_zero_leaves_no_room_and_unlimited_stays_unlimited() {
        let r = set(&["*:storage=1M", "Small:storage=-2M"]);
        let d = r.effective_default(None);
        assert_eq!(
            r.mailbox_limits("Small", d),
            MailboxLimits::Limited { bytes: Some(0), count: None }
        );
        let r = set(&["*:messages=10", "Big:storage=+1G"]);
        let d = r.effective_default(None);
        assert_eq!(
            r.mailbox_limits("Big", d),
            MailboxLimits::Limited { bytes: None, count: Some(10) }
        );
    }

    #[test]
    fn unsigned_relative_rule_is_deprecated_but_additive() {
        let mut r = RuleSet::default();
        let mut notes = Vec::new();
        r.add("*:storage=1M", true, &mut notes).unwrap();
        r.add("Trash:storage=1M", true, &mut notes).unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        let d = r.effective_default(None);
        assert_eq!(
            r.mailbox_limits("Trash", d),
            MailboxLimits::Limited { bytes: Some(2 << 20), count: None }
        );
        r.add("INBOX:messages=+1", true, &mut notes).unwrap();
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn inbox_mask_is_case_insensitive_and_first_match_wins() {
        let r = set(&["*:storage=1M", "inbox:storage=+1M", "*:messages=3", "I*:storage=+5M"]);
        let d = r.effective_default(None);
        assert_eq!(
            r.mailbox_limits("Inbox", d),
            MailboxLimits::Limited { bytes: Some(2 << 20), count: Some(3) }
        );
        assert_eq!(
            r.mailbox_limits("Ideas", d),
            MailboxLimits::Limited { bytes: Some(6 << 20), count: Some(3) }
        );
        assert_eq!(
            set(&["*:ignore"]).mailbox_limits("INBOX", Limits::default()),
            MailboxLimits::Ignored
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("abc", "a*"));
        assert!(wildcard_match("abc", "*c"));
        assert!(wildcard_match("abc", "a?c"));
        assert!(wildcard_match("a.b.c", "a*c"));
        assert!(wildcard_match("", "*"));
        assert!(!wildcard_match("abc", "a?"));
        assert!(!wildcard_match("abc", "b*"));
        assert!(wildcard_match("aXbXc", "*X*c"));
    }
}
