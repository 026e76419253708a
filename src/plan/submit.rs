//! How a template reaches CloudFormation, for a stack's change set and a
//! StackSet alike: inline or through S3, under a name unique to the run.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::cloud::AwsError;
use crate::cloud::Clients;
use crate::cloud::cfn::TemplateSource;
use crate::config::Env;
use crate::template::Canonical;

/// CloudFormation's limit for an inline `TemplateBody`; larger goes through S3.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// A name unique to this run, for change sets and client request tokens.
pub fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:04x}", nanos / 1_000, std::process::id() & 0xffff)
}

/// [`template_source`] of any template named `name` (a stack or a
/// StackSet); `None` when it is too large and no artifacts bucket is set.
pub async fn template_source_of(
    clients: &Clients,
    env: &Env,
    name: &str,
    template: &Canonical,
) -> Result<Option<TemplateSource>, AwsError> {
    if template.size() <= MAX_TEMPLATE_BODY {
        return Ok(Some(TemplateSource::Body(template.text.clone())));
    }
    let Some(bucket) = &env.artifacts_bucket else {
        return Ok(None);
    };
    // Content-addressed by the exact bytes uploaded: a key never changes meaning.
    let key = format!("mlinfra/{}/{}/{}.json", env.name, name, template.hash());
    crate::cloud::s3::put_template(&clients.s3, bucket, &key, &template.text).await?;
    Ok(Some(TemplateSource::Url(format!(
        "https://{bucket}.s3.{}.amazonaws.com/{key}",
        env.region
    ))))
}
