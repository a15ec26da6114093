//! Resource limits of one compile and run, with Pigeonhole's defaults.

/// Hard limits; exceeding one fails the script cleanly (the host then does implicit keep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `sieve_max_script_size` in bytes (0 = unlimited).
    pub max_script_size: u64,
    /// `sieve_max_actions` (0 = unlimited).
    pub max_actions: usize,
    /// `sieve_max_redirects`.
    pub max_redirects: usize,
    /// Block and test nesting (fixed at 32 in Pigeonhole).
    pub max_nesting: usize,
    /// `sieve_include_max_nesting_depth`.
    pub max_include_depth: usize,
    /// `sieve_include_max_includes`.
    pub max_includes: usize,
    /// `sieve_variables_max_variable_size` in bytes.
    pub max_variable_size: usize,
    /// Step budget standing in for `sieve_max_cpu_time` (0 = unlimited).
    pub cpu_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_script_size: 1 << 20,
            max_actions: 32,
            max_redirects: 4,
            max_nesting: 32,
            max_include_depth: 10,
            max_includes: 255,
            max_variable_size: 4096,
            cpu_steps: 10_000_000,
        }
    }
}
