//! The serde pieces the derives in `program.rs` cannot produce: regexes stored as their
//! patterns, host-provided commands that refuse to be stored, and a nesting guard so that a
//! crafted cache file cannot exhaust the stack while it is decoded.

use std::cell::Cell;

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::program::{CustomOpCall, CustomTestCall};

/// Deepest nesting of blocks and tests a cache may hold. The compiler allows 32 nested blocks
/// and 32 nested tests (Pigeonhole's limits), so real scripts stay far below; the guard only
/// stops crafted input before it overflows the stack.
pub(crate) const MAX_DECODE_NESTING: u32 = 256;

/// The message both custom-call impls fail with; `encode` turns the error into `None`.
pub(crate) const NOT_CACHEABLE: &str = "host-provided commands cannot be cached";

impl Serialize for CustomOpCall {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(NOT_CACHEABLE))
    }
}

impl<'de> Deserialize<'de> for CustomOpCall {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(D::Error::custom(NOT_CACHEABLE))
    }
}

impl Serialize for CustomTestCall {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(NOT_CACHEABLE))
    }
}

impl<'de> Deserialize<'de> for CustomTestCall {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(D::Error::custom(NOT_CACHEABLE))
    }
}

thread_local! {
    /// Current nesting of [`nested`] calls on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Deserializes a recursive field (a block or a sub-test), failing once the nesting exceeds
/// [`MAX_DECODE_NESTING`].
pub(crate) fn nested<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let depth = DEPTH.with(|c| {
        let v = c.get().saturating_add(1);
        c.set(v);
        v
    });
    let result = if depth > MAX_DECODE_NESTING {
        Err(D::Error::custom("nesting too deep"))
    } else {
        T::deserialize(d)
    };
    DEPTH.with(|c| c.set(c.get().saturating_sub(1)));
    result
}

/// `Keys::regexes` as the list of their patterns (which carry the case flag, see
/// `matching::compile_regex`), rebuilt with `matching::build_regex` when loaded.
pub(crate) mod regexes {
    use regex::Regex;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the patterns.
    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Vec<Regex>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let patterns: Option<Vec<&str>> =
            value.as_ref().map(|list| list.iter().map(Regex::as_str).collect());
        patterns.serialize(s)
    }

    /// Reads the patterns and compiles them again.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<Regex>>, D::Error> {
        let Some(patterns) = Option::<Vec<String>>::deserialize(d)? else {
            return Ok(None);
        };
        patterns
            .iter()
            .map(|p| crate::matching::build_regex(p).map_err(D::Error::custom))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
