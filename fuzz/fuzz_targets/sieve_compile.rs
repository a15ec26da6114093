//! Any bytes as a Sieve script: compiling must never panic, only succeed or report errors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let opts = sieve::CompileOptions {
        extensions: sieve::ExtensionConfig::all(),
        ..sieve::CompileOptions::default()
    };
    let _ = sieve::compile(&source, "fuzz", &opts);
});
