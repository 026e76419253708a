//! The AWS clients `drift` reads through: the ones `plan` and `apply` use
//! (same credential chain, region, endpoint and retries) plus IAM, SageMaker
//! and Application Auto Scaling, each counting the calls it makes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::cloud::AwsError;
use crate::cloud::guard::{self, GuardError};
use crate::config::Env;

/// Whether AWS answered with one of these error codes.
pub fn code_is(error: &AwsError, codes: &[&str]) -> bool {
    error.code.as_deref().is_some_and(|c| codes.contains(&c))
}

/// Counts operations and HTTP requests (retries included) of every client it
/// is attached to.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl CallCounter {
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "mlinfra-call-counter"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The read-only clients of one environment's account and region.
#[derive(Debug, Clone)]
pub struct DriftClients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub iam: aws_sdk_iam::Client,
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub counter: CallCounter,
}

impl DriftClients {
    /// The same configuration as every other command (`cloud::load_config`).
    pub async fn connect(region: &str, endpoint_url: Option<&str>) -> Self {
        let (config, custom_endpoint) = crate::cloud::load_config(region, endpoint_url).await;
        Self::from_config(&config, custom_endpoint)
    }

    /// `custom_endpoint`: S3 then uses path-style addressing, since an
    /// endpoint such as `127.0.0.1:port` has no per-bucket host names.
    pub fn from_config(config: &SdkConfig, custom_endpoint: bool) -> Self {
        let counter = CallCounter::default();
        macro_rules! client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(config)
                        .interceptor(counter.clone())
                        .build(),
                )
            };
        }
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .force_path_style(custom_endpoint)
                .interceptor(counter.clone())
                .build(),
        );
        Self {
            cfn: client!(aws_sdk_cloudformation),
            iam: client!(aws_sdk_iam),
            sagemaker: client!(aws_sdk_sagemaker),
            autoscaling: client!(aws_sdk_applicationautoscaling),
            s3,
            sts: client!(aws_sdk_sts),
            counter,
        }
    }
}

/// Clients for `env`, after the same guard as `plan` and `apply`: the
/// region setting, then the account. Drift against the wrong account would
/// report every resource as deleted.
pub async fn connect(env: &Env, endpoint_url: Option<&str>) -> Result<DriftClients, GuardError> {
    guard::check_region(env, guard::ambient_region().await)?;
    let clients = DriftClients::connect(&env.region, endpoint_url).await;
    guard::check_account(&clients.sts, env).await?;
    Ok(clients)
}
