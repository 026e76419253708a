//! How `apply` shows what happens, on stderr (stdout is for reports): on a
//! terminal, a spinner per running stack with events scrolling above; in CI,
//! with `NO_COLOR`, or when stderr is not a terminal, plain timestamped lines
//! that read well in a build log.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::cloud::cfn::EventInfo;
use crate::output::{Printer, Tone};

type Sink = Box<dyn Fn(&str) + Send + Sync>;

pub struct Progress {
    terminal: Option<MultiProgress>,
    sink: Sink,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    /// Set when statuses are coloured (live display only).
    colour: Option<Printer>,
}

impl Progress {
    /// Plain lines to `sink` (tests capture them this way).
    pub fn plain(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            terminal: None,
            sink: Box::new(sink),
            bars: Mutex::new(BTreeMap::new()),
            colour: None,
        }
    }

    /// Through the printer: a live display when it may draw one (stderr is a
    /// terminal, not CI, not `NO_COLOR`), plain lines on stderr otherwise,
    /// nothing with `--quiet` (failures still reach the user through the
    /// error that ends apply).
    pub fn for_printer(printer: &Printer) -> Self {
        let lines = printer.clone();
        let sink = move |line: &str| lines.notice(line);
        if printer.live() {
            Self {
                terminal: Some(MultiProgress::new()),
                sink: Box::new(sink),
                bars: Mutex::new(BTreeMap::new()),
                colour: Some(printer.clone()),
            }
        } else {
            Self::plain(sink)
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
        let status = match &self.colour {
            Some(printer) => printer.paint_note(&event.status, tone(&event.status)),
            None => event.status.clone(),
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

fn tone(status: &str) -> Tone {
    if status.ends_with("_FAILED") || status.contains("ROLLBACK") {
        Tone::Bad
    } else if status.ends_with("_COMPLETE") {
        Tone::Good
    } else {
        Tone::Attention
    }
}
