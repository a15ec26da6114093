//! RFC 5228 §2.4.2.4 `encoded-character`: `${hex:..}` / `${unicode:..}` in strings, decoded at
//! compile time by the string compiler (validate/strings.rs) when this capability is required.

use super::{Extension, Registrar};

/// The `encoded-character` extension.
pub struct EncodedCharacter;

impl Extension for EncodedCharacter {
    fn name(&self) -> &'static str {
        "encoded-character"
    }

    fn register(&self, _r: &mut Registrar<'_>) {}
}
