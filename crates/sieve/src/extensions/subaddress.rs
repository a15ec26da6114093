//! RFC 5233 `subaddress`: the `:user` and `:detail` address parts (delimiter from the host's
//! `recipient_delimiter`).

use crate::program::AddressPart;

use super::{Extension, Registrar};

/// The `subaddress` extension.
pub struct Subaddress;

impl Extension for Subaddress {
    fn name(&self) -> &'static str {
        "subaddress"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        r.address_part("user", AddressPart::User);
        r.address_part("detail", AddressPart::Detail);
    }
}
