//! How `apply` shows what happens: on a terminal, a spinner per running stack
//! with events scrolling above; in CI, with `NO_COLOR`, or when output is not
//! a terminal, plain timestamped lines that read well in a build log.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::cloud::cfn::EventInfo;

type Sink = Box<dyn Fn(&str) + Send + Sync>;

pub struct Progress {
    terminal: Option<MultiProgress>,
    sink: Sink,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Progress {
    /// Plain lines to `sink` (tests capture them this way).
    pub fn plain(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            terminal: None,
            sink: Box::new(sink),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    /// A live display when stdout is a terminal and neither `NO_COLOR` nor
    /// `CI` is set; plain lines on stdout otherwise.
    pub fn detect() -> Self {
        let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
        let no_color = set("NO_COLOR") || set("CI");
        let stdout_line = |line: &str| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        };
        if crate::output::level() == crate::output::Verbosity::Quiet {
            // Failures still reach the user through the error that ends apply.
            return Self::plain(|_: &str| {});
        }
        if std::io::stdout().is_terminal() && !no_color {
            Self {
                terminal: Some(MultiProgress::new()),
                sink: Box::new(stdout_line),
                bars: Mutex::new(BTreeMap::new()),
            }
        } else {
            Self::plain(stdout_line)
        }
    }

    pub fn is_terminal(&self) -> bool {
        self.terminal.is_some()
    }

    /// A line of output, printed above any spinners.
    pub fn line(&self, text: &str) {
        match &self.terminal {
            Some(multi) => {
                for line in text.lines() {
                    let _ = multi.println(line);
                }
            }
            None => (self.sink)(text.trim_end_matches('\n')),
        }
    }

    pub fn event(&self, stack: &str, event: &EventInfo) {
        let reason = event
            .reason
            .as_deref()
            .map(|r| format!("  {r}"))
            .unwrap_or_default();
        let status = if self.is_terminal() {
            colour(&event.status)
        } else {
            event.status.clone()
        };
        self.line(&format!(
            "{}  {stack}  {}  {}  {status}{reason}",
            event.timestamp, event.logical_id, event.resource_type
        ));
        if let Some(bar) = self.bars.lock().expect("progress lock").get(stack) {
            bar.set_message(format!("{stack}: {} {}", event.logical_id, event.status));
        }
    }

    /// A stack operation starts: a spinner on a terminal, a line otherwise.
    pub fn started(&self, stack: &str, what: &str) {
        match &self.terminal {
            Some(multi) => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                        .expect("valid template"),
                );
                bar.set_message(format!("{stack}: {what}"));
                bar.enable_steady_tick(Duration::from_millis(120));
                self.bars
                    .lock()
                    .expect("progress lock")
                    .insert(stack.to_string(), bar);
            }
            None => self.line(&format!("{stack}: {what}")),
        }
    }

    pub fn finished(&self, stack: &str, text: &str) {
        if let Some(bar) = self.bars.lock().expect("progress lock").remove(stack) {
            bar.finish_and_clear();
        }
        self.line(&format!("{stack}: {text}"));
    }
}

fn colour(status: &str) -> String {
    let code = if status.ends_with("_FAILED") || status.contains("ROLLBACK") {
        "31"
    } else if status.ends_with("_COMPLETE") {
        "32"
    } else {
        "33"
    };
    format!("\x1b[{code}m{status}\x1b[0m")
}
