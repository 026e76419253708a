//! Helpers of the check tests: render an environment, tamper with one of its
//! templates, run the rules, and say clearly what was (not) found.

use std::path::PathBuf;

use mlinfra::check::{self, Finding, RuleId};
use mlinfra::config::{self, Env};
use mlinfra::project::Project;
use mlinfra::render::{self, Engine, RenderedStack};
use mlinfra::stacks::Layer;
use mlinfra::template::Canonical;
use serde_json::Value;

use crate::common::repo_root;

pub fn fixtures(kind: &str) -> PathBuf {
    repo_root().join("tests/fixtures/check").join(kind)
}

pub fn rendered(project: &Project, name: &str) -> (Env, Vec<RenderedStack>) {
    let env =
        config::load_env(project, name).unwrap_or_else(|e| panic!("{name} must validate:\n{e}"));
    let engine = Engine::new(project).expect("built-in templates load");
    let stacks = render::render_env(&engine, &env).expect("templates render");
    (env, stacks)
}

pub fn example(name: &str) -> (Env, Vec<RenderedStack>) {
    rendered(&Project::Example, name)
}

/// The findings of example environment `env` after `edit` changed its `layer` template.
pub fn tampered(env: &str, layer: Layer, edit: impl FnOnce(&mut Value)) -> Vec<Finding> {
    let (env, mut stacks) = example(env);
    let stack = stacks
        .iter_mut()
        .find(|s| s.spec.layer == layer)
        .expect("every layer renders");
    let mut value = stack.template.value.clone();
    edit(&mut value);
    stack.template = Canonical::new(value);
    check::check_env(&env, &stacks)
}

/// `RULE@LogicalId` (or `RULE@-` for whole-stack findings), for messages and comparisons.
pub fn label(finding: &Finding) -> String {
    format!(
        "{}@{}",
        finding.rule,
        finding.logical_id.as_deref().unwrap_or("-")
    )
}

pub fn labels(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(label).collect()
}

/// Panics (listing what was found) unless `rule` was reported at `at`.
pub fn assert_reports(findings: &[Finding], rule: RuleId, at: Option<&str>) {
    assert!(
        findings
            .iter()
            .any(|f| f.rule == rule && f.logical_id.as_deref() == at),
        "expected {rule}@{} among: {:#?}",
        at.unwrap_or("-"),
        findings
            .iter()
            .map(|f| format!("{} {}", label(f), f.message))
            .collect::<Vec<_>>()
    );
}

/// A resource of a template; panics when the template has no such resource.
pub fn resource<'a>(template: &'a mut Value, id: &str) -> &'a mut Value {
    template["Resources"]
        .get_mut(id)
        .unwrap_or_else(|| panic!("template has no resource {id}"))
}

pub fn props<'a>(template: &'a mut Value, id: &str) -> &'a mut Value {
    &mut resource(template, id)["Properties"]
}

/// The statement with `sid` in any inline policy of role `role`.
pub fn statement<'a>(template: &'a mut Value, role: &str, sid: &str) -> &'a mut Value {
    let policies = props(template, role)["Policies"]
        .as_array_mut()
        .expect("role has policies");
    policies
        .iter_mut()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_array_mut()
                .expect("statements")
                .iter_mut()
        })
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("{role} has no statement {sid}"))
}

/// Appends `statement` to the first inline policy of role `role`.
pub fn push_statement(template: &mut Value, role: &str, statement: Value) {
    props(template, role)["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(statement);
}

/// The first statement of a role's trust policy.
pub fn trust<'a>(template: &'a mut Value, role: &str) -> &'a mut Value {
    &mut props(template, role)["AssumeRolePolicyDocument"]["Statement"][0]
}

/// Edits the JSON inside a pipeline's `Fn::Sub` definition string.
pub fn edit_definition(template: &mut Value, pipeline: &str, edit: impl FnOnce(&mut Value)) {
    let body = &mut props(template, pipeline)["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
        [0];
    let mut definition: Value =
        serde_json::from_str(body.as_str().expect("definition string")).expect("JSON");
    edit(&mut definition);
    *body = Value::String(definition.to_string());
}

/// The arguments of the first training step of a pipeline definition.
pub fn train_args(definition: &mut Value) -> &mut Value {
    &mut definition["Steps"][0]["Arguments"]
}

pub fn remove(value: &mut Value, key: &str) {
    value
        .as_object_mut()
        .expect("an object")
        .remove(key)
        .unwrap_or_else(|| panic!("no {key} to remove"));
}
