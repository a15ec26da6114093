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
        link_unwinder_statically();
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// Links GCC's unwinder into the executable (as `gcc -static-libgcc` does) instead of loading
/// `libgcc_s.so.1` at every start: Rust's std asks for `-lgcc_s`, and this build script
/// answers with a linker script of that name, first on the search path, that reads
/// `libgcc_eh.a` (the same unwinder, static). Loading libgcc_s cost ~80 µs per start here,
/// half of it its constructor's `cpuid` calls, which trap to the hypervisor on a VM. Panics
/// still unwind (the LMTP server keeps serving after a panic in one session).
fn link_unwinder_statically() {
    let Some(out) = std::env::var_os("OUT_DIR") else { return };
    let dir = std::path::PathBuf::from(out).join("static-unwinder");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("libgcc_s.so"), "INPUT(-lgcc_eh)\n"));
    if written.is_ok() {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
}
