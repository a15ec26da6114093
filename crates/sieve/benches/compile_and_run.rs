//! Compile a 30-rule script (bench/rules30.sieve: header/address/envelope tests, fileinto, a
//! vacation that does not fire), load it from its compiled-script cache instead, and evaluate
//! the compiled script on a 3 KB message.
//! Run: `cargo bench -p sieve`. Goal (issue #3): evaluation under 20 µs.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use sieve::{CompileOptions, Envelope, Limits, MessageView, NullEnvironment};

const SCRIPT: &str = include_str!("../../../bench/rules30.sieve");

fn message() -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: benchmark\nMessage-ID: <bench@example.com>\nDate: Wed, 25 Nov 2026 10:00:00 +0000\n\n".to_vec();
    while m.len() < 3 * 1024 {
        m.extend_from_slice(
            b"The quick brown fox jumps over the lazy dog, again and again and again.\n",
        );
    }
    m
}

fn benches(c: &mut Criterion) {
    let opts = CompileOptions::default();
    c.bench_function("compile 30 rules", |b| {
        b.iter(|| sieve::compile(SCRIPT, "rules30", &opts).expect("compiles"))
    });
    let compiled = sieve::compile(SCRIPT, "rules30", &opts).expect("compiles");
    // What a delivery does instead of compiling when the `.lbsvbin` cache is fresh.
    let key = sieve::binary::CacheKey::new(&opts);
    let cache = sieve::binary::encode(&compiled.script, &key, &[]).expect("cacheable");
    c.bench_function("decode 30 rules from the cache", |b| {
        b.iter(|| sieve::binary::decode(&cache, &key).expect("decodes"))
    });
    let raw = message();
    let envelope = Envelope {
        from: Some("alice@example.com".into()),
        to: "bob@example.com".into(),
        orig_to: None,
        auth: None,
    };
    let limits = Limits::default();
    c.bench_function("parse 3 KB message", |b| b.iter(|| MessageView::parse(&raw)));
    let view = MessageView::parse(&raw);
    c.bench_function("evaluate 30 rules on 3 KB", |b| {
        b.iter(|| {
            sieve::run(&compiled.script, &view, &envelope, &mut NullEnvironment, &limits)
                .expect("runs")
        })
    });
}

criterion_group!(sieve_benches, benches);
criterion_main!(sieve_benches);
