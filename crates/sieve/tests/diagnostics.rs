//! Compile diagnostics: wording, positions and counts as Pigeonhole's `sievec` reports them
//! (checked against Debian's sievec 0.5.19 for each script below).

mod common;

use common::{compile_all, errors};

#[test]
fn parse_errors_stop_validation_and_end_with_parse_failed() {
    let e = errors("keep");
    assert_eq!(
        e,
        vec![
            "expected end of command ';' or the beginning of a compound block '{', but found end of file",
            "parse failed"
        ]
    );
    let e = errors("if true { keep; ");
    assert_eq!(e[0], "expected end of compound block '}', but found end of file");
    let e = errors("keep; }");
    assert_eq!(e[0], "unexpected '}' found at (the presumed) end of file");
    let e = errors("if exists [\"a\" \"b\"] {}");
    assert_eq!(e[0], "expecting ',' or end of string list ']', but found string");
}

#[test]
fn recovery_reports_each_broken_command() {
    let src = "if true {\n if true {\n keep\n }\n}\nif true {\n keep,\n keep\n}\nkeep;\n";
    let d = compile_all(src).unwrap_err();
    let lines: Vec<u32> = d.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![4, 7, 0]);
    let e = errors("if anyof(true,true,) {}\nfrop $$$;\n");
    assert_eq!(e.len(), 4, "{e:?}");
    assert_eq!(e[0], "expecting test identifier after ',' in test list, but found ')'");
    assert_eq!(e[1], "unexpected character(s) starting with '$'");
}

#[test]
fn nesting_limits() {
    let deep_ok = "if true {".repeat(32) + &"}".repeat(32);
    assert!(compile_all(&deep_ok).is_ok());
    let too_deep = "if true {".repeat(33) + &"}".repeat(33);
    assert_eq!(errors(&too_deep)[0], "cannot nest command blocks deeper than 32 levels");
    let tests = format!("if {} true {{}}", "not ".repeat(40));
    assert_eq!(errors(&tests)[0], "cannot nest tests deeper than 32 levels");
}

#[test]
fn validation_wording() {
    let cases: &[(&str, &str)] = &[
        ("foo;", "unknown command 'foo' (only reported once at first occurrence)"),
        (
            "keep \"a\";",
            "the keep command requires 0 positional argument(s), but 1 is/are specified",
        ),
        (
            "if header :frob \"a\" \"b\" {}",
            "unknown tagged argument ':frob' for the header test (reported only once at first occurrence)",
        ),
        ("require \"frop\";", "require command: unknown Sieve capability `frop'"),
        (
            "require \"keep\";",
            "require command: `keep' is not known as a Sieve capability, but it is known as a Sieve command that is always available",
        ),
        (
            "keep; require \"fileinto\";",
            "require commands can only be placed at top level at the beginning of the file",
        ),
        ("if true;", "the if command requires a command block, but it is missing"),
        ("elsif true {}", "the elsif command must follow an if or elseif command"),
        (
            "stop {}",
            "the stop command does not accept a command block, but one is specified anyway",
        ),
        ("if keep {}", "attempted to use command 'keep' as test"),
        ("size :over 1;", "attempted to use test 'size' as command"),
        (
            "if size 1 {}",
            "the size test requires either the :under or the :over tag to be specified",
        ),
        (
            "if header :is :contains \"a\" \"b\" {}",
            "encountered duplicate MATCH-TYPE argument (:contains) for the header test",
        ),
        ("if header :comparator \"i;foo\" \"a\" \"b\" {}", "unknown comparator 'i;foo'"),
        (
            "if anyof true {}",
            "the anyof test requires a list of sub-tests, but a single test is specified",
        ),
        (
            "if not (true) {}",
            "the not test requires one sub-test, but a list of tests is specified",
        ),
        (
            "redirect \"foo\";",
            "specified redirect address 'foo' is invalid: invalid or lonely local part 'foo' (expecting '@')",
        ),
        (
            "if header 1 \"a\" {}",
            "the header test expects a string list as argument 1 (header names), but a number was found",
        ),
        (
            "if address :is \"from\" \"a\" :all {}",
            "encountered an unexpected tagged argument ':all' while validating positional arguments for the address test",
        ),
        (
            "if address \"frop\" \"a\" {}",
            "specified header 'frop' is not allowed for the address test",
        ),
    ];
    for (src, want) in cases {
        let e = errors(src);
        assert_eq!(e.first().map(String::as_str), Some(*want), "script: {src}");
        assert_eq!(e.last().map(String::as_str), Some("validation failed"), "script: {src}");
    }
}

#[test]
fn typos_get_helpful_messages() {
    let src = "require \"fileinto\";\nfileinto \"frop\"\nkeep;\nfileinto \"frup\"\ntrue;\n\
               if address matches \"from\" \"*frop*\" { stop; }\n";
    let d = compile_all(src).unwrap_err();
    let got: Vec<(u32, &str)> = d.errors.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (2, "missing semicolon ';' after fileinto command"),
            (4, "the fileinto command accepts no sub-tests, but tests are specified"),
            (6, "the address test requires 2 positional argument(s), but 0 is/are specified"),
            (6, "missing colon ':' before ':matches' tag in address test"),
            (0, "validation failed"),
        ]
    );
}

#[test]
fn unknown_things_are_reported_once() {
    let e = errors("foo; foo; if header :x \"a\" \"b\" {} if header :x \"a\" \"b\" {}");
    assert_eq!(e.len(), 3, "{e:?}");
}

#[test]
fn extensions_must_be_required_and_enabled() {
    assert_eq!(
        errors("fileinto \"x\";")[0],
        "unknown command 'fileinto' (only reported once at first occurrence)"
    );
    assert_eq!(
        errors("redirect :copy \"a@b.c\";")[0],
        "unknown tagged argument ':copy' for the redirect command (reported only once at first occurrence)"
    );
    let opts = sieve::CompileOptions::default();
    let d = sieve::compile("require \"editheader\";", "t", &opts).unwrap_err();
    assert_eq!(d.errors[0].message, "require command: unknown Sieve capability `editheader'");
    assert!(sieve::compile("require [\"fileinto\", \"vacation\"];", "t", &opts).is_ok());
}

#[test]
fn display_uses_script_name_and_line() {
    let d = sieve::compile("\nfoo;", ".dovecot", &sieve::CompileOptions::default()).unwrap_err();
    assert_eq!(
        d.to_string(),
        ".dovecot: line 2: error: unknown command 'foo' (only reported once at first occurrence).\n\
         .dovecot: error: validation failed.\n"
    );
    assert_eq!(d.errors[0].column, 1);
}

#[test]
fn variables_errors() {
    let e = errors("require \"variables\"; set \"0\" \"x\";");
    assert_eq!(e[0], "cannot assign to match variable");
    let e = errors("require \"variables\"; set \"ns.x\" \"x\";");
    assert_eq!(e[0], "referring to variable in unknown namespace 'ns'");
    let e = errors("require \"variables\"; if string \"${33}\" \"\" {}");
    assert_eq!(e[0], "match value index 33 out of range (max: 32)");
    let e = errors("require \"variables\"; set \"a.\" \"x\";");
    assert_eq!(e[0], "invalid variable name 'a.'");
}

#[test]
fn vacation_period_is_clamped_with_a_warning() {
    let c = compile_all("require \"vacation\"; vacation :days 0 \"away\";").unwrap();
    assert_eq!(c.warnings[0].message, "specified :days value '0' is under the minimum");
}

#[test]
fn script_size_limit() {
    let mut opts = common::all_options();
    opts.limits.max_script_size = 10;
    let d = sieve::compile("keep; keep; keep;", "t", &opts).unwrap_err();
    assert!(d.errors[0].message.contains("too large"));
}
