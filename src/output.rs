//! How chatty the command line is: `--quiet` keeps only results and errors,
//! `--verbose` adds where things come from. Reports (stdout) are never
//! affected; these are the progress notes on stderr.

use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet = 0,
    Normal = 1,
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

pub fn set(level: Verbosity) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn level() -> Verbosity {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// A progress note: shown unless `--quiet`.
pub fn notice(line: &str) {
    if level() >= Verbosity::Normal {
        eprintln!("{line}");
    }
}

/// Background detail: shown only with `--verbose`.
pub fn detail(line: &str) {
    if level() >= Verbosity::Verbose {
        eprintln!("{line}");
    }
}
