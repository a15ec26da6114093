//! RFC 5703: foreverypart, break, extracttext and the `:mime` tags.

mod common;

use common::{TestHost, errors, run_with};
use sieve::Action;

const MULTI: &str = "From: a@example.org\r\nSubject: parts\r\n\
Content-Type: multipart/mixed; boundary=outer\r\n\r\n\
--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello there, this is the text.\r\n\
--outer\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=report.pdf\r\n\r\nJVBERi0=\r\n\
--outer\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.net\r\nSubject: inner\r\n\r\ninner body\r\n\
--outer--\r\n";

fn fileinto(m: &str) -> Action {
    Action::FileInto {
        mailbox: m.into(),
        flags: vec![],
        create: false,
        copy: false,
        special_use: None,
    }
}

fn run(src: &str) -> Vec<Action> {
    run_with(src, MULTI, &mut TestHost::default()).unwrap_or_else(|e| panic!("{e}")).actions
}

#[test]
fn foreverypart_visits_parts_and_header_mime_sees_them() {
    let src = "require [\"foreverypart\", \"mime\", \"fileinto\", \"variables\"];\n\
               foreverypart {\n\
                 if header :mime :param \"name\" :matches \"content-type\" \"*.pdf\" { fileinto \"pdf\"; }\n\
                 if header :mime :type \"content-type\" \"message\" { fileinto \"nested\"; }\n\
               }";
    assert_eq!(run(src), vec![fileinto("pdf"), fileinto("nested")]);
}

#[test]
fn header_without_mime_tests_the_top_level_inside_loops() {
    let src = "require [\"foreverypart\", \"mime\", \"fileinto\"];\n\
               foreverypart { if header :is \"subject\" \"parts\" { fileinto \"top\"; } }";
    assert_eq!(run(src), vec![fileinto("top")]);
}

#[test]
fn anychild_searches_all_parts() {
    let src = "require [\"mime\", \"fileinto\"];\n\
               if header :mime :anychild :contenttype \"content-type\" \"application/pdf\" { fileinto \"a\"; }\n\
               if exists :mime :anychild \"content-disposition\" { fileinto \"b\"; }\n\
               if address :mime :anychild :is \"from\" \"inner@example.net\" { fileinto \"c\"; }\n\
               if not exists :mime \"content-disposition\" { fileinto \"d\"; }";
    assert_eq!(run(src), vec![fileinto("a"), fileinto("b"), fileinto("c"), fileinto("d")]);
}

#[test]
fn break_leaves_named_loops() {
    let src = "require [\"foreverypart\", \"variables\", \"fileinto\"];\n\
               set \"n\" \"\";\n\
               foreverypart :name \"outer\" {\n\
                 set \"n\" \"${n}x\";\n\
                 foreverypart { break :name \"outer\"; }\n\
               }\n\
               fileinto \"${n}\";";
    // The outer loop starts with the message itself; its inner loop breaks out at once.
    assert_eq!(run(src), vec![fileinto("x")]);
    let e = errors("require \"foreverypart\"; foreverypart { } break;");
    assert_eq!(e[0], "the break command is not placed inside a foreverypart loop");
    let e = errors("require \"foreverypart\"; foreverypart :name \"a\" { break :name \"b\"; }");
    assert_eq!(e[0], "the break command is not placed inside a foreverypart loop named `b'");
}

#[test]
fn extracttext_reads_the_current_text_part() {
    let src = "require [\"foreverypart\", \"extracttext\", \"variables\", \"fileinto\", \"mime\"];\n\
               foreverypart {\n\
                 if header :mime :subtype \"content-type\" \"plain\" {\n\
                   extracttext :first 5 \"t\"; fileinto \"${t}\"; break;\n\
                 }\n\
               }";
    assert_eq!(run(src), vec![fileinto("Hello")]);
    let e = errors("require [\"extracttext\", \"variables\"]; keep;");
    assert_eq!(e[0], "extracttext extension cannot be used without foreverypart extension");
}

#[test]
fn loop_nesting_is_limited() {
    let deep =
        format!("require \"foreverypart\"; {} {}", "foreverypart {".repeat(5), "}".repeat(5));
    assert_eq!(
        errors(&deep)[0],
        "the nested foreverypart loop exceeds the nesting limit (<= 4 levels)"
    );
}

#[test]
fn mime_tags_need_mime() {
    let e = errors("require \"mime\"; if header :anychild \"a\" \"b\" {}");
    assert_eq!(
        e[0],
        "the :anychild tag for the header test cannot be specified without the :mime tag"
    );
}

#[test]
fn body_sees_nested_text() {
    let src = "require \"body\"; if body :text :contains \"inner body\" { discard; }";
    assert_eq!(run(src), vec![Action::Discard]);
}

#[test]
fn body_leaves_match_values_alone() {
    let src = "require [\"body\", \"variables\", \"fileinto\"];\n\
               if header :matches \"subject\" \"*\" { }\n\
               if body :raw :matches \"*Hello*\" { fileinto \"${1}\"; }";
    assert_eq!(run(src), vec![fileinto("parts")]);
}
