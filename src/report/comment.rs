//! A Markdown report as a pull-request comment: a hidden marker naming the
//! report and its environment (so CI finds and updates its own comment), a
//! size cap under GitHub's limit with a pointer to the full text, and a
//! footer with the tool's version and the commit that was planned.

use std::fmt::Write;

use crate::exit::Exit;
use crate::output::{Printer, Report};

/// GitHub refuses comments over 65,536 characters; the cap leaves room for
/// the marker, the notice and the footer.
pub const MAX_COMMENT: usize = 60_000;

/// Where a comment was made: what the footer says and where the full text is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The commit of the configuration, short form.
    pub commit: Option<String>,
    /// The CI run keeping the full report as an artifact.
    pub run_url: Option<String>,
}

impl Context {
    /// Read from the CI's variables (GitHub Actions, CodeBuild, GitLab),
    /// else from `git` in the project directory.
    pub fn detect(project_dir: Option<&std::path::Path>) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let commit = [
            "GITHUB_SHA",
            "CODEBUILD_RESOLVED_SOURCE_VERSION",
            "CI_COMMIT_SHA",
        ]
        .iter()
        .find_map(|name| var(name))
        .or_else(|| {
            let mut git = std::process::Command::new("git");
            if let Some(dir) = project_dir {
                git.arg("-C").arg(dir);
            }
            let out = git.args(["rev-parse", "HEAD"]).output().ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .map(|sha| sha.chars().take(12).collect());
        let run_url = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(run)) => {
                Some(format!("{server}/{repo}/actions/runs/{run}"))
            }
            _ => var("CODEBUILD_BUILD_URL").or_else(|| var("CI_JOB_URL")),
        };
        Context { commit, run_url }
    }
}

/// The marker CI searches for: `<!-- mlinfra:plan env=dev -->`.
pub fn marker(kind: &str, scope: &str) -> String {
    format!("<!-- mlinfra:{kind} env={scope} -->")
}

pub fn footer(context: &Context) -> String {
    let mut text = format!("<sub>mlinfra {}", env!("CARGO_PKG_VERSION"));
    if let Some(commit) = &context.commit {
        let _ = write!(text, " · commit <code>{}</code>", super::text::html(commit));
    }
    text.push_str("</sub>");
    text
}

/// Marker, body cut to the cap, footer. `again` is the command that prints
/// the full text, for when there is no CI run to point at.
pub fn finish(kind: &str, scope: &str, body: &str, context: &Context, again: &str) -> String {
    let mut out = marker(kind, scope);
    out.push('\n');
    out.push_str(&cap(body, context, again));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(&footer(context));
    out.push('\n');
    out
}

/// The body whole when it fits, else its first lines up to the cap with every
/// open code fence and `<details>` closed, and where to read the rest.
fn cap(body: &str, context: &Context, again: &str) -> String {
    if body.len() <= MAX_COMMENT {
        return body.to_string();
    }
    let mut kept = String::new();
    let (mut fenced, mut open_details) = (false, 0usize);
    for line in body.lines() {
        if kept.len() + line.len() + 1 > MAX_COMMENT {
            break;
        }
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced {
            open_details += line.matches("<details>").count();
            open_details = open_details.saturating_sub(line.matches("</details>").count());
        }
        kept.push_str(line);
        kept.push('\n');
    }
    if fenced {
        kept.push_str("```\n");
    }
    for _ in 0..open_details {
        kept.push_str("\n</details>\n");
    }
    let pointer = match &context.run_url {
        Some(url) => format!("the full report is kept with [this run]({url})"),
        None => format!("`{again}` prints all of it"),
    };
    let _ = write!(
        kept,
        "\n> [!NOTE]\n> Cut at {} of {} characters to fit a comment; {pointer}.\n",
        kept.len(),
        body.len()
    );
    kept
}

/// Any report with a Markdown form, as a comment.
pub struct Comment<R> {
    pub report: R,
    pub kind: &'static str,
    pub scope: String,
    pub context: Context,
    /// The command that prints the full Markdown.
    pub again: String,
}

impl<R: Report> Report for Comment<R> {
    fn kind(&self) -> &'static str {
        self.report.kind()
    }

    fn exit(&self) -> Exit {
        self.report.exit()
    }

    fn human(&self, printer: &Printer) -> String {
        self.report.human(printer)
    }

    fn json(&self) -> String {
        self.report.json()
    }

    fn markdown(&self) -> Option<String> {
        let body = self.report.markdown()?;
        Some(finish(
            self.kind,
            &self.scope,
            &body,
            &self.context,
            &self.again,
        ))
    }

    fn sarif(&self) -> Option<String> {
        self.report.sarif()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            commit: Some("0123456789ab".into()),
            run_url: None,
        }
    }

    #[test]
    fn marker_and_footer_frame_the_body() {
        let text = finish(
            "plan",
            "dev",
            "body\n",
            &context(),
            "mlinfra plan --env dev",
        );
        assert_eq!(
            text,
            format!(
                "<!-- mlinfra:plan env=dev -->\nbody\n\n<sub>mlinfra {} · commit <code>0123456789ab</code></sub>\n",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn a_long_body_is_cut_with_its_details_closed_and_a_pointer() {
        let row = "| `a` | `b` |\n";
        let body = format!("<details><summary>x</summary>\n\n{}", row.repeat(10_000));
        let text = finish(
            "plan",
            "dev",
            &body,
            &context(),
            "mlinfra plan --env dev --format markdown",
        );
        assert!(text.len() < 65_536, "{}", text.len());
        assert!(text.contains("</details>"));
        assert!(text.contains("`mlinfra plan --env dev --format markdown` prints all of it"));
        let linked = Context {
            run_url: Some("https://github.com/o/r/actions/runs/1".into()),
            ..context()
        };
        let text = finish("plan", "dev", &body, &linked, "x");
        assert!(text.contains("[this run](https://github.com/o/r/actions/runs/1)"));
    }
}
