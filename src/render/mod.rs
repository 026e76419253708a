//! Rendering: `Env` → one canonical CloudFormation template per stack. Pure and
//! synchronous: no AWS types, no I/O beyond reading template overrides.

pub mod engine;
pub mod model;
pub mod pipeline;

pub use engine::{Canonical, Engine, TemplateError};

use crate::config::Env;
use crate::stacks::{self, Layer, StackSpec};

/// One stack's rendered template.
#[derive(Debug, Clone)]
pub struct RenderedStack {
    pub spec: StackSpec,
    pub template: Canonical,
}

pub fn render_env(engine: &Engine, env: &Env) -> Result<Vec<RenderedStack>, TemplateError> {
    let model = model::EnvModel::new(env);
    // The environment is serialised into the context once; per stack only
    // the stack's own fields are replaced.
    let mut context = engine.context(Layer::Data, model.shared())?;
    stacks::stacks(env)
        .into_iter()
        .map(|spec| {
            let fields = model.stack_fields(spec.layer);
            context.insert("stack", &fields.stack);
            context.insert("tags", &fields.tags);
            context.insert("description", &fields.description);
            let template = engine.render_context(spec.layer, &context)?;
            Ok(RenderedStack { spec, template })
        })
        .collect()
}
