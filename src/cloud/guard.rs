//! The account guard: every command touches an environment only with
//! credentials of its own account. The region is the environment's: the
//! caller's own region setting (`AWS_REGION`, which CodeBuild always sets, or
//! a profile's `region`) never redirects a deploy, and `--verbose` says which
//! region was used and which setting was passed over.

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
    #[error("cannot confirm the AWS account before touching `{env}`{via}: {source}")]
    Identity {
        env: String,
        /// ` through deploy role …` when one is assumed.
        via: String,
        source: AwsError,
    },
    #[error(
        "no AWS credentials found for `{env}`. Configure them in one of these ways:\n  \
         - a profile: `aws configure --profile NAME` (or `aws configure sso` then `aws sso login --profile NAME`), \
         then AWS_PROFILE=NAME\n  \
         - environment variables: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)\n  \
         - in CodeBuild, ECS or EC2: the role of the build, task or instance is used without configuration"
    )]
    NoCredentials { env: String },
    #[error(transparent)]
    Unreachable(#[from] super::reach::Unreachable),
}

impl GuardError {
    /// A failed identity lookup is an error (no credentials, no network), not a refusal.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            GuardError::Identity { .. }
                | GuardError::NoCredentials { .. }
                | GuardError::Unreachable(_)
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

/// Which region a command of `env` uses, and what the verbose note says:
/// always the environment's own; a caller's setting naming another is named
/// as passed over, so a surprised reader sees why.
pub fn region_note(env: &Env, ambient: Option<(&'static str, String)>) -> String {
    match ambient {
        Some((setting, value)) if value != env.region => format!(
            "region {} from environment `{}` ({setting} = {value} is not used for it)",
            env.region, env.name
        ),
        _ => format!("region {} from environment `{}`", env.region, env.name),
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
                via: env
                    .access
                    .deploy_role_arn
                    .as_ref()
                    .map(|role| format!(" through deploy role {role}"))
                    .unwrap_or_default(),
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

/// Every client for `env`, after the guard: in the environment's region,
/// with the credentials of its deploy role when it has one (assumed with a
/// session name naming mlinfra and the environment), then the account (one
/// STS call). Nothing else is called before it passes.
pub async fn connect(
    env: &Env,
    connection: &super::Connection,
) -> Result<super::Clients, GuardError> {
    crate::output::detail(&region_note(env, ambient_region().await));
    // An unreachable endpoint fails in seconds, before the SDK's retries.
    super::reach::reachable(connection.endpoint_url.as_deref(), &env.region).await?;
    let (mut config, emulated) = super::load_config(&env.region, connection).await;
    if let Some(role) = &env.access.deploy_role_arn {
        let session = crate::config::Access::session_name(&env.name);
        crate::output::detail(&format!("assuming deploy role {role} as session {session}"));
        config =
            super::assume_role(&config, role, &session, env.access.external_id.as_deref()).await;
    }
    let clients = super::Clients::from_config(&config, emulated);
    let caller = check_account(&clients.sts, env).await?;
    tracing::debug!(env = %env.name, region = %env.region, %caller, "account guard passed");
    crate::output::detail(&format!(
        "AWS: account {} in {} as {caller}{}{}",
        env.account_id,
        env.region,
        connection
            .profile
            .as_ref()
            .map(|p| format!(" (profile {p})"))
            .unwrap_or_default(),
        connection
            .endpoint_url
            .as_ref()
            .map(|u| format!(" through {u}"))
            .unwrap_or_default()
    ));
    Ok(clients)
}
