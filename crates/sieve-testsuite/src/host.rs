//! The state of one test case (spec sieve-testsuite.md §1.2): settings, mail store, captured
//! outgoing mail, captured errors, the compiled-sub-script slot and the test counters. It is
//! also the [`ScriptEnvironment`] every script of the test case runs with.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sieve::{
    CompileOptions, Envelope, ExtensionConfig, HostError, IncludeLocation, Limits, MessageView,
    Script, ScriptEnvironment,
};

use crate::store::MailStore;

/// The message every test case starts with (spec §1.2).
pub const INITIAL_MESSAGE: &str =
    "From: sender@example.com\nTo: recipient@example.org\nSubject: Frop!\n\nFriep!\n";

/// The user the mail store belongs to.
pub const MAIL_USER: &str = "testsuite-mail-user@example.org";

/// Reason of a `RuntimeError` that stands for "the current test block failed" (`test_fail` and
/// the commands that fail a block): the `test` command catches it and goes on after the block.
pub const TEST_FAILED: &str = "\u{0}testsuite: test failed";

/// One captured outgoing message (spec §5.1).
#[derive(Debug, Clone)]
pub struct SmtpEntry {
    /// Envelope sender (`None` = null path).
    pub from: Option<String>,
    /// Envelope recipient.
    pub to: String,
    /// The message.
    pub message: Vec<u8>,
}

/// Everything a test case owns.
pub struct Host {
    /// Directory of the test case with trailing slash (`./` when none).
    pub dir: String,
    /// The private settings table (`test_config_*`).
    pub settings: BTreeMap<String, String>,
    /// Extension set and settings as last (re)loaded.
    pub extensions: ExtensionConfig,
    /// Limits as last (re)loaded.
    pub limits: Limits,
    /// The mail store.
    pub store: MailStore,
    /// Captured outgoing mail.
    pub smtp: Vec<SmtpEntry>,
    /// Captured errors (only these are visible to `test_error`).
    pub errors: Vec<String>,
    /// Captured warnings.
    pub warnings: Vec<String>,
    /// The compiled-sub-script slot.
    pub slot: Option<Arc<Script>>,
    /// `test_binary_save` storage.
    pub binaries: HashMap<String, Arc<Script>>,
    /// Test blocks started.
    pub tests_started: u32,
    /// Failed blocks plus test-case failures.
    pub failures: u32,
    /// Number and name of the open test block.
    pub current: Option<(u32, String)>,
    /// Reason given by the command that failed the current block.
    pub pending_fail: Option<String>,
    /// Output lines (what Pigeonhole's tool prints on stdout).
    pub out: String,
    /// Actions of the current result already executed by `test_result_execute`.
    pub executed: usize,
    /// Whether the implicit keep was already performed for the current result.
    pub kept: bool,
    /// Counter for generated Message-IDs.
    pub counter: u32,
    /// The message under test, as last selected (for the spam/virus status headers).
    pub message: MessageView,
    /// The testsuite extension, passed to every compilation.
    pub testsuite: Arc<sieve::extensions::testsuite::Testsuite>,
}

impl Host {
    /// A fresh test case for the file at `path`.
    pub fn new(path: &str, testsuite: Arc<sieve::extensions::testsuite::Testsuite>) -> Host {
        let dir = match path.rfind('/') {
            Some(i) => path[..=i].to_owned(),
            None => "./".to_owned(),
        };
        let mut settings = BTreeMap::new();
        settings.insert("sieve_dir".to_owned(), format!("{dir}included"));
        settings.insert("sieve_global_dir".to_owned(), format!("{dir}included-global"));
        settings.insert("postmaster_address".to_owned(), "postmaster@example.com".to_owned());
        let mut host = Host {
            dir,
            settings,
            extensions: ExtensionConfig::all(),
            limits: Limits::default(),
            store: MailStore::default(),
            smtp: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            slot: None,
            binaries: HashMap::new(),
            tests_started: 0,
            failures: 0,
            current: None,
            pending_fail: None,
            out: String::new(),
            executed: 0,
            kept: false,
            counter: 0,
            message: MessageView::parse(INITIAL_MESSAGE.as_bytes()),
            testsuite,
        };
        host.reload();
        host
    }

    /// Re-reads engine and extension settings from the table (`test_config_reload`).
    pub fn reload(&mut self) {
        let mut ext = ExtensionConfig::from_settings(&self.settings);
        ext.enabled = ExtensionConfig::all().enabled;
        ext.enabled.remove("ereject");
        self.extensions = ext;
        let mut limits = Limits::from_settings(&self.settings);
        if !self.settings.contains_key("sieve_max_cpu_time") {
            limits.cpu_steps = 0;
        }
        self.limits = limits;
    }

    /// Compile options for a script of this test case.
    pub fn compile_options(&self) -> CompileOptions {
        CompileOptions {
            extensions: self.extensions.clone(),
            limits: self.limits.clone(),
            includes: Some(Arc::new(Includes {
                personal: self.setting("sieve").or_else(|| self.setting("sieve_dir")),
                global: self.setting("sieve_global").or_else(|| self.setting("sieve_global_dir")),
            })),
            extra_extensions: vec![self.testsuite.clone()],
            admin: false,
        }
    }

    /// A setting's value.
    pub fn setting(&self, key: &str) -> Option<String> {
        self.settings.get(key).cloned()
    }

    /// Clears the captured log (spec §11.1).
    pub fn clear_log(&mut self) {
        self.errors.clear();
        self.warnings.clear();
    }

    /// Fails the open test block with `reason` and returns the error that unwinds to it.
    pub fn fail_test(&mut self, reason: impl Into<String>) -> sieve::RuntimeError {
        self.pending_fail = Some(reason.into());
        sieve::RuntimeError {
            line: 0,
            class: sieve::ErrorClass::Failure,
            message: TEST_FAILED.to_owned(),
        }
    }

    /// Prints the verdict line of a test block.
    pub fn report_block(&mut self, n: u32, name: &str, failure: Option<&str>) {
        let name = if name.is_empty() { String::new() } else { format!(" '{name}'") };
        let line = match failure {
            None => format!("{n:2}: Test{name} SUCCEEDED\n"),
            Some("") => format!("{n:2}: Test{name} FAILED\n"),
            Some(r) => format!("{n:2}: Test{name} FAILED: {r}\n"),
        };
        self.out.push_str(&line);
    }

    /// Next number for generated Message-IDs.
    pub fn next_counter(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }
}

/// Derives the envelope from a message (spec §3.1).
pub fn derive_envelope(view: &MessageView) -> Envelope {
    let first = |name: &str| -> Option<String> {
        let v = view.header_values(name).into_iter().next()?;
        let a = sieve::message::parse_addresses(v.as_bytes()).into_iter().next()?;
        Some(a.address).filter(|a| !a.is_empty())
    };
    let from = first("return-path")
        .or_else(|| first("sender"))
        .or_else(|| first("from"))
        .unwrap_or_else(|| "sender@example.com".into());
    let to = first("envelope-to")
        .or_else(|| first("to"))
        .unwrap_or_else(|| "recipient@example.com".into());
    Envelope { from: Some(from), orig_to: Some(to.clone()), to, auth: Some(tool_user()) }
}

/// The user name the tool runs as.
pub fn tool_user() -> String {
    std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "testsuite".into())
}

/// Resolves `include` from the test case's `included/` and `included-global/` directories
/// (or the `sieve` / `sieve_global` settings).
struct Includes {
    personal: Option<String>,
    global: Option<String>,
}

impl sieve::IncludeResolver for Includes {
    fn load(&self, location: IncludeLocation, name: &str) -> Result<Option<String>, String> {
        let base = match location {
            IncludeLocation::Personal => &self.personal,
            IncludeLocation::Global => &self.global,
        };
        let Some(base) = base else {
            return Err("include: script location is not configured".into());
        };
        if let Some(dict) = base.strip_prefix("dict:file:") {
            return crate::store::dict_script(dict, name);
        }
        let base = base.strip_prefix("file:").unwrap_or(base);
        let base = base.split(';').next().unwrap_or(base);
        match std::fs::read_to_string(format!("{base}/{name}.sieve")) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("failed to read included script '{name}': {e}")),
        }
    }
}

impl ScriptEnvironment for Host {
    fn runtime_error(&mut self, message: &str) {
        self.errors.push(message.to_owned());
    }

    fn mailbox_exists(&mut self, name: &str) -> Result<bool, HostError> {
        Ok(self.store.exists(name))
    }

    fn environment_item(&mut self, name: &str) -> Option<String> {
        if let Some(value) = sieve::implementation_item(name) {
            return Some(value);
        }
        Some(match name {
            "location" => "MS".into(),
            "phase" => "post".into(),
            "domain" => "example.com".into(),
            "host" => "localhost".into(),
            "vnd.dovecot.default-mailbox" | "vnd.dovecot.default_mailbox" => "INBOX".into(),
            "vnd.dovecot.username" => MAIL_USER.into(),
            other => {
                let key = other.strip_prefix("vnd.dovecot.config.")?;
                return self.setting(&format!("sieve_env_{key}"));
            }
        })
    }

    fn host_variable(&mut self, name: &str) -> Option<String> {
        match name.to_ascii_lowercase().as_str() {
            "tst.path" | "path" => Some(self.dir.clone()),
            _ => None,
        }
    }

    fn subaddress_delimiter(&self) -> String {
        self.setting("recipient_delimiter").unwrap_or_else(|| "+".into())
    }

    fn metadata(
        &mut self,
        mailbox: Option<&str>,
        annotation: &str,
    ) -> Result<Option<String>, HostError> {
        Ok(self.store.metadata(mailbox, annotation))
    }

    fn score(&mut self, virus: bool, percent: bool) -> Option<String> {
        crate::spam::score(&self.settings, &self.message, virus, percent)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}
