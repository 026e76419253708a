//! A drift report for people (a terminal), for machines (JSON) and for
//! pull-request or issue comments (markdown). Pure functions of the report.

use std::fmt::Write;

use serde::Serialize;

use crate::drift::{Detection, DriftFinding, DriftReport, Severity, Verdict};
use crate::exit::Exit;
use crate::output::{Printer, Report};

fn sentence(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::InSync => "in sync (exit 0)",
        Verdict::Drifted => "drift found (exit 2)",
        Verdict::Incomplete => "incomplete: some checks could not be made (exit 1)",
    }
}

fn detection_text(detection: &Detection) -> String {
    match detection {
        Detection::Complete => "complete".to_string(),
        Detection::Failed { reason } => format!("failed for some resources: {reason}"),
        Detection::TimedOut { after } => {
            format!("timed out after {}s; results not read", after.as_secs())
        }
        Detection::Unsupported { reason } => format!("not available: {reason}"),
        Detection::Error { message } => format!("error: {message}"),
        Detection::Skipped => "skipped: stack not deployed".to_string(),
    }
}

fn resource(finding: &DriftFinding) -> String {
    if finding.logical_id.is_empty() {
        return "(stack)".to_string();
    }
    match &finding.physical_id {
        Some(id) => format!("{} ({id})", finding.logical_id),
        None => finding.logical_id.clone(),
    }
}

fn summary(report: &DriftReport) -> String {
    let n = report.findings.len();
    format!(
        "{n} finding{}: {} high, {} medium, {} low",
        if n == 1 { "" } else { "s" },
        report.count(Severity::High),
        report.count(Severity::Medium),
        report.count(Severity::Low),
    )
}

fn stats(report: &DriftReport) -> String {
    format!(
        "{} AWS calls ({} requests) in {:.1} s",
        report.stats.calls,
        report.stats.requests,
        report.stats.elapsed_ms as f64 / 1000.0
    )
}

pub fn human(report: &DriftReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Drift of {} (account {}, {}): {}",
        report.env,
        report.account_id,
        report.region,
        summary(report)
    );

    out.push_str("\nCloudFormation drift detection\n");
    let width = report
        .detection
        .iter()
        .map(|d| d.stack.len())
        .max()
        .unwrap_or(0);
    for stack in &report.detection {
        let _ = writeln!(
            out,
            "  {:<width$}  {}",
            stack.stack,
            detection_text(&stack.detection)
        );
    }
    let not_checked: Vec<String> = report
        .detection
        .iter()
        .flat_map(|d| {
            d.not_checked.iter().map(move |r| {
                let reason = r
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                format!(
                    "    {} {} ({}){reason}",
                    d.stack, r.logical_id, r.resource_type
                )
            })
        })
        .collect();
    if !not_checked.is_empty() {
        out.push_str("  Not checked by CloudFormation (not known to be in sync):\n");
        for line in not_checked {
            let _ = writeln!(out, "{line}");
        }
    }

    if !report.findings.is_empty() {
        out.push_str("\nFindings\n");
        for finding in &report.findings {
            let _ = writeln!(
                out,
                "  {:<6}  {} / {}  [{}]",
                finding.severity.as_str().to_uppercase(),
                finding.stack,
                resource(finding),
                finding.resource_type
            );
            let pad = "          ";
            let _ = writeln!(
                out,
                "{pad}{} (from {})",
                finding.check,
                finding.source.as_str()
            );
            let _ = writeln!(out, "{pad}expected: {}", finding.expected);
            let _ = writeln!(out, "{pad}actual:   {}", finding.actual);
            let _ = writeln!(out, "{pad}hint:     {}", finding.hint);
        }
    }

    if !report.errors.is_empty() {
        out.push_str("\nChecks that could not be made\n");
        for error in &report.errors {
            let at = if error.logical_id.is_empty() {
                error.stack.clone()
            } else {
                format!("{} / {}", error.stack, error.logical_id)
            };
            let _ = writeln!(out, "  {at}: {}", error.message);
        }
    }

    if let Some(fleet) = &report.fleet {
        out.push_str("\nFleet StackSets ([env.targets])\n");
        out.push_str(&fleet.human_text());
    }

    let _ = writeln!(
        out,
        "\nResult: {}\n{}",
        sentence(report.verdict()),
        stats(report)
    );
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    verdict: Verdict,
    #[serde(flatten)]
    report: &'a DriftReport,
}

/// Bumped when the JSON of `drift` changes shape.
pub const FORMAT_VERSION: u32 = 1;

pub fn json(report: &DriftReport) -> String {
    let mut text = serde_json::to_string_pretty(&JsonReport {
        format_version: FORMAT_VERSION,
        verdict: report.verdict(),
        report,
    })
    .expect("a report always serialises");
    text.push('\n');
    text
}

/// A table cell: one line, pipes escaped, as inline code when `code`.
fn cell(text: &str, code: bool) -> String {
    if code && !text.trim().is_empty() {
        super::text::code(text)
    } else {
        super::text::escape(text)
    }
}

pub fn markdown(report: &DriftReport) -> String {
    let mut out = String::new();
    let verdict = report.verdict();
    let _ = writeln!(
        out,
        "### mlinfra drift: {} — {}\n",
        super::text::code(&report.env),
        sentence(verdict)
    );
    let _ = writeln!(
        out,
        "Account {}, region {}. {}.\n",
        super::text::code(&report.account_id),
        super::text::code(&report.region),
        super::text::escape(&summary(report))
    );

    if !report.findings.is_empty() {
        out.push_str("| Severity | Stack | Resource | Check | Expected | Actual | Hint |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for f in &report.findings {
            let _ = writeln!(
                out,
                "| **{}** | {} | {} | {} | {} | {} | {} |",
                f.severity,
                super::text::code(&f.stack),
                cell(&resource(f), true),
                cell(&format!("{} ({})", f.check, f.source.as_str()), false),
                cell(&f.expected, true),
                cell(&f.actual, true),
                cell(&f.hint, false),
            );
        }
        out.push('\n');
    }

    out.push_str("#### CloudFormation drift detection\n\n");
    out.push_str("| Stack | Detection | Not checked |\n|---|---|---|\n");
    for stack in &report.detection {
        let not_checked: Vec<String> = stack
            .not_checked
            .iter()
            .map(|r| {
                format!(
                    "{} ({})",
                    super::text::code(&r.logical_id),
                    super::text::code(&r.resource_type)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            super::text::code(&stack.stack),
            cell(&detection_text(&stack.detection), false),
            if not_checked.is_empty() {
                "—".to_string()
            } else {
                not_checked.join(", ")
            }
        );
    }

    if !report.errors.is_empty() {
        out.push_str("\n#### Checks that could not be made\n\n");
        for error in &report.errors {
            let at = if error.logical_id.is_empty() {
                super::text::code(&error.stack)
            } else {
                format!(
                    "{} / {}",
                    super::text::code(&error.stack),
                    super::text::code(&error.logical_id)
                )
            };
            let _ = writeln!(out, "- {at}: {}", cell(&error.message, false));
        }
    }
    if let Some(fleet) = &report.fleet {
        let _ = write!(
            out,
            "\n#### Fleet: StackSet drift detection\n\n{}",
            fleet.markdown_text()
        );
    }
    let _ = writeln!(out, "\n<sub>{}</sub>", super::text::html(&stats(report)));
    out
}

impl Report for DriftReport {
    fn kind(&self) -> &'static str {
        "drift report"
    }

    /// An incomplete run is an error even when it found drift.
    fn exit(&self) -> Exit {
        match self.verdict() {
            Verdict::InSync => Exit::Clean,
            Verdict::Drifted => Exit::Changes,
            Verdict::Incomplete => Exit::Error,
        }
    }

    fn human(&self, _: &Printer) -> String {
        human(self)
    }

    fn json(&self) -> String {
        json(self)
    }

    fn markdown(&self) -> Option<String> {
        Some(markdown(self))
    }
}
