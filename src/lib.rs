//! mlinfra: typed environment configs → reviewed CloudFormation stacks for ML
//! platforms on AWS. Each module is one step of the flow:
//! `config` (load, validate) → `stacks` → `render` → `check` / `plan` → `apply`,
//! and `drift` comparing the account with the rendered templates,
//! with `report` formatting results, `cli` parsing arguments into a session,
//! `commands` running one command each, `output` the one printer and `exit`
//! the exit-code contract. `cloud` is the only door to AWS.

pub mod apply;
pub mod check;
pub mod cli;
pub mod cloud;
pub mod code;
pub mod commands;
pub mod config;
pub mod cost;
pub mod delivery;
pub mod destroy;
pub mod diff;
pub mod drift;
pub mod error;
pub mod exit;
pub mod fleet;
pub mod import;
pub mod ops;
pub mod output;
pub mod plan;
pub mod project;
pub mod render;
pub mod report;
pub mod scaffold;
pub mod stacks;
pub mod standalone;
pub mod template;

pub use error::{Error, Result};
pub use exit::Exit;
