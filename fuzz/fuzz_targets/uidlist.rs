//! Any bytes as a dovecot-uidlist: parsing must never panic, and what parses must write back
//! to something that parses to the same records.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = dovecot_index::uidlist::Uidlist::parse(data) {
        let bytes = list.to_bytes();
        let again = dovecot_index::uidlist::Uidlist::parse(&bytes).expect("written uidlist parses");
        assert_eq!(again.to_bytes(), bytes);
    }
});
