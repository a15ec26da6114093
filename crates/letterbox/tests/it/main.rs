//! Integration tests: the real `letterbox` binary in temporary homes (design.md §6.6).

mod cli;
mod exit_codes;
mod interop;
mod interop_sieve;
mod maildir;
mod robustness;
mod sieve_delivery;
mod support;
