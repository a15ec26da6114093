//! Hooks for commands and tests implemented outside this crate (e.g. `vnd.dovecot.testsuite`).
//! The implementation receives the validated arguments and the running machine, through which
//! it can evaluate strings, read the message and add actions.

use crate::program::CustomArgs;

use super::{Machine, RuntimeError};

/// What to do after a custom command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomFlow {
    /// Go on with the next command.
    Continue,
    /// End the script as `stop` does.
    Stop,
}

/// A command provided by the host.
pub trait CustomCommand: Send + Sync {
    /// Runs the command.
    fn execute(&self, args: &CustomArgs, m: &mut Machine<'_>) -> Result<CustomFlow, RuntimeError>;
}

/// A test provided by the host.
pub trait CustomTest: Send + Sync {
    /// Evaluates the test.
    fn evaluate(&self, args: &CustomArgs, m: &mut Machine<'_>) -> Result<bool, RuntimeError>;
}
