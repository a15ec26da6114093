//! RFC 5231 `relational` (`:count`, `:value`) and RFC 4790 `comparator-i;ascii-numeric`.

use crate::program::Comparator;
use crate::validate::signature::MatchKind;

use super::{Extension, Registrar};

/// The `relational` extension.
pub struct Relational;

/// The `comparator-i;ascii-numeric` capability.
pub struct AsciiNumeric;

impl Extension for Relational {
    fn name(&self) -> &'static str {
        "relational"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.match_type("count", MatchKind::Count);
        r.match_type("value", MatchKind::Value);
    }
}

impl Extension for AsciiNumeric {
    fn name(&self) -> &'static str {
        "comparator-i;ascii-numeric"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.comparator("i;ascii-numeric", Comparator::AsciiNumeric);
    }
}
