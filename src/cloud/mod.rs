//! AWS access for `plan` and `apply`: clients built from the default
//! credential chain (profiles, SSO, environment, CodeBuild container
//! credentials), pointed at the environment's region and optionally at an
//! emulator, with retries and backoff on throttling; the account and region
//! guard; and a typed wrapper around the CloudFormation calls.

pub mod cfn;
pub mod error;
pub mod guard;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use cfn::{Cfn, Poll};
pub use error::AwsError;

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

/// The SDK configuration every client of mlinfra is built from: the default
/// credential chain, the environment's region, retries with backoff, and
/// `endpoint_url` (or the SDK's own `AWS_ENDPOINT_URL`) for an emulator. The
/// flag says whether a custom endpoint is in use: S3 then needs path-style
/// addressing, since `127.0.0.1:port` has no per-bucket host names.
pub async fn load_config(region: &str, endpoint_url: Option<&str>) -> (SdkConfig, bool) {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(retry_config(Duration::from_secs(1)));
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let custom_endpoint = endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    (loader.load().await, custom_endpoint)
}

/// The clients of one environment's account and region.
#[derive(Clone)]
pub struct Clients {
    pub cfn: Cfn,
    pub sts: aws_sdk_sts::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Loads the default credential chain for `region`. `endpoint_url` (or the
    /// SDK's own `AWS_ENDPOINT_URL`) sends every call to an emulator instead.
    pub async fn connect(region: &str, endpoint_url: Option<&str>) -> Self {
        let (config, emulated) = load_config(region, endpoint_url).await;
        Self::from_config(&config, emulated)
    }

    /// `emulated`: S3 then uses path-style addressing, since an emulator on
    /// `127.0.0.1:port` has no per-bucket host names.
    pub fn from_config(config: &SdkConfig, emulated: bool) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(emulated)
            .build();
        Self {
            cfn: Cfn::new(aws_sdk_cloudformation::Client::new(config)),
            sts: aws_sdk_sts::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
        }
    }
}
