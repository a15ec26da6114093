//! Reading the quota plugin's settings from the `plugin { }` map (userdb fields merged in).
//!
//! Mirrors the setting names of dovecot/core@2.3.19.1 src/plugins/quota/quota.c
//! (`quota`, `quota2`…, `<root>_rule*`, `<root>_warning*`, `<root>_grace`,
//! `quota_max_mail_size`, `quota_exceeded_message`, `quota_vsizes`), `spec/quota.md` §1.
//! Numbered settings are read while contiguous: `quota_rule3` is ignored without
//! `quota_rule2`, and an empty value ends the list, as in Dovecot.

use std::collections::BTreeMap;

use crate::error::QuotaError;
use crate::rule::{LimitValue, Limits, RuleSet, parse_limit_value, parse_size};
use crate::warning::WarningRule;

/// Dovecot's default `quota_exceeded_message`.
pub const DEFAULT_EXCEEDED_MESSAGE: &str = "Quota exceeded (mailbox for user is full)";

/// Quota backends letterbox implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Maildir++ `maildirsize` file in the Maildir root.
    Maildir,
    /// Usage counted from the mailboxes themselves (virtual sizes); nothing written.
    Count,
}

/// One quota root (`quota = maildir:User quota:noenforcing`) with its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSettings {
    /// The setting that defined the root: `quota`, `quota2`, … (prefix of its other keys).
    pub setting: String,
    /// Backend.
    pub backend: BackendKind,
    /// Root name (`User quota`); the backend name when not given.
    pub name: String,
    /// `noenforcing`: track usage, never refuse.
    pub noenforcing: bool,
    /// `ignoreunlimited`: no tracking when the user has no limit.
    pub ignoreunlimited: bool,
    /// `hidden`: not shown to IMAP (kept for completeness).
    pub hidden: bool,
    /// `ns=<prefix>`: the root applies only to that namespace.
    pub ns: Option<String>,
    /// `<root>_rule*`.
    pub rules: RuleSet,
    /// `<root>_grace` (bytes or percent of the default storage limit), default 10 %.
    pub grace: LimitValue,
    /// `<root>_warning*`, in order, with the setting name of each.
    pub warnings: Vec<(String, WarningRule)>,
}

impl RootSettings {
    /// The grace in bytes for the given effective default limits.
    pub fn grace_bytes(&self, default: Limits) -> u64 {
        u64::try_from(self.grace.resolve(default.bytes)).unwrap_or(0)
    }

    /// True when the root covers `mailbox` (vname): always, unless `ns=` names another
    /// namespace prefix. `INBOX` belongs to a namespace whose prefix is `INBOX<sep>`.
    pub fn applies_to(&self, mailbox: &str) -> bool {
        match self.ns.as_deref() {
            None | Some("") => true,
            Some(prefix) => {
                mailbox.starts_with(prefix)
                    || (mailbox.eq_ignore_ascii_case("INBOX")
                        && prefix.len() == 6
                        && prefix[..5].eq_ignore_ascii_case("INBOX"))
            }
        }
    }
}

/// Everything the quota plugin reads for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaSettings {
    /// Quota roots in order (`quota`, `quota2`, …).
    pub roots: Vec<RootSettings>,
    /// `quota_max_mail_size` in bytes, 0 = none.
    pub max_mail_size: u64,
    /// `quota_exceeded_message`, or Dovecot's default text.
    pub exceeded_message: String,
    /// `quota_vsizes = yes`: count virtual sizes (CRLF) instead of physical ones.
    pub vsizes: bool,
    /// Non-fatal remarks for the log (deprecated rule forms).
    pub notes: Vec<String>,
}

/// Values of `base`, `base2`, `base3`, … while present and non-empty, with their keys.
fn numbered<'a>(map: &'a BTreeMap<String, String>, base: &str) -> Vec<(String, &'a str)> {
    let mut out = Vec::new();
    let mut key = base.to_owned();
    let mut i = 1;
    while let Some(v) = map.get(&key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        out.push((key, v));
        i += 1;
        key = format!("{base}{i}");
    }
    out
}

fn parse_bool(setting: &str, value: &str) -> Result<bool, QuotaError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "1" | "true" => Ok(true),
        "no" | "n" | "0" | "false" | "" => Ok(false),
        _ => Err(QuotaError::setting(setting, value, "expected yes or no")),
    }
}

impl QuotaSettings {
    /// Reads the quota settings from a `plugin { }` map; `None` when no quota root and no
    /// `quota_max_mail_size` is configured (the plugin then does nothing).
    pub fn from_plugin(
        map: &BTreeMap<String, String>,
    ) -> Result<Option<QuotaSettings>, QuotaError> {
        let get = |k: &str| map.get(k).map(String::as_str);
        let vsizes = parse_bool("quota_vsizes", get("quota_vsizes").unwrap_or("no"))?;
        let max_mail_size = match get("quota_max_mail_size").map(str::trim) {
            None | Some("") => 0,
            Some(v) => {
                parse_size(v).map_err(|r| QuotaError::setting("quota_max_mail_size", v, r))?
            }
        };
        let exceeded_message = get("quota_exceeded_message")
            .filter(|m| !m.is_empty())
            .unwrap_or(DEFAULT_EXCEEDED_MESSAGE)
            .to_owned();
        let mut notes = Vec::new();
        let mut roots = Vec::new();
        for (setting, value) in numbered(map, "quota") {
            roots.push(read_root(map, &setting, value, vsizes, &mut notes)?);
        }
        if roots.is_empty() && max_mail_size == 0 {
            return Ok(None);
        }
        Ok(Some(QuotaSettings { roots, max_mail_size, exceeded_message, vsizes, notes }))
    }
}

fn read_root(
    map: &BTreeMap<String, String>,
    setting: &str,
    value: &str,
    vsizes: bool,
    notes: &mut Vec<String>,
) -> Result<RootSettings, QuotaError> {
    let mut parts = value.splitn(3, ':');
    let backend_name = parts.next().unwrap_or_default();
    let backend = match backend_name {
        "maildir" => BackendKind::Maildir,
        "count" => BackendKind::Count,
        other => {
            return Err(QuotaError::UnsupportedBackend {
                setting: setting.to_owned(),
                backend: other.to_owned(),
            });
        }
    };
    if backend == BackendKind::Count && !vsizes {
        return Err(QuotaError::setting(
            setting,
            value,
            "quota count backend requires quota_vsizes=yes",
        ));
    }
    let name = parts.next().filter(|n| !n.is_empty()).unwrap_or(backend_name).to_owned();
    let mut root = RootSettings {
        setting: setting.to_owned(),
        backend,
        name,
        noenforcing: false,
        ignoreunlimited: false,
        hidden: false,
        ns: None,
        rules: RuleSet::default(),
        grace: LimitValue::Percent(10),
        warnings: Vec::new(),
    };
    for arg in parts.next().unwrap_or_default().split(':').filter(|a| !a.is_empty()) {
        match arg {
            "noenforcing" => root.noenforcing = true,
            "ignoreunlimited" => root.ignoreunlimited = true,
            "hidden" => root.hidden = true,
            _ if arg.starts_with("ns=") => root.ns = Some(arg[3..].to_owned()),
            _ => {
                return Err(QuotaError::setting(
                    setting,
                    value,
                    format!("unknown parameter {arg:?}"),
                ));
            }
        }
    }
    let backend_rules = backend == BackendKind::Maildir;
    for (key, line) in numbered(map, &format!("{setting}_rule")) {
        root.rules
            .add(line, backend_rules, notes)
            .map_err(|r| QuotaError::setting(&key, line, r))?;
    }
    let grace_key = format!("{setting}_grace");
    if let Some(g) = map.get(&grace_key).map(|g| g.trim()).filter(|g| !g.is_empty()) {
        root.grace = match parse_limit_value(g, 1) {
            Ok(v) if !g.starts_with(['+', '-']) => v,
            Ok(_) => return Err(QuotaError::setting(&grace_key, g, "grace cannot be signed")),
            Err(r) => return Err(QuotaError::setting(&grace_key, g, r)),
        };
    }
    for (key, line) in numbered(map, &format!("{setting}_warning")) {
        let rule = WarningRule::parse(line).map_err(|r| QuotaError::setting(&key, line, r))?;
        root.warnings.push((key, rule));
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Limits;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn err_setting(m: &BTreeMap<String, String>) -> String {
        match QuotaSettings::from_plugin(m) {
            Err(QuotaError::InvalidSetting { setting, .. }) => setting,
            Err(QuotaError::UnsupportedBackend { setting, .. }) => setting,
            other => panic!("expected a setting error, got {other:?}"),
        }
    }

    #[test]
    fn no_quota_configured() {
        assert_eq!(QuotaSettings::from_plugin(&map(&[("sieve", "x")])).unwrap(), None);
        assert_eq!(QuotaSettings::from_plugin(&map(&[("quota", "")])).unwrap(), None);
        let only_max =
            QuotaSettings::from_plugin(&map(&[("quota_max_mail_size", "10M")])).unwrap().unwrap();
        assert!(only_max.roots.is_empty());
        assert_eq!(only_max.max_mail_size, 10 << 20);
    }

    #[test]
    fn full_root() {
        let m = map(&[
            ("quota", "maildir:User quota:noenforcing:ns=INBOX.:hidden"),
            ("quota_rule", "*:storage=1G"),
            ("quota_rule2", "Trash:storage=+100M"),
            ("quota_rule4", "Spam:ignore"), // not contiguous: ignored
            ("quota_grace", "10M"),
            ("quota_warning", "storage=95%% quota-warning 95 bob"),
            ("quota_warning2", "-storage=100%% quota-ok bob"),
            ("quota_exceeded_message", "Sorry, mailbox full (bob)"),
        ]);
        let s = QuotaSettings::from_plugin(&m).unwrap().unwrap();
        assert_eq!(s.roots.len(), 1);
        let r = &s.roots[0];
        assert_eq!(
            (r.backend, r.name.as_str(), r.setting.as_str()),
            (BackendKind::Maildir, "User quota", "quota")
        );
        assert!(r.noenforcing && r.hidden && !r.ignoreunlimited);
        assert_eq!(r.ns.as_deref(), Some("INBOX."));
        assert_eq!(r.rules.default, Limits { bytes: 1 << 30, count: 0 });
        assert_eq!(r.rules.mailbox_rules.len(), 1);
        assert!(!r.rules.is_ignored("Spam"));
        assert_eq!(r.grace, LimitValue::Absolute(10 << 20));
        assert_eq!(r.warnings.len(), 2);
        assert_eq!(r.warnings[1].0, "quota_warning2");
        assert!(r.warnings[1].1.reverse);
        assert_eq!(s.exceeded_message, "Sorry, mailbox full (bob)");
        assert!(r.applies_to("INBOX") && r.applies_to("INBOX.Trash") && !r.applies_to("Other"));
    }

    #[test]
    fn defaults() {
        let s = QuotaSettings::from_plugin(&map(&[("quota", "maildir")])).unwrap().unwrap();
        assert_eq!(s.exceeded_message, DEFAULT_EXCEEDED_MESSAGE);
        assert_eq!(s.roots[0].name, "maildir");
        assert_eq!(s.roots[0].grace, LimitValue::Percent(10));
        assert_eq!(s.roots[0].grace_bytes(Limits { bytes: 1000, count: 0 }), 100);
        assert_eq!(s.max_mail_size, 0);
        assert!(!s.vsizes);
    }

    #[test]
    fn second_root_uses_its_own_keys() {
        let m = map(&[
            ("quota", "maildir:A"),
            ("quota_rule", "*:storage=1M"),
            ("quota2", "count:B"),
            ("quota2_rule", "*:messages=5"),
            ("quota2_rule2", "Trash:ignore"),
            ("quota2_grace", "0"),
            ("quota_vsizes", "yes"),
        ]);
        let s = QuotaSettings::from_plugin(&m).unwrap().unwrap();
        assert_eq!(s.roots.len(), 2);
        assert_eq!(s.roots[1].backend, BackendKind::Count);
        assert_eq!(s.roots[1].rules.default, Limits { bytes: 0, count: 5 });
        assert!(s.roots[1].rules.is_ignored("Trash") && !s.roots[0].rules.is_ignored("Trash"));
        assert_eq!(s.roots[1].grace, LimitValue::Absolute(0));
        assert_eq!(s.roots[0].grace, LimitValue::Percent(10));
        // quota3 without quota2 is not read.
        let m = map(&[("quota", "maildir"), ("quota3", "dict:x")]);
        assert_eq!(QuotaSettings::from_plugin(&m).unwrap().unwrap().roots.len(), 1);
    }

    #[test]
    fn errors_name_the_setting() {
        assert_eq!(err_setting(&map(&[("quota", "dict:x:proxy::quota")])), "quota");
        assert_eq!(err_setting(&map(&[("quota", "count:x")])), "quota", "count needs vsizes");
        assert_eq!(err_setting(&map(&[("quota", "maildir:x:bogus")])), "quota");
        let m =
            map(&[("quota", "maildir"), ("quota_rule", "*:storage=1G"), ("quota_rule2", "Trash")]);
        assert_eq!(err_setting(&m), "quota_rule2");
        let m = map(&[("quota", "maildir"), ("quota2", "maildir"), ("quota2_rule", "*:storage=x")]);
        assert_eq!(err_setting(&m), "quota2_rule");
        assert_eq!(
            err_setting(&map(&[("quota", "maildir"), ("quota_grace", "+5")])),
            "quota_grace"
        );
        assert_eq!(
            err_setting(&map(&[("quota", "maildir"), ("quota_grace", "5Q")])),
            "quota_grace"
        );
        assert_eq!(
            err_setting(&map(&[("quota", "maildir"), ("quota_warning", "storage=5%")])),
            "quota_warning"
        );
        assert_eq!(err_setting(&map(&[("quota_max_mail_size", "big")])), "quota_max_mail_size");
        assert_eq!(
            err_setting(&map(&[("quota", "maildir"), ("quota_vsizes", "maybe")])),
            "quota_vsizes"
        );
        let e =
            QuotaSettings::from_plugin(&map(&[("quota", "maildir"), ("quota_rule", "*:foo=1")]))
                .unwrap_err();
        assert!(e.to_string().contains("quota_rule") && e.to_string().contains("*:foo=1"), "{e}");
    }
}
