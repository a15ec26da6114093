//! Integration tests: the real `letterbox` binary in temporary homes (design.md §6.6).

mod auth_master;
mod cli;
mod exit_codes;
mod index_files;
mod interop;
mod interop_sieve;
mod lmtp;
mod maildir;
mod mbox;
mod quota;
mod robustness;
mod sieve_cache;
mod sieve_delivery;
mod sieve_sending;
mod sieve_tools;
mod support;
