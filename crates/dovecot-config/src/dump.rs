//! `doveconf -n`-like rendering: changed top-level settings and sections, sorted by name,
//! values quoted when doveconf would quote them.

use std::fmt::Write as _;

use crate::tree::Section;

/// Renders settings and sections, interleaved in name order like doveconf.
pub(crate) fn render(settings: &[(&str, &str)], sections: &[Section]) -> String {
    let mut items: Vec<(String, String)> =
        settings.iter().map(|(k, v)| ((*k).to_owned(), format!("{k} = {}\n", quote(v)))).collect();
    for s in sections {
        let mut text = String::new();
        render_section(&mut text, s, 0);
        items.push((header(s), text));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.into_iter().map(|(_, text)| text).collect()
}

fn header(s: &Section) -> String {
    match &s.name {
        Some(name) => format!("{} {}", s.kind, quote_name(name)),
        None => s.kind.clone(),
    }
}

fn render_section(out: &mut String, s: &Section, depth: usize) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{pad}{} {{", header(s));
    let mut entries: Vec<(&str, &str)> = Vec::new();
    for e in &s.entries {
        match entries.iter_mut().find(|(k, _)| *k == e.key) {
            Some(slot) => slot.1 = &e.value,
            None => entries.push((&e.key, &e.value)),
        }
    }
    entries.sort();
    for (k, v) in entries {
        let _ = writeln!(out, "{pad}  {k} = {}", quote(v));
    }
    for child in &s.children {
        render_section(out, child, depth + 1);
    }
    let _ = writeln!(out, "{pad}}}");
}

fn quote(v: &str) -> String {
    let needs = v != v.trim() || v.contains(['"', '#', '\n']);
    if needs { format!("\"{}\"", escape(v)) } else { v.to_owned() }
}

fn quote_name(v: &str) -> String {
    if v.is_empty() || v.contains([' ', '"', '{', '#']) {
        format!("\"{}\"", escape(v))
    } else {
        v.to_owned()
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
