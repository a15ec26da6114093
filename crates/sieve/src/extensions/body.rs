//! RFC 5173 `body [COMPARATOR] [MATCH-TYPE] [BODY-TRANSFORM] <key-list: string-list>` with the
//! transforms `:raw`, `:content <types>` and `:text` (the default).

use crate::program::{BodyTransform, Test};
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// The `body` extension.
pub struct Body;

impl Extension for Body {
    fn name(&self) -> &'static str {
        "body"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let def = CommandDef::test("body", vec![pos_arg("key list", ArgKind::StrList)], build)
            .with_match()
            .with_tags(&[
                tag("raw", None),
                tag("content", Some(ArgKind::StrList)),
                tag("text", None),
            ]);
        r.command(def);
    }
}

fn build(b: &mut Builder<'_>, v: &mut Validated) -> Option<Test> {
    let given: Vec<&str> =
        v.tags.iter().map(|t| t.name).filter(|n| ["raw", "content", "text"].contains(n)).collect();
    if given.len() > 1 {
        b.error(v.pos, format!("encountered duplicate :{} argument for the body test", given[1]));
        return None;
    }
    let transform = match given.first() {
        Some(&"raw") => BodyTransform::Raw,
        Some(&"content") => {
            let param = v.tag("content")?.param.clone()?;
            BodyTransform::Content(b.string_list(&param))
        }
        _ => BodyTransform::Text,
    };
    let keys = b.keys(&v.positional[0], &v.spec);
    Some(Test::Body { transform, keys, spec: v.spec })
}
