//! RFC 3894 `copy`: the `:copy` tag on `fileinto` and `redirect` (the action then does not
//! cancel the implicit keep).

use crate::validate::signature::tag;

use super::{Extension, Registrar};

/// The `copy` extension.
pub struct Copy;

impl Extension for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.tag("fileinto", tag("copy", None));
        r.tag("redirect", tag("copy", None));
    }
}
