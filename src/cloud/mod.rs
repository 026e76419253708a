//! The only door to AWS. Clients built from the default credential chain
//! (profiles, SSO, environment, CodeBuild container credentials), pointed at
//! the environment's region and optionally at an emulator, with retries and
//! backoff on throttling; the account and region guard ([`connect`]); typed
//! wrappers around the CloudFormation calls; the one polling helper; and one
//! error type for every failed call.

pub mod alarms;
pub mod autoscaling;
pub mod cfn;
pub mod counter;
pub mod error;
pub mod guard;
pub mod iam;
pub mod pipeline;
pub mod poll;
pub mod pricing;
pub mod reach;
pub mod s3;
pub mod sagemaker;
pub mod stackset;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub use cfn::Cfn;
pub use counter::CallCounter;
pub use error::AwsError;
pub use guard::connect;
pub use poll::{Poll, Waited};

/// Attempts per call (the first one included). CloudFormation throttles
/// `Describe*` calls of busy accounts; a deploy should ride that out.
pub const MAX_ATTEMPTS: u32 = 8;

/// Standard retry mode: exponential backoff with jitter on throttling and
/// transient errors. Tests pass a tiny `initial_backoff`.
pub fn retry_config(initial_backoff: Duration) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(initial_backoff)
        .with_max_backoff(Duration::from_secs(20))
}

/// How to reach AWS, from the command line: a named profile (`--profile`)
/// and an endpoint (`--endpoint-url`, an emulator).
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The HTTPS client of every AWS call: the SDK's own (hyper and rustls),
/// with ring as rustls' cryptography. One per configuration, as the SDK's
/// default: a connection pool belongs to the async runtime that opened it.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The SDK's defaults (`aws_config::defaults`) with mlinfra's HTTPS client:
/// where every configuration starts, the tests' included.
pub fn sdk_defaults() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client())
}

/// The SDK configuration every client of mlinfra is built from: the default
/// credential chain (of `--profile` when given), the given region, retries
/// with backoff, and `endpoint_url` (or the SDK's own `AWS_ENDPOINT_URL`) for
/// an emulator. The flag says whether a custom endpoint is in use: S3 then
/// needs path-style addressing, since `127.0.0.1:port` has no per-bucket
/// host names.
pub async fn load_config(region: &str, connection: &Connection) -> (SdkConfig, bool) {
    let mut loader = sdk_defaults()
        .region(Region::new(region.to_string()))
        .retry_config(retry_config(Duration::from_secs(1)));
    if let Some(profile) = &connection.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &connection.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let custom_endpoint =
        connection.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    (loader.load().await, custom_endpoint)
}

/// `config` with credentials of `role`, assumed through STS with the base
/// credentials of `config` and refreshed before they expire (an apply may
/// outlast one session).
pub async fn assume_role(
    config: &SdkConfig,
    role: &str,
    session_name: &str,
    external_id: Option<&str>,
) -> SdkConfig {
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name(session_name)
        .configure(config);
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.build().await;
    config
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

/// Every client of one environment's account and region, sharing one call
/// counter.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cfn: Cfn,
    pub stacksets: stackset::StackSets,
    pub sts: aws_sdk_sts::Client,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub counter: CallCounter,
}

impl Clients {
    /// `emulated`: S3 then uses path-style addressing, since an emulator on
    /// `127.0.0.1:port` has no per-bucket host names.
    pub fn from_config(config: &SdkConfig, emulated: bool) -> Self {
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
                .force_path_style(emulated)
                .interceptor(counter.clone())
                .build(),
        );
        Self {
            cfn: Cfn::new(client!(aws_sdk_cloudformation)),
            stacksets: stackset::StackSets::new(client!(aws_sdk_cloudformation)),
            sts: client!(aws_sdk_sts),
            s3,
            iam: client!(aws_sdk_iam),
            sagemaker: client!(aws_sdk_sagemaker),
            autoscaling: client!(aws_sdk_applicationautoscaling),
            cloudwatch: client!(aws_sdk_cloudwatch),
            counter,
        }
    }
}
