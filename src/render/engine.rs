//! The template engine: each stack is written by its native writer
//! (`render::native`), or, where a project overrides the stack's template,
//! rendered with tera, every value JSON-encoded, and the output checked and
//! written in the same canonical form (sorted keys, 2-space indent, trailing
//! newline).

use std::path::PathBuf;

use serde::Serialize;

use super::native;
use crate::project::{Project, SourceError};
use crate::stacks::Layer;
use crate::template::canonical::Document;

const BUILT_IN: [(Layer, &str); 4] = [
    (Layer::Data, include_str!("../../templates/data.json.tera")),
    (Layer::Iam, include_str!("../../templates/iam.json.tera")),
    (
        Layer::Training,
        include_str!("../../templates/training.json.tera"),
    ),
    (
        Layer::Serving,
        include_str!("../../templates/serving.json.tera"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("template {template}: {message}")]
    Tera { template: String, message: String },
    #[error(
        "template {template} rendered invalid JSON at line {line}, column {column} of its output: {message}\n  {line}: {excerpt}"
    )]
    InvalidJson {
        template: String,
        line: usize,
        column: usize,
        message: String,
        excerpt: String,
    },
    #[error("template {template} must render a JSON object with a Resources section")]
    NotATemplate { template: String },
}

/// JSON-encodes a value; an undefined one (a misspelt field) is an error
/// rather than a silent `null` in the template.
fn json_filter(
    value: &tera::Value,
    kwargs: tera::Kwargs,
    state: &tera::State,
) -> tera::TeraResult<String> {
    if value.is_undefined() {
        return Err(tera::Error::message(
            "`json` was given an undefined value: is a field name misspelt?",
        ));
    }
    tera_contrib::json::json_encode(value, kwargs, state)
}

/// How one layer's template is rendered.
enum Source {
    /// The built-in stack, written straight into canonical text.
    Native,
    /// A tera template (a project's override), under this name.
    Tera(String),
}

/// The loaded templates of one project, ready to render any number of environments.
pub struct Engine {
    tera: tera::Tera,
    sources: Vec<(Layer, Source)>,
}

impl Engine {
    /// The project's overrides through tera, every other stack written natively.
    pub fn new(project: &Project) -> Result<Self, TemplateError> {
        Self::build(project, true)
    }

    /// Every stack through tera, the built-in templates included: what the
    /// native writers are compared with.
    #[cfg(test)]
    pub fn through_tera(project: &Project) -> Result<Self, TemplateError> {
        Self::build(project, false)
    }

    fn build(project: &Project, native: bool) -> Result<Self, TemplateError> {
        let mut tera = tera::Tera::new();
        // Output is JSON, not HTML: escaping is done by the `json` filter, explicitly.
        tera.autoescape_on(Vec::<&str>::new());
        tera.register_filter("json", json_filter);
        let mut sources = Vec::new();
        for (layer, built_in) in BUILT_IN {
            let file = layer.template_file();
            let (name, tera_text) = match project.template_override(&file)? {
                Some(custom) => (custom.display_path.display().to_string(), Some(custom.text)),
                None => (
                    format!("templates/{file} (built-in)"),
                    (!native).then(|| built_in.to_string()),
                ),
            };
            crate::output::detail(&format!("template for the {layer} stack: {name}"));
            let source = match tera_text {
                None => Source::Native,
                Some(text) => {
                    tera.add_raw_template(&name, &text)
                        .map_err(|e| TemplateError::Tera {
                            template: name.clone(),
                            message: e.to_string(),
                        })?;
                    Source::Tera(name)
                }
            };
            sources.push((layer, source));
        }
        Ok(Self { tera, sources })
    }

    /// The engine of a project that overrides a built-in template, or none:
    /// the built-in stacks render every valid configuration (the suite
    /// renders each shape), so only a project's own templates need
    /// rendering to be checked.
    pub fn for_overrides(project: &Project) -> Result<Option<Self>, TemplateError> {
        for (layer, _) in BUILT_IN {
            if project.template_override(&layer.template_file())?.is_some() {
                return Self::new(project).map(Some);
            }
        }
        Ok(None)
    }

    fn source(&self, layer: Layer) -> &Source {
        &self
            .sources
            .iter()
            .find(|(l, _)| *l == layer)
            .expect("every layer has a template")
            .1
    }

    /// Whether rendering this layer needs the tera context.
    pub fn needs_context(&self, layer: Layer) -> bool {
        matches!(self.source(layer), Source::Tera(_))
    }

    /// The template context of a model, serialised once to be used for several stacks.
    pub fn context(&self, model: &impl Serialize) -> Result<tera::Context, TemplateError> {
        tera::Context::from_serialize(model).map_err(|e| TemplateError::Tera {
            template: "the template context".to_string(),
            message: e.to_string(),
        })
    }

    /// One stack's canonical text: written natively, or rendered by tera
    /// (with `context`, which holds the stack's fields) and written canonically.
    pub fn render(
        &self,
        layer: Layer,
        stack: &native::Stack<'_>,
        context: Option<&tera::Context>,
    ) -> Result<String, TemplateError> {
        match self.source(layer) {
            Source::Native => Ok(native::render(layer, stack)),
            Source::Tera(name) => {
                let context = context.expect("a tera layer is given its context");
                let text = self
                    .tera
                    .render(name, context)
                    .map_err(|e| TemplateError::Tera {
                        template: name.to_string(),
                        message: e.to_string(),
                    })?;
                Ok(Self::document(name, &text)?.text())
            }
        }
    }

    /// Checks that tera's output is a JSON template, naming the line it breaks at.
    fn document<'t>(name: &str, text: &'t str) -> Result<Document<'t>, TemplateError> {
        let document = Document::parse(text).map_err(|e| {
            let excerpt = text
                .lines()
                .nth(e.line().saturating_sub(1))
                .unwrap_or("")
                .trim()
                .to_string();
            TemplateError::InvalidJson {
                template: name.to_string(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
                excerpt,
            }
        })?;
        if !document.has_object("Resources") {
            return Err(TemplateError::NotATemplate {
                template: name.to_string(),
            });
        }
        Ok(document)
    }
}

/// Where a rendered template is written: `{out}/{env}/{stack}.json`.
pub fn output_path(out: &std::path::Path, env: &str, stack: &str) -> PathBuf {
    out.join(env).join(format!("{stack}.json"))
}
