//! Links the `letterbox` executable as a non-PIE binary on Linux.
//!
//! An MTA starts one `letterbox deliver` per message, so process start-up is a large share of a
//! delivery. A position-independent executable makes the dynamic loader apply ~12,000
//! relocations (and touch the pages they live in) on every start; linked as a fixed-address
//! executable the linker resolves them once, at build time. The code itself stays
//! position-independent (rustc's default), only the final link changes, so proc-macros and the
//! libraries are unaffected. Measured: see docs/architecture.md ("Start-up").

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
