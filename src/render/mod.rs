//! Rendering: `Env` → one canonical CloudFormation template per stack. Pure and
//! synchronous: no AWS types, no I/O beyond reading template overrides.

pub mod dashboard;
mod emit;
pub mod engine;
pub mod model;
mod native;
pub mod pipeline;
pub mod readable;
pub mod serving;
pub mod write;

pub use engine::{Engine, TemplateError};

use crate::template::Canonical;
use crate::template::canonical::Document;

use crate::config::Env;
use crate::stacks::{self, Layer, StackSpec};

/// One stack's rendered template.
#[derive(Debug, Clone)]
pub struct RenderedStack {
    pub spec: StackSpec,
    pub template: Canonical,
}

pub fn render_env(engine: &Engine, env: &Env) -> Result<Vec<RenderedStack>, TemplateError> {
    each_stack(engine, env, None, |spec, text| {
        let value = Document::parse(&text)
            .expect("canonical text is JSON")
            .into_value();
        Ok(RenderedStack {
            spec,
            template: Canonical { value, text },
        })
    })
}

/// The canonical text of an environment's stacks (only the `only` layer when
/// given): what is written out needs no `serde_json::Value` of it.
pub fn render_env_text(
    engine: &Engine,
    env: &Env,
    only: Option<Layer>,
) -> Result<Vec<(StackSpec, String)>, TemplateError> {
    each_stack(engine, env, only, |spec, text| Ok((spec, text)))
}

/// An environment's files under `dir`: each stack's template and, beside
/// it, its readable companions.
pub fn render_env_files(
    engine: &Engine,
    env: &Env,
    only: Option<Layer>,
    dir: &std::path::Path,
) -> Result<write::EnvFiles, TemplateError> {
    let stacks = each_stack(engine, env, only, |spec, text| {
        let companions = readable::companions(dir, &env.name, &spec.name, &text);
        let mut files = vec![(engine::output_path(dir, &env.name, &spec.name), text)];
        files.extend(companions);
        Ok(files)
    })?;
    Ok(write::EnvFiles {
        env: env.name.clone(),
        templates: stacks.len(),
        files: stacks.into_iter().flatten().collect(),
    })
}

fn each_stack<T>(
    engine: &Engine,
    env: &Env,
    only: Option<Layer>,
    mut render: impl FnMut(StackSpec, String) -> Result<T, TemplateError>,
) -> Result<Vec<T>, TemplateError> {
    let model = model::EnvModel::new(env);
    // A tera template (a project's override) needs the environment
    // serialised into its context; that is done once, on the first such
    // stack, and per stack only the stack's own fields are replaced.
    let mut context: Option<tera::Context> = None;
    stacks::stacks(env)
        .into_iter()
        .filter(|spec| only.is_none_or(|layer| spec.layer == layer))
        .map(|spec| {
            let _span =
                tracing::debug_span!("render", env = %env.name, stack = %spec.name).entered();
            let fields = model.stack_fields(spec.layer);
            let context = if engine.needs_context(spec.layer) {
                let context = match &mut context {
                    Some(context) => context,
                    None => context.insert(engine.context(model.shared())?),
                };
                context.insert("stack", &fields.stack);
                context.insert("tags", &fields.tags);
                context.insert("description", &fields.description);
                Some(&*context)
            } else {
                None
            };
            let stack = native::Stack {
                model: model.shared(),
                fields: &fields,
            };
            let rendered = engine
                .render(spec.layer, &stack, context)
                .and_then(|text| render(spec, text));
            tracing::debug!(ok = rendered.is_ok(), "rendered stack");
            rendered
        })
        .collect()
}

/// A built-in example environment, loaded and rendered, for unit tests.
#[cfg(test)]
pub fn example(name: &str) -> (Env, Vec<RenderedStack>) {
    let project = crate::project::Project::Example;
    let env = crate::config::load_env(&project, name).expect("the example validates");
    let rendered = render_env(&Engine::new(&project).expect("templates load"), &env)
        .expect("the example renders");
    (env, rendered)
}
