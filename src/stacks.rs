//! The four stacks of an environment, their names and the order they deploy in.

use serde::{Deserialize, Serialize};

use crate::config::Env;

pub use crate::config::names::Layer;

impl Layer {
    /// The layers whose exports this one imports: they must exist first.
    pub fn depends_on(self) -> &'static [Layer] {
        match self {
            Layer::Data => &[],
            Layer::Iam => &[Layer::Data],
            Layer::Training | Layer::Serving => &[Layer::Data, Layer::Iam],
        }
    }

    /// Holds state (buckets, keys) that must never be replaced or deleted by a deploy.
    pub fn is_stateful(self) -> bool {
        self == Layer::Data
    }

    pub fn template_file(self) -> String {
        format!("{}.json.tera", self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSpec {
    /// `{project}-{env}-{layer}`
    pub name: String,
    pub layer: Layer,
    pub deps: Vec<String>,
}

impl StackSpec {
    pub fn new(env: &Env, layer: Layer) -> Self {
        Self {
            name: stack_name(env, layer),
            layer,
            deps: layer
                .depends_on()
                .iter()
                .map(|d| stack_name(env, *d))
                .collect(),
        }
    }
}

pub fn stack_name(env: &Env, layer: Layer) -> String {
    env.names().stack(layer)
}

/// Every stack of the environment in dependency order (data, iam, training, serving).
/// Training and serving have no stacks between them and may deploy in parallel.
pub fn stacks(env: &Env) -> Vec<StackSpec> {
    Layer::ALL
        .iter()
        .map(|layer| StackSpec::new(env, *layer))
        .collect()
}

/// Stacks grouped in waves: every stack of a wave depends only on earlier waves.
pub fn waves(specs: &[StackSpec]) -> Vec<Vec<StackSpec>> {
    let mut waves: Vec<Vec<StackSpec>> = Vec::new();
    let mut placed: Vec<&str> = Vec::new();
    let mut remaining: Vec<&StackSpec> = specs.iter().collect();
    while !remaining.is_empty() {
        let (ready, blocked): (Vec<&StackSpec>, Vec<&StackSpec>) =
            remaining.into_iter().partition(|s| {
                s.deps
                    .iter()
                    .all(|d| placed.contains(&d.as_str()) || !specs.iter().any(|o| &o.name == d))
            });
        assert!(!ready.is_empty(), "stack dependencies form a cycle");
        placed.extend(ready.iter().map(|s| s.name.as_str()));
        waves.push(ready.into_iter().cloned().collect());
        remaining = blocked;
    }
    waves
}
