//! Shared pieces of the cloud tests: the example environment rendered,
//! clients for a moto server or for mocks, and a counter of AWS calls.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use mlinfra::apply::progress::Progress;
use mlinfra::cloud::{Cfn, Clients, Poll, retry_config};
use mlinfra::config::{self, Env};
use mlinfra::output::Printer;
use mlinfra::project::Project;
use mlinfra::render::{self, Engine, RenderedStack};

use crate::common::moto::{Moto, REGION};

/// An environment of the example project and its four rendered stacks.
pub fn example(name: &str) -> (Env, Vec<RenderedStack>) {
    let env = config::load_env(&Project::Example, name).expect("example environment is valid");
    let rendered = render::render_env(
        &Engine::new(&Project::Example).expect("templates load"),
        &env,
    )
    .expect("renders");
    (env, rendered)
}

/// Records the name of every operation a client runs (one per call, retries not counted).
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        self.0.lock().unwrap().push(name);
        Ok(())
    }
}

/// Fast polling: the emulator finishes every operation at once.
pub fn quick_poll() -> Poll {
    Poll {
        first: Duration::from_millis(20),
        max: Duration::from_millis(100),
        timeout: Duration::from_secs(60),
    }
}

/// In-process clients for a moto server; CloudFormation calls are counted.
pub async fn moto_clients(moto: &Moto, calls: &Calls) -> Clients {
    let config = moto
        .sdk_loader(REGION)
        .retry_config(retry_config(Duration::from_millis(10)))
        .load()
        .await;
    let mut clients = Clients::from_config(&config, true);
    let cfn_config = aws_sdk_cloudformation::config::Builder::from(&config)
        .interceptor(calls.clone())
        .build();
    clients.cfn =
        Cfn::new(aws_sdk_cloudformation::Client::from_conf(cfn_config)).with_poll(quick_poll());
    clients
}

/// The raw CloudFormation client of a moto server, to inspect what a run left.
pub async fn moto_cfn(moto: &Moto) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&moto.sdk_config().await)
}

/// Clients around a mocked CloudFormation client; no other client is called.
pub fn mocked(cfn: aws_sdk_cloudformation::Client) -> Clients {
    let blank = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .build();
    let mut clients = Clients::from_config(&blank, false);
    clients.cfn = Cfn::new(cfn).with_poll(Poll::default());
    clients
}

/// Plain progress lines collected for assertions.
pub fn captured() -> (Progress, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    (
        Progress::plain(move |line| sink.lock().unwrap().push(line.to_string())),
        lines,
    )
}

/// A printer that keeps its notes to itself.
pub fn quiet() -> Printer {
    Printer::silent()
}

/// A project directory: the example's environments, with `edit` applied to dev.toml.
pub fn project_with(dev_extra: &str, base_edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp project");
    crate::common::copy_example_code(dir.path());
    let envs = dir.path().join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    let source = crate::common::repo_root().join("environments");
    for name in ["base", "dev", "staging", "prod"] {
        let text = std::fs::read_to_string(source.join(format!("{name}.toml"))).unwrap();
        let text = match name {
            "base" => base_edit(text),
            "dev" => format!("{text}\n{dev_extra}\n"),
            _ => text,
        };
        std::fs::write(envs.join(format!("{name}.toml")), text).unwrap();
    }
    dir
}

pub const ZONES: &str = r#"zones = ["raw", "curated", "models"]"#;
pub const FEATURES: &str = r#"zones = ["raw", "curated", "models", "features"]"#;

/// The example project with `dev` protected as prod is, with or without
/// the `features` zone (its bucket is what an allowed removal takes away).
pub fn dev_project(protected: bool, features: bool) -> tempfile::TempDir {
    let dir = project_with("", |base| {
        if features {
            base.replace(ZONES, FEATURES)
        } else {
            base
        }
    });
    let dev = dir.path().join("environments/dev.toml");
    let text = std::fs::read_to_string(&dev).unwrap().replace(
        "termination_protection = false",
        &format!("termination_protection = {protected}"),
    );
    std::fs::write(dev, text).unwrap();
    dir
}
