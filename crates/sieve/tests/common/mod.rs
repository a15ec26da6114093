//! Shared helpers for the integration tests: compile/run wrappers and a test host.

#![allow(dead_code)] // Each test binary uses a different subset of the helpers.

use std::collections::{BTreeMap, BTreeSet};

use sieve::{
    CompileOptions, Compiled, Diagnostics, Envelope, ExtensionConfig, HostError, Limits,
    MessageView, Now, RuntimeError, ScriptEnvironment, SieveResult,
};

/// The message most tests run against.
pub const MSG: &str = "From: Alice <alice@example.org>\r\n\
To: Bob <bob+lists@example.com>, carol@example.net\r\n\
Cc: dave@example.com\r\n\
Subject: Lunch on Friday?\r\n\
Date: Tue, 15 Mar 2005 10:20:30 +0100\r\n\
Message-ID: <m1@example.org>\r\n\
X-Spam-Score: 7\r\n\
\r\n\
Shall we meet at noon?\r\n";

/// A host with configurable answers.
#[derive(Default)]
pub struct TestHost {
    /// Existing mailboxes.
    pub mailboxes: BTreeSet<String>,
    /// Duplicate ids already seen.
    pub seen: BTreeSet<String>,
    /// Environment items.
    pub items: BTreeMap<String, String>,
    /// Spam score answer.
    pub score: Option<String>,
}

impl ScriptEnvironment for TestHost {
    fn mailbox_exists(&mut self, name: &str) -> Result<bool, HostError> {
        Ok(self.mailboxes.contains(name))
    }

    fn duplicate_seen(&mut self, id: &str) -> Result<bool, HostError> {
        Ok(self.seen.contains(id))
    }

    fn environment_item(&mut self, name: &str) -> Option<String> {
        self.items.get(name).cloned()
    }

    fn now(&mut self) -> Now {
        // 2005-03-15 10:20:30 UTC
        Now { unix: 1_110_882_030, offset_minutes: 0 }
    }

    fn score(&mut self, _virus: bool, _percent: bool) -> Option<String> {
        self.score.clone()
    }
}

/// Options with every extension enabled.
pub fn all_options() -> CompileOptions {
    CompileOptions { extensions: ExtensionConfig::all(), ..CompileOptions::default() }
}

/// Compiles with every extension enabled.
pub fn compile_all(src: &str) -> Result<Compiled, Diagnostics> {
    sieve::compile(src, "test", &all_options())
}

/// The default envelope.
pub fn envelope() -> Envelope {
    Envelope {
        from: Some("alice@example.org".into()),
        to: "bob+lists@example.com".into(),
        orig_to: None,
        auth: Some("bob".into()),
    }
}

/// Compiles (all extensions) and runs against `msg` with `host`.
pub fn run_with(src: &str, msg: &str, host: &mut TestHost) -> Result<SieveResult, RuntimeError> {
    let compiled = compile_all(src).unwrap_or_else(|d| panic!("compile failed:\n{d}"));
    let m = MessageView::parse(msg.as_bytes());
    sieve::run(&compiled.script, &m, &envelope(), host, &Limits::default())
}

/// Compiles and runs against [`MSG`] with a default host; panics on run-time error.
pub fn run(src: &str) -> SieveResult {
    run_with(src, MSG, &mut TestHost::default()).unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Error messages of a failed compile (summary line included).
pub fn errors(src: &str) -> Vec<String> {
    match compile_all(src) {
        Ok(_) => Vec::new(),
        Err(d) => d.errors.into_iter().map(|e| e.message).collect(),
    }
}
