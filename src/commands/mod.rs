//! One module per command, each `run(&Session, &Args) -> Result<Exit>`: it
//! loads what it needs through the session, calls one step of the flow and
//! prints the step's report through the printer. Domain logic stays in the
//! step's own module.

pub mod apply;
pub mod bootstrap;
pub mod check;
pub mod completions;
pub mod cost;
pub mod destroy;
pub mod diff;
pub mod drift;
pub mod import;
pub mod init;
pub mod list;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod prices;
pub mod render;
pub mod schema;
pub mod status;
pub mod traffic;
pub mod train;
pub mod validate;
