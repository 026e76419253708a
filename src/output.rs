//! The one printer. Reports go to stdout, progress and notes to stderr, and
//! both through a [`Printer`] resolved once from `--quiet`/`--verbose`,
//! `--color`, `NO_COLOR`/`CLICOLOR_FORCE` and whether each stream is a
//! terminal. Styles come from `anstyle`; `anstream` strips them wherever colour
//! is off, so no code path decides about escape codes on its own.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use anstream::ColorChoice as StreamChoice;
use anstyle::{AnsiColor, Style};

use crate::exit::Exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet = 0,
    Normal = 1,
    Verbose = 2,
}

/// `--color`: `auto` colours a stream only when it is a terminal and neither
/// `NO_COLOR` nor `CI` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// How a report is written: `human` for terminals, `json` for programs,
/// `markdown` for pull-request comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
    Markdown,
    /// SARIF 2.1.0, for code-scanning annotations.
    Sarif,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Sarif => "sarif",
        }
    }
}

/// A command's result. [`Printer::print`] is the one path from a report to
/// stdout, and the report says how the process exits after it.
pub trait Report {
    /// What the report is called in messages (`plan`, `drift report`, …).
    fn kind(&self) -> &'static str;
    /// Most reports only inform; plans, checks, diffs and drift decide.
    fn exit(&self) -> Exit {
        Exit::Clean
    }
    fn human(&self, printer: &Printer) -> String;
    fn json(&self) -> String;
    /// For pull-request comments, where the report has such a form.
    fn markdown(&self) -> Option<String> {
        None
    }
    /// For code-scanning services, where the report has such a form.
    fn sarif(&self) -> Option<String> {
        None
    }
}

/// A report's JSON document: the version of its shape, then the report's
/// own fields. Programs reading it check the version; each report bumps its
/// own when its shape changes.
#[derive(serde::Serialize)]
pub struct Versioned<T> {
    pub format_version: u32,
    #[serde(flatten)]
    pub report: T,
}

/// `report`'s JSON document (an object's fields beside `format_version`).
pub fn versioned_json(format_version: u32, report: impl serde::Serialize) -> String {
    json_text(&Versioned {
        format_version,
        report,
    })
}

/// Pretty JSON with a trailing newline, for the reports' JSON forms.
pub fn json_text(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("reports serialise");
    text.push('\n');
    text
}

/// Why a report could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the {kind} has no {format} form; use human or json")]
    NoSuchForm {
        kind: &'static str,
        format: &'static str,
    },
    #[error(transparent)]
    Stdout(#[from] std::io::Error),
}

/// What a piece of text means, so it can be coloured consistently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Attention,
}

impl Tone {
    fn style(self) -> Style {
        match self {
            Tone::Good => AnsiColor::Green.on_default(),
            Tone::Bad => AnsiColor::Red.on_default().bold(),
            Tone::Attention => AnsiColor::Yellow.on_default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Printer {
    verbosity: Verbosity,
    stdout_colour: bool,
    stderr_colour: bool,
    live: bool,
    /// Nothing reaches stderr (library callers and tests that only want results).
    silent: bool,
}

fn env_set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

impl Printer {
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Self {
        let auto = |terminal: bool| terminal && !env_set("NO_COLOR") && !env_set("CI");
        let resolve = |terminal: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => env_set("CLICOLOR_FORCE") || auto(terminal),
        };
        let stderr_terminal = std::io::stderr().is_terminal();
        Self {
            verbosity,
            stdout_colour: resolve(std::io::stdout().is_terminal()),
            stderr_colour: resolve(stderr_terminal),
            // Spinners need a terminal that is not a CI log.
            live: stderr_terminal
                && !env_set("CI")
                && !env_set("NO_COLOR")
                && verbosity > Verbosity::Quiet,
            silent: false,
        }
    }

    /// A printer that writes nothing to stderr; reports still go to stdout.
    pub fn silent() -> Self {
        Self {
            verbosity: Verbosity::Quiet,
            stdout_colour: false,
            stderr_colour: false,
            live: false,
            silent: true,
        }
    }

    /// Whether progress may be drawn live (spinners) rather than as lines.
    pub fn live(&self) -> bool {
        self.live
    }

    /// A report, to stdout. A closed pipe (`mlinfra plan | head`) comes back
    /// as `BrokenPipe`, which the caller ends on quietly.
    pub fn report(&self, text: &str) -> std::io::Result<()> {
        let choice = if self.stdout_colour {
            StreamChoice::AlwaysAnsi
        } else {
            StreamChoice::Never
        };
        let mut out = anstream::AutoStream::new(std::io::stdout().lock(), choice);
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Prints `report` in `format` to stdout and says how to exit.
    pub fn print(&self, report: &dyn Report, format: Format) -> Result<Exit, PrintError> {
        let text = match format {
            Format::Human => report.human(self),
            Format::Json => report.json(),
            Format::Markdown => report.markdown().ok_or(PrintError::NoSuchForm {
                kind: report.kind(),
                format: format.name(),
            })?,
            Format::Sarif => report.sarif().ok_or(PrintError::NoSuchForm {
                kind: report.kind(),
                format: format.name(),
            })?,
        };
        self.report(&text)?;
        Ok(report.exit())
    }

    /// Text styled for stderr.
    pub fn paint_note(&self, text: &str, tone: Tone) -> String {
        paint(text, tone, self.stderr_colour)
    }

    fn stderr(&self, line: &str) {
        if self.silent {
            return;
        }
        let choice = if self.stderr_colour {
            StreamChoice::AlwaysAnsi
        } else {
            StreamChoice::Never
        };
        let write = || {
            let mut err = anstream::AutoStream::new(std::io::stderr().lock(), choice);
            let _ = writeln!(err, "{line}");
        };
        // A note printed while a spinner turns goes above it, not through it.
        let spinning = SPINNER.lock().ok().and_then(|s| s.clone());
        match spinning {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// A spinner with the elapsed time while a long wait runs (`plan`,
    /// `drift`), on a live terminal only: piped or in CI, the step's own
    /// notes are the plain lines. It stops when the returned guard drops.
    pub fn spinner(&self, message: &str) -> Spinner {
        if !self.live || self.silent || self.verbosity < Verbosity::Normal {
            return Spinner(None);
        }
        let bar = indicatif::ProgressBar::new_spinner().with_message(message.to_string());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut slot) = SPINNER.lock() {
            *slot = Some(bar.clone());
        }
        Spinner(Some(bar))
    }

    /// A progress note: shown unless `--quiet`.
    pub fn notice(&self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.stderr(line);
        }
    }

    /// Background detail: shown only with `--verbose`.
    pub fn detail(&self, line: &str) {
        if self.verbosity >= Verbosity::Verbose {
            self.stderr(line);
        }
    }

    /// A question on stderr, answered on the same line; shown even with
    /// `--quiet`, since the command waits for it.
    pub fn prompt(&self, question: &str) {
        if self.silent {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question}");
        let _ = err.flush();
    }

    /// The error that ends the command; always shown.
    pub fn error(&self, message: &str) {
        let label = self.paint_note("error:", Tone::Bad);
        self.stderr(&format!("{label} {message}"));
    }
}

fn paint(text: &str, tone: Tone, colour: bool) -> String {
    if colour {
        let style = tone.style();
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// The spinner turning now, if any, so notes are printed above it.
static SPINNER: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Stops its spinner when dropped.
#[must_use = "the spinner stops when this is dropped"]
pub struct Spinner(Option<indicatif::ProgressBar>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
            if let Ok(mut slot) = SPINNER.lock() {
                *slot = None;
            }
        }
    }
}

/// A plain table with a header row, columns as wide as their widest cell.
pub fn table<I, R>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: ToString,
{
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for row in rows {
        table.add_row(row.into_iter().map(|cell| cell.to_string()));
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let mut text: String = table
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect();
    if text.is_empty() {
        text.push('\n');
    }
    text
}

static INSTALLED: OnceLock<Printer> = OnceLock::new();

/// Makes `printer` the one that code without a session at hand (template
/// loading, the account guard) reports through. Set once, by the CLI.
pub fn install(printer: Printer) {
    let _ = INSTALLED.set(printer);
}

/// The installed printer, or a normal one where none was installed (library use).
pub fn printer() -> &'static Printer {
    INSTALLED.get_or_init(|| Printer::new(Verbosity::Normal, ColorChoice::Never))
}

/// Background detail through the installed printer.
pub fn detail(line: &str) {
    printer().detail(line);
}
