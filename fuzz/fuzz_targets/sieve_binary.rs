//! Any bytes as a compiled-script cache file (`sieve::binary::decode`): must never panic, only
//! decode or fail with a typed error. The checksum would stop almost every input before the
//! program decoder, so when the first byte is odd the rest is wrapped in a valid prefix
//! (magic, format version, FNV-1a checksum) and reaches the header and program decoders; a
//! script that decodes is then run on a small message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fuzz_target!(|data: &[u8]| {
    let key = sieve::binary::CacheKey::new(&sieve::CompileOptions::default());
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = if mode & 1 == 1 {
        let mut sealed = sieve::binary::MAGIC.to_vec();
        sealed.extend(sieve::binary::FORMAT_VERSION.to_le_bytes());
        sealed.extend(fnv1a64(rest).to_le_bytes());
        sealed.extend(rest);
        sealed
    } else {
        rest.to_vec()
    };
    let Ok((script, _deps)) = sieve::binary::decode(&bytes, &key) else { return };
    let view = sieve::MessageView::parse(b"From: a@example.com\nSubject: x\n\nbody\n");
    let envelope = sieve::Envelope {
        from: Some("sender@example.com".into()),
        to: "rcpt@example.org".into(),
        orig_to: None,
        auth: None,
    };
    let limits = sieve::Limits { cpu_steps: 200_000, ..sieve::Limits::default() };
    let _ = sieve::run(&script, &view, &envelope, &mut sieve::NullEnvironment, &limits);
});
