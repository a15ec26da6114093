//! RFC 5183 `environment <name: string> <key-list: string-list>` and Pigeonhole's
//! `vnd.dovecot.environment` (the `${env.NAME}` variable namespace).

use crate::program::Test;
use crate::syntax::ast::Arg;
use crate::validate::signature::{ArgKind, CommandDef, pos_arg};

use super::{Extension, Registrar};

/// The `environment` extension.
pub struct Environment;

/// The `vnd.dovecot.environment` extension.
pub struct VndEnvironment;

impl Extension for Environment {
    fn name(&self) -> &'static str {
        "environment"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let args = vec![pos_arg("name", ArgKind::Str), pos_arg("key list", ArgKind::StrList)];
        let def = CommandDef::test("environment", args, |b, v| {
            let Arg::Str(name) = &v.positional[0] else { return None };
            let name = b.string(name);
            let keys = b.keys(&v.positional[1], &v.spec);
            Some(Test::Environment { name, keys, spec: v.spec })
        });
        r.command(def.with_match());
    }
}

impl Extension for VndEnvironment {
    fn name(&self) -> &'static str {
        "vnd.dovecot.environment"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["environment"]
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn register(&self, _r: &mut Registrar<'_>) {}
}
