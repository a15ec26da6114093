//! A script and a message (split at the first NUL byte): compile, then run against the message
//! with a host that answers nothing. Must never panic and must stay within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (script, message) = data.split_at(split);
    let opts = sieve::CompileOptions {
        extensions: sieve::ExtensionConfig::all(),
        ..sieve::CompileOptions::default()
    };
    let Ok(compiled) = sieve::compile(&String::from_utf8_lossy(script), "fuzz", &opts) else {
        return;
    };
    let view = sieve::MessageView::parse(message.get(1..).unwrap_or_default());
    let envelope = sieve::Envelope {
        from: Some("sender@example.com".into()),
        to: "rcpt@example.org".into(),
        orig_to: None,
        auth: None,
    };
    let limits = sieve::Limits { cpu_steps: 200_000, ..sieve::Limits::default() };
    let mut env = sieve::NullEnvironment;
    let _ = sieve::run(&compiled.script, &view, &envelope, &mut env, &limits);
});
