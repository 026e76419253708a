//! The one integration test binary (each file directly under tests/ would link
//! the whole AWS SDK once more). One module per area, one shared harness:
//!
//! - `render`: snapshots of every template, the malformed-config corpus, linters;
//! - `cli`: the command line as a user meets it;
//! - `check`: every rule broken on purpose, input faults, fuzzing;
//! - `cloud`: plan and apply against the emulator, fault injection;
//! - `drift`: deep checks against the emulator, drift detection against mocks;
//! - `ops`: train and status;
//! - `traffic`: traffic, weight and alarm drift, status with variants and alarms;
//! - `markdown`: every Markdown report read back by a CommonMark parser;
//! - `prices`: price tables per region, `prices update`, `--debug`;
//! - `completion`: shell completion of environment names;
//! - `architecture`: the shape of the source (no import cycle).

// Tests report figures (AWS calls, fuzz cases) on stderr for the log.
#![allow(clippy::print_stderr)]

mod architecture;
mod check;
mod cli;
mod cloud;
mod common;
mod completion;
mod delivery;
mod drift;
mod markdown;
mod ops;
mod prices;
mod render;
mod traffic;
mod training;
