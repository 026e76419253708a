//! The account and region guard: `plan` and `apply` touch an environment only
//! with credentials of its own account, and never while the caller's region
//! setting points somewhere else (a sign the wrong shell or profile is in use).

use aws_config::meta::region::ProvideRegion;
use aws_config::profile::ProfileFileRegionProvider;

use super::error::AwsError;
use crate::config::Env;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(
        "refusing to touch environment `{env}`: the credentials belong to account {actual} ({arn}), \
         but `{env}` is account {expected}; use credentials of account {expected}"
    )]
    WrongAccount {
        env: String,
        expected: String,
        actual: String,
        arn: String,
    },
    #[error(
        "refusing to touch environment `{env}`: {setting} selects region {actual}, but `{env}` deploys to \
         {expected}; set it to {expected} or unset it"
    )]
    WrongRegion {
        env: String,
        expected: String,
        actual: String,
        setting: &'static str,
    },
    #[error("cannot confirm the AWS account before touching `{env}`: {source}")]
    Identity { env: String, source: AwsError },
    #[error(
        "no AWS credentials found for `{env}`. Configure them in one of these ways:\n  \
         - a profile: `aws configure --profile NAME` (or `aws configure sso` then `aws sso login --profile NAME`), \
         then AWS_PROFILE=NAME\n  \
         - environment variables: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)\n  \
         - in CodeBuild, ECS or EC2: the role of the build, task or instance is used without configuration"
    )]
    NoCredentials { env: String },
    #[error("cannot reach {url}: {reason}{hint}")]
    Unreachable {
        url: String,
        reason: String,
        hint: &'static str,
    },
}

impl GuardError {
    /// A failed identity lookup is an error (no credentials, no network), not a refusal.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            GuardError::Identity { .. }
                | GuardError::NoCredentials { .. }
                | GuardError::Unreachable { .. }
        )
    }
}

/// The caller's own region setting, if any: where it comes from and its value.
/// Only local sources are read (no instance metadata), so this is instant.
pub async fn ambient_region() -> Option<(&'static str, String)> {
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Ok(value) = std::env::var(var)
            && !value.is_empty()
        {
            return Some((
                if var == "AWS_REGION" {
                    "AWS_REGION"
                } else {
                    "AWS_DEFAULT_REGION"
                },
                value,
            ));
        }
    }
    let profile = ProfileFileRegionProvider::new().region().await?;
    Some(("the AWS profile's `region`", profile.to_string()))
}

pub fn check_region(env: &Env, ambient: Option<(&'static str, String)>) -> Result<(), GuardError> {
    match ambient {
        Some((setting, actual)) if actual != env.region => Err(GuardError::WrongRegion {
            env: env.name.clone(),
            expected: env.region.clone(),
            actual,
            setting,
        }),
        _ => Ok(()),
    }
}

/// Asks STS who the caller is; the one AWS call made before the guard passes.
pub async fn check_account(sts: &aws_sdk_sts::Client, env: &Env) -> Result<String, GuardError> {
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        let source = AwsError::from_sdk("GetCallerIdentity", e);
        // The SDK says so deep in its error chain, in its own words.
        let text = source.message.to_ascii_lowercase();
        if source.code.is_none()
            && (text.contains("no providers in chain") || text.contains("credentials"))
        {
            GuardError::NoCredentials {
                env: env.name.clone(),
            }
        } else {
            GuardError::Identity {
                env: env.name.clone(),
                source,
            }
        }
    })?;
    let actual = identity.account().unwrap_or_default().to_string();
    if actual != env.account_id {
        return Err(GuardError::WrongAccount {
            env: env.name.clone(),
            expected: env.account_id.clone(),
            actual,
            arn: identity.arn().unwrap_or("unknown caller").to_string(),
        });
    }
    Ok(identity.arn().unwrap_or_default().to_string())
}

/// Every client for `env`, after the guard: the region setting first (no call),
/// then the account (one STS call). Nothing else is called before both pass.
pub async fn connect(env: &Env, endpoint_url: Option<&str>) -> Result<super::Clients, GuardError> {
    check_region(env, ambient_region().await)?;
    let (config, emulated) = super::load_config(&env.region, endpoint_url).await;
    let clients = super::Clients::from_config(&config, emulated);
    super::reach::reachable(endpoint_url, &env.region).await?;
    check_account(&clients.sts, env).await?;
    crate::output::detail(&format!(
        "AWS: account {} in {}{}",
        env.account_id,
        env.region,
        endpoint_url
            .map(|u| format!(" through {u}"))
            .unwrap_or_default()
    ));
    Ok(clients)
}
