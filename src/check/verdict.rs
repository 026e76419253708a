//! The check verdict: the findings as a human table, JSON or SARIF, and the
//! exit code it implies (0 clean, 2 when an unaccepted finding is at or above
//! `--fail-on`).

use std::fmt::Write as _;

use std::collections::BTreeMap;

use serde::Serialize;

use super::accept::Reviewed;
use super::rule::Severity;
use super::tree::TemplateFile;
use crate::exit::Exit;

/// Bumped when the JSON of `check` changes shape.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub fail_on: Severity,
    pub environments: Vec<String>,
    pub stacks: usize,
    /// Worst first, then by environment, stack, rule and logical id.
    pub findings: Vec<Reviewed>,
    /// The files the stacks were read from (`check --templates`), by stack name.
    #[serde(skip)]
    pub files: BTreeMap<String, TemplateFile>,
    /// Grants AWS offers no narrower scope for (not findings).
    pub unscoped: Vec<super::unscoped::Unscoped>,
}

impl Report {
    pub fn new(
        fail_on: Severity,
        environments: Vec<String>,
        stacks: usize,
        mut findings: Vec<Reviewed>,
    ) -> Self {
        findings.sort_by(|a, b| {
            let key = |r: &Reviewed| {
                let f = &r.finding;
                (
                    std::cmp::Reverse(f.severity),
                    f.env.clone(),
                    f.stack.clone(),
                    f.rule,
                    f.logical_id.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        Self {
            fail_on,
            environments,
            stacks,
            findings,
            files: BTreeMap::new(),
            unscoped: Vec::new(),
        }
    }

    /// Where a finding points: the template file and the resource's line when
    /// the stacks were read from files, else the environment's configuration.
    pub fn location(&self, reviewed: &Reviewed) -> (String, Option<usize>) {
        let f = &reviewed.finding;
        match f.stack.as_ref().and_then(|s| self.files.get(s)) {
            Some(file) => (
                file.path.to_string_lossy().replace('\\', "/"),
                f.logical_id
                    .as_ref()
                    .and_then(|id| file.lines.get(id).copied()),
            ),
            None => (format!("environments/{}.toml", f.env), None),
        }
    }

    /// Whether this finding fails the run.
    pub fn fails(&self, reviewed: &Reviewed) -> bool {
        reviewed.accepted.is_none() && reviewed.finding.severity >= self.fail_on
    }

    pub fn failing(&self) -> usize {
        self.findings.iter().filter(|r| self.fails(r)).count()
    }

    pub fn exit(&self) -> Exit {
        if self.failing() > 0 {
            Exit::Changes
        } else {
            Exit::Clean
        }
    }

    pub fn json(&self) -> String {
        let findings: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|r| {
                let mut value = serde_json::to_value(r).expect("findings serialise");
                value["fails"] = serde_json::Value::Bool(self.fails(r));
                value
            })
            .collect();
        let document = serde_json::json!({
            "format_version": FORMAT_VERSION,
            "fail_on": self.fail_on,
            "environments": self.environments,
            "stacks": self.stacks,
            "findings": findings,
            "unscoped": self.unscoped,
            "summary": {
                "findings": self.findings.len(),
                "accepted": self.findings.iter().filter(|r| r.accepted.is_some()).count(),
                "failing": self.failing(),
            },
        });
        let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialise");
        text.push('\n');
        text
    }

    pub fn human(&self) -> String {
        let mut text = String::new();
        let (accepted, open): (Vec<&Reviewed>, Vec<&Reviewed>) =
            self.findings.iter().partition(|r| r.accepted.is_some());
        if !open.is_empty() {
            text.push_str("FINDINGS\n");
            for r in &open {
                self.row(&mut text, r);
            }
        }
        if !accepted.is_empty() {
            if !open.is_empty() {
                text.push('\n');
            }
            text.push_str("ACCEPTED\n");
            for r in &accepted {
                self.row(&mut text, r);
            }
        }
        if !self.findings.is_empty() {
            text.push('\n');
        }
        if !self.unscoped.is_empty() {
            text.push_str(
                "SHARED WITH OTHER ENVIRONMENTS OF THE ACCOUNT (AWS offers no narrower scope; see docs/check.md)\n",
            );
            for u in &self.unscoped {
                let _ = writeln!(
                    text,
                    "  {} [{}]: {}",
                    u.grant,
                    u.environments.join(", "),
                    u.why
                );
            }
            text.push('\n');
        }
        let envs = self.environments.join(", ");
        let _ = write!(text, "checked {} ({} stacks): ", envs, self.stacks);
        if self.findings.is_empty() {
            text.push_str("no findings\n");
        } else {
            let _ = writeln!(
                text,
                "{} open, {} accepted, {} at or above {} (the run {})",
                plural(open.len(), "finding"),
                accepted.len(),
                self.failing(),
                self.fail_on,
                if self.failing() > 0 {
                    "fails"
                } else {
                    "passes"
                },
            );
        }
        text
    }

    fn row(&self, text: &mut String, r: &Reviewed) {
        let f = &r.finding;
        let mark = if self.fails(r) { "✗" } else { " " };
        let place = match (&f.stack, &f.logical_id) {
            (Some(stack), Some(id)) => format!("{stack}/{id}"),
            (Some(stack), None) => format!("{stack} (whole stack)"),
            (None, _) => format!("{} (configuration)", f.env),
        };
        let _ = writeln!(
            text,
            "{mark} {:<8} {:<7} {place}",
            f.severity.as_str(),
            f.rule.code()
        );
        let _ = writeln!(text, "      {}", f.message);
        match &r.accepted {
            Some(a) => {
                let _ = writeln!(text, "      accepted as {}: {}", a.key, a.reason);
            }
            None => {
                let _ = writeln!(text, "      fix: {}", f.fix);
            }
        }
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
