//! Rendering: `Env` → one canonical CloudFormation template per stack. Pure and
//! synchronous: no AWS types, no I/O beyond reading template overrides.

pub mod engine;
pub mod model;
pub mod pipeline;

pub use engine::{Canonical, Engine, TemplateError};

use crate::config::Env;
use crate::stacks::{self, StackSpec};

/// One stack's rendered template.
#[derive(Debug, Clone)]
pub struct RenderedStack {
    pub spec: StackSpec,
    pub template: Canonical,
}

pub fn render_env(engine: &Engine, env: &Env) -> Result<Vec<RenderedStack>, TemplateError> {
    let model = model::EnvModel::new(env);
    stacks::stacks(env)
        .into_iter()
        .map(|spec| {
            let template = engine.render(spec.layer, &model.for_stack(spec.layer))?;
            Ok(RenderedStack { spec, template })
        })
        .collect()
}
