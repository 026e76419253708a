//! The exit-code contract, for CI as `terraform plan -detailed-exitcode` is:
//! 0 success and nothing to change, 1 error, 2 changes or findings, 3 blocked
//! by a safety guard. Dependency-free so every module can speak it.
//!
//! Where an exit code comes from, in one place each:
//! - a report (plan, check, drift, diff, status, train, cost) says its own
//!   through `output::Report::exit` — a blocked plan is a report whose exit is 3;
//! - an error says it through `Error::exit` — a refusal (wrong account,
//!   unapproved broadening, a plan that differs from what was reviewed) is 3,
//!   everything else 1.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Success, nothing to change.
    Clean = 0,
    /// An error: bad input, AWS failure, failed deploy.
    Error = 1,
    /// `plan`/`diff`: changes present; `drift`/`check`: drift or findings.
    Changes = 2,
    /// A safety guard refused to go on.
    Blocked = 3,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}
