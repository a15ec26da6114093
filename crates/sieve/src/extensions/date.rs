//! RFC 5260 `date [":zone" string / ":originalzone"] [COMPARATOR] [MATCH-TYPE] <header-name:
//! string> <date-part: string> <key-list: string-list>` and `currentdate [":zone" string]
//! [COMPARATOR] [MATCH-TYPE] <date-part: string> <key-list: string-list>`.

use crate::language::index_tag;
use crate::program::{DateTest, Test};
use crate::syntax::ast::Arg;
use crate::validate::Builder;
use crate::validate::signature::{ArgKind, CommandDef, Validated, pos_arg, tag};

use super::{Extension, Registrar};

/// Date parts of RFC 5260 §4.
pub const DATE_PARTS: &[&str] = &[
    "year", "month", "day", "date", "julian", "hour", "minute", "second", "time", "iso8601",
    "std11", "zone", "weekday",
];

/// The `date` extension.
pub struct Date;

impl Extension for Date {
    fn name(&self) -> &'static str {
        "date"
    }

    fn register(&self, r: &mut Registrar<'_>) {
        let date_args = vec![
            pos_arg("header name", ArgKind::Str),
            pos_arg("date part", ArgKind::Str),
            pos_arg("key list", ArgKind::StrList),
        ];
        let tags = [tag("zone", Some(ArgKind::Str)), tag("originalzone", None)];
        r.command(
            CommandDef::test("date", date_args, |b, v| build(b, v, true))
                .with_match()
                .with_tags(&tags),
        );
        let cur_args =
            vec![pos_arg("date part", ArgKind::Str), pos_arg("key list", ArgKind::StrList)];
        r.command(
            CommandDef::test("currentdate", cur_args, |b, v| build(b, v, false))
                .with_match()
                .with_tags(&tags[..1]),
        );
    }
}

fn build(b: &mut Builder<'_>, v: &mut Validated, header: bool) -> Option<Test> {
    crate::language::check_index(b, v)?;
    let off = usize::from(header);
    let header_name = match (header, &v.positional[0]) {
        (true, Arg::Str(s)) => Some(b.string(s)),
        _ => None,
    };
    let Arg::Str(part) = &v.positional[off] else { return None };
    let part_name = part.value.to_ascii_lowercase();
    if !DATE_PARTS.contains(&part_name.as_str()) {
        b.error(
            part.pos,
            format!("the {} test: specified date part `{}' is not known", v.name, part.value),
        );
        return None;
    }
    if v.has("zone") && v.has("originalzone") {
        b.error(v.pos, format!("the {} test cannot have both :zone and :originalzone", v.name));
        return None;
    }
    let zone = match v.tag("zone").and_then(|t| t.param.clone()) {
        Some(Arg::Str(z)) => Some(Some(b.string(&z))),
        _ if v.has("originalzone") => Some(None),
        _ => None,
    };
    let keys = b.keys(&v.positional[off + 1], &v.spec);
    let test = DateTest {
        header: header_name,
        zone,
        part: part_name,
        keys,
        spec: v.spec,
        index: index_tag(v),
    };
    Some(Test::Date(Box::new(test)))
}
