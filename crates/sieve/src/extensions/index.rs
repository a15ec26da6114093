//! RFC 5260 §6 `index`: `:index <fieldno: number>` and `:last` on `header`, `address` and
//! `date` (the tests read them through `language::index_tag`).

use crate::validate::signature::{ArgKind, tag};

use super::{Extension, Registrar};

/// The `index` extension.
pub struct Index;

impl Extension for Index {
    fn name(&self) -> &'static str {
        "index"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        for cmd in ["header", "address", "date"] {
            r.tag(cmd, tag("index", Some(ArgKind::Number)));
            r.tag(cmd, tag("last", None));
        }
    }
}
