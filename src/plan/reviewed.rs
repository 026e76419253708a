//! What a plan file carries besides the plan itself, so that `apply --plan`
//! needs no project checkout: the environment's resolved settings and the
//! reviewed templates, sealed by a digest over both.
//!
//! The digest catches a file edited or truncated after review; it is not an
//! authority. CloudFormation is: apply still reads every change set back and
//! refuses one not created from these templates (see `apply::verify`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Env;
use crate::render::RenderedStack;
use crate::stacks::StackSpec;
use crate::template::Canonical;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    /// The environment as validated when the plan was made.
    pub env: Env,
    /// Every stack of the environment with its rendered template, in dependency order.
    pub stacks: Vec<ReviewedStack>,
    /// The fleet's StackSet templates as planned, in dependency order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fleet: Vec<ReviewedStackSet>,
    /// SHA-256 over `env`, `stacks` and `fleet` in canonical form.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedStackSet {
    pub stack_set: String,
    /// The environment's stack it deploys; none for the bootstrap stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<crate::stacks::Layer>,
    pub template: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedStack {
    pub spec: StackSpec,
    pub template: Value,
}

impl Reviewed {
    pub fn new(env: &Env, rendered: &[RenderedStack]) -> Self {
        let stacks: Vec<ReviewedStack> = rendered
            .iter()
            .map(|r| ReviewedStack {
                spec: r.spec.clone(),
                template: r.template.value.clone(),
            })
            .collect();
        let digest = digest(env, &stacks, &[]);
        Self {
            env: env.clone(),
            stacks,
            fleet: Vec::new(),
            digest,
        }
    }

    /// With the fleet's StackSet templates, sealed with the rest.
    pub fn with_fleet(mut self, templates: &[crate::fleet::FleetTemplate]) -> Self {
        self.fleet = templates
            .iter()
            .map(|t| ReviewedStackSet {
                stack_set: t.stack_set.clone(),
                layer: t.layer,
                template: t.template.value.clone(),
            })
            .collect();
        self.digest = digest(&self.env, &self.stacks, &self.fleet);
        self
    }

    /// Whether the digest still matches what the file holds.
    pub fn is_sealed(&self) -> bool {
        digest(&self.env, &self.stacks, &self.fleet) == self.digest
    }

    /// The reviewed StackSet templates as apply works with them.
    pub fn fleet_templates(&self) -> Vec<crate::fleet::FleetTemplate> {
        self.fleet
            .iter()
            .map(|s| crate::fleet::FleetTemplate {
                stack_set: s.stack_set.clone(),
                layer: s.layer,
                template: Canonical::new(s.template.clone()),
            })
            .collect()
    }

    /// The reviewed templates as apply works with them.
    pub fn rendered(&self) -> Vec<RenderedStack> {
        self.stacks
            .iter()
            .map(|s| RenderedStack {
                spec: s.spec.clone(),
                template: Canonical::new(s.template.clone()),
            })
            .collect()
    }

    /// How a checkout's environment and templates differ from the reviewed
    /// ones; empty when they are the same.
    pub fn differences(&self, env: &Env, rendered: &[RenderedStack]) -> Vec<String> {
        let mut found = Vec::new();
        if &self.env != env {
            let then = serde_json::to_value(&self.env).unwrap_or_default();
            let now = serde_json::to_value(env).unwrap_or_default();
            let keys: Vec<String> = match (&then, &now) {
                (Value::Object(a), Value::Object(b)) => a
                    .keys()
                    .chain(b.keys().filter(|k| !a.contains_key(*k)))
                    .filter(|k| a.get(*k) != b.get(*k))
                    .cloned()
                    .collect(),
                _ => vec![],
            };
            found.push(format!(
                "the settings of environment `{}` differ from the reviewed ones ({})",
                env.name,
                keys.join(", ")
            ));
        }
        for stack in &self.stacks {
            match rendered.iter().find(|r| r.spec.name == stack.spec.name) {
                None => found.push(format!(
                    "{}: reviewed, but the checkout renders no such stack",
                    stack.spec.name
                )),
                Some(r) if r.template.value != stack.template => found.push(format!(
                    "{}: the checkout renders another template than the reviewed one",
                    stack.spec.name
                )),
                Some(_) => {}
            }
        }
        for r in rendered {
            if !self.stacks.iter().any(|s| s.spec.name == r.spec.name) {
                found.push(format!(
                    "{}: rendered by the checkout, but not in the reviewed plan",
                    r.spec.name
                ));
            }
        }
        found
    }
}

fn digest(env: &Env, stacks: &[ReviewedStack], fleet: &[ReviewedStackSet]) -> String {
    let mut value = serde_json::json!({ "env": env, "stacks": stacks });
    // Without a fleet the digest is what it always was.
    if !fleet.is_empty() {
        value["fleet"] = serde_json::json!(fleet);
    }
    Canonical::new(value).hash()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;

    use crate::render::example;

    #[test]
    fn the_reviewed_part_round_trips_and_stays_sealed() {
        let (env, rendered) = example("prod");
        let reviewed = Reviewed::new(&env, &rendered);
        let text = serde_json::to_string(&reviewed).unwrap();
        let back: Reviewed = serde_json::from_str(&text).unwrap();
        assert!(back.is_sealed());
        assert_eq!(back.env, env, "the settings survive the file");
        assert!(back.differences(&env, &rendered).is_empty());
        let again = back.rendered();
        assert_eq!(again.len(), rendered.len());
        for (a, b) in again.iter().zip(&rendered) {
            assert_eq!(a.spec, b.spec);
            assert_eq!(a.template.text, b.template.text);
        }
    }

    #[test]
    fn an_edit_breaks_the_seal_and_a_changed_checkout_is_named() {
        let (env, rendered) = example("dev");
        let mut reviewed = Reviewed::new(&env, &rendered);
        reviewed.env.termination_protection = true;
        assert!(!reviewed.is_sealed());

        let reviewed = Reviewed::new(&env, &rendered);
        let (mut changed, _) = example("dev");
        changed.tags.insert("owner".into(), "someone".into());
        let engine = crate::render::Engine::new(&Project::Example).unwrap();
        let rerendered = crate::render::render_env(&engine, &changed).unwrap();
        let found = reviewed.differences(&changed, &rerendered);
        assert!(
            found
                .iter()
                .any(|d| d.contains("differ from the reviewed ones (tags)")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|d| d.starts_with("dogbreed-dev-data: the checkout renders another template")),
            "{found:?}"
        );
    }
}
