//! `mlinfra check`: offline rules over the rendered templates and the typed
//! `Env` — least privilege, data protection, serving and training sanity, and
//! CloudFormation's limits. No AWS calls: everything is read from what
//! `render` produced, so the same findings come up in CI and on a laptop.

pub mod accept;
mod data;
mod iam;
mod limits;
pub mod rule;
pub mod sarif;
pub mod tree;
pub mod verdict;
mod workload;

use serde::Serialize;

pub use accept::{Accepted, Reviewed, review};
pub use iam::WITHOUT_RESOURCE_LEVEL;
pub use rule::{RuleId, Severity};
pub use verdict::Report;

use crate::config::Env;
use crate::project::Project;
use crate::render::model::Exports;
use crate::render::{self, Engine, RenderedStack, TemplateError};
use crate::template::Template;
use crate::template::intrinsic::Scope;

/// One problem found in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: RuleId,
    pub severity: Severity,
    pub env: String,
    /// The stack's name; `None` for findings about the configuration as a whole.
    pub stack: Option<String>,
    /// The resource (or output) at fault; `None` for whole-stack findings.
    pub logical_id: Option<String>,
    pub message: String,
    pub fix: &'static str,
}

impl Finding {
    pub fn new(
        rule: RuleId,
        env: &Env,
        stack: Option<&str>,
        logical_id: Option<&str>,
        message: String,
    ) -> Self {
        Self {
            rule,
            severity: rule.severity(),
            env: env.name.clone(),
            stack: stack.map(str::to_string),
            logical_id: logical_id.map(str::to_string),
            message,
            fix: rule.fix(),
        }
    }
}

/// What every rule looks at for one stack, and where its findings go.
pub(crate) struct StackCheck<'a> {
    pub env: &'a Env,
    pub stack: &'a RenderedStack,
    /// `{"Fn::ImportValue": "<prefix>-data-KeyArn"}`: how other stacks name the environment key.
    pub env_key: serde_json::Value,
    findings: Vec<Finding>,
}

impl<'a> StackCheck<'a> {
    fn new(env: &'a Env, stack: &'a RenderedStack) -> Self {
        // The export name comes from the render model, the one place that names it.
        let exports = Exports::of(env);
        Self {
            env,
            stack,
            env_key: serde_json::json!({ "Fn::ImportValue": exports.key_arn }),
            findings: Vec::new(),
        }
    }

    pub fn template(&self) -> Template<'a> {
        Template::new(&self.stack.template.value)
    }

    /// How values of this template evaluate before deployment.
    pub fn scope(&self) -> Scope<'a> {
        Scope::of(&self.stack.template.value)
    }

    pub fn report(&mut self, rule: RuleId, logical_id: Option<&str>, message: impl Into<String>) {
        let finding = Finding::new(
            rule,
            self.env,
            Some(&self.stack.spec.name),
            logical_id,
            message.into(),
        );
        self.findings.push(finding);
    }
}

/// Every finding of one environment's rendered stacks, before acceptances.
pub fn check_env(env: &Env, stacks: &[RenderedStack]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for stack in stacks {
        let mut check = StackCheck::new(env, stack);
        iam::check(&mut check);
        data::check(&mut check);
        workload::check(&mut check);
        limits::check(&mut check);
        findings.append(&mut check.findings);
    }
    findings
}

/// Renders and checks every environment (already validated), applying each
/// environment's acceptances. Errors only when a template fails to render.
pub fn check_envs(
    project: &Project,
    envs: &[Env],
    fail_on: Severity,
) -> Result<Report, TemplateError> {
    let engine = Engine::new(project)?;
    let mut reviewed = Vec::new();
    let mut stacks = 0;
    for env in envs {
        let rendered = render::render_env(&engine, env)?;
        stacks += rendered.len();
        reviewed.extend(review(env, check_env(env, &rendered)));
    }
    let names = envs.iter().map(|e| e.name.clone()).collect();
    Ok(Report::new(fail_on, names, stacks, reviewed))
}

/// Checks an already rendered tree (`DIR/<env>/<stack>.json`); findings
/// point into its files.
pub fn check_tree(
    project: &Project,
    dir: &std::path::Path,
    only: Option<&str>,
    fail_on: Severity,
) -> crate::Result<Report> {
    let envs = tree::read_tree(project, dir, only)?;
    let mut reviewed = Vec::new();
    let mut stacks = 0;
    let mut files = std::collections::BTreeMap::new();
    for rendered in &envs {
        stacks += rendered.stacks.len();
        reviewed.extend(review(
            &rendered.env,
            check_env(&rendered.env, &rendered.stacks),
        ));
        files.extend(rendered.files.clone());
    }
    let names = envs.iter().map(|e| e.env.name.clone()).collect();
    let mut report = Report::new(fail_on, names, stacks, reviewed);
    report.files = files;
    Ok(report)
}
