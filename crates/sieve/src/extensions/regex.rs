//! draft-ietf-sieve-regex `:regex` match type (linear-time `regex` crate, POSIX ERE syntax
//! translated) and the `:quoteregex` modifier of `set`.

use crate::program::MatchType;
use crate::validate::signature::{MatchKind, tag};

use super::{Extension, Registrar};

/// The `regex` extension.
pub struct Regex;

impl Extension for Regex {
    fn name(&self) -> &'static str {
        "regex"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.match_type("regex", MatchKind::Plain(MatchType::Regex));
        r.tag("set", tag("quoteregex", None));
    }
}
