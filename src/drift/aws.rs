//! The AWS clients `drift` reads through: built from the default credential
//! chain for the environment's region, optionally pointed at an emulator, each
//! counting the calls it makes. Also the account guard and one error type.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::config::Env;

/// A failed AWS call: the operation, AWS's error code and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("AWS {operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    pub fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: Debug,
    {
        let code = error.code().map(str::to_string);
        let message = match error.message() {
            Some(message) => message.to_string(),
            // Transport failures carry no AWS message: show the whole chain.
            None => DisplayErrorContext(&error).to_string(),
        };
        Self {
            operation,
            code,
            message,
        }
    }

    pub fn has_code(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
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

/// Attempts per call, the first included: enough to ride out throttling of a
/// busy account's `Describe*` calls.
pub const MAX_ATTEMPTS: u32 = 6;

pub fn retry_config(initial_backoff: Duration) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(initial_backoff)
        .with_max_backoff(Duration::from_secs(10))
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
    /// Loads the default credential chain for `region`. `endpoint_url` (or the
    /// SDK's own `AWS_ENDPOINT_URL`) sends every call to an emulator instead.
    pub async fn connect(region: &str, endpoint_url: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(retry_config(Duration::from_secs(1)));
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let custom_endpoint =
            endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
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

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(
        "refusing to read environment `{env}` with credentials of account {actual} ({arn}): \
         `{env}` is account {expected}; every resource would look missing"
    )]
    WrongAccount {
        env: String,
        expected: String,
        actual: String,
        arn: String,
    },
    #[error("cannot confirm the AWS account of `{env}`: {source}")]
    Identity { env: String, source: AwsError },
}

/// Asks STS who the caller is, before anything else is read: drift against
/// the wrong account would report every resource as deleted.
pub async fn check_account(sts: &aws_sdk_sts::Client, env: &Env) -> Result<(), GuardError> {
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| GuardError::Identity {
            env: env.name.clone(),
            source: AwsError::from_sdk("GetCallerIdentity", e),
        })?;
    let actual = identity.account().unwrap_or_default();
    if actual != env.account_id {
        return Err(GuardError::WrongAccount {
            env: env.name.clone(),
            expected: env.account_id.clone(),
            actual: actual.to_string(),
            arn: identity.arn().unwrap_or("unknown caller").to_string(),
        });
    }
    Ok(())
}
