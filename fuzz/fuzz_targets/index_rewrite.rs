//! Any bytes as a `dovecot.index` followed by a log tail: parsing and applying must never
//! panic, and whatever is accepted must serialize to a snapshot that parses back to the
//! same bytes. The first two bytes split the input into the index and the log records.
#![no_main]

use dovecot_index::index::IndexMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
    let (index, log) = data[2..].split_at(split);
    let Ok(mut map) = IndexMap::parse(index) else { return };
    assert_eq!(map.serialize(), index, "accepted index must round-trip");
    if map.apply_log(log, 40).is_ok() {
        let bytes = map.serialize();
        let again = IndexMap::parse(&bytes).expect("written index parses");
        assert_eq!(again.serialize(), bytes);
    }
});
