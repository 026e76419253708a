//! CloudFormation behind a small wrapper: each method is one call (or one
//! paginated listing), answers in the types `plan` and `apply` work with, and
//! knows the API's quirks (a missing stack is a `ValidationError`, change sets
//! are created asynchronously, events come newest first).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetType, StackDriftDetectionStatus, StackResourceDrift,
    StackResourceDriftStatus, Tag, TemplateStage,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::error::AwsError;
use super::poll::{self, Poll, Waited};

/// A deployed stack as `DescribeStacks` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct StackInfo {
    pub stack_id: String,
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// `LastUpdatedTime`, or `CreationTime` for a stack never updated.
    pub last_changed: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub termination_protection: bool,
    pub outputs: Vec<StackOutput>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutput {
    pub key: String,
    pub value: String,
    pub export_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedResource {
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: String,
}

/// A stack with its resources: deep checks find live resources only through
/// these physical ids, never by rebuilding a name.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedStack {
    pub info: StackInfo,
    /// By logical id.
    pub resources: BTreeMap<String, DeployedResource>,
}

impl DeployedStack {
    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn physical_id(&self, logical_id: &str) -> Option<&str> {
        self.resources
            .get(logical_id)
            .and_then(|r| r.physical_id.as_deref())
    }
}

/// The export table of the environment's own stacks, for `Fn::ImportValue`.
pub fn exports<'a>(stacks: impl IntoIterator<Item = &'a StackInfo>) -> BTreeMap<String, String> {
    stacks
        .into_iter()
        .flat_map(|s| &s.outputs)
        .filter_map(|o| Some((o.export_name.clone()?, o.value.clone())))
        .collect()
}

/// An existing resource for an IMPORT change set: its logical id in the
/// template, and its primary identifier (`BucketName`, `KeyId`, `AliasName`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceToImport {
    pub logical_id: String,
    pub resource_type: String,
    pub identifier_key: String,
    pub physical_id: String,
}

/// What to create a change set from.
#[derive(Debug, Clone)]
pub struct ChangeSetRequest {
    pub stack: String,
    pub name: String,
    pub create: bool,
    pub template: TemplateSource,
    pub tags: BTreeMap<String, String>,
    pub description: String,
    /// The service role CloudFormation acts with (`RoleARN`); the caller's
    /// credentials when `None`.
    pub role_arn: Option<String>,
}

#[derive(Debug, Clone)]
pub enum TemplateSource {
    Body(String),
    /// An S3 URL, for templates over CloudFormation's inline limit.
    Url(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreatedChangeSet {
    pub id: String,
    pub stack_id: String,
}

/// A change set as `DescribeChangeSet` reports it, every page read.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSetInfo {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub stack_name: String,
    pub description: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub execution_status: Option<String>,
    pub changes: Vec<RawChange>,
}

impl ChangeSetInfo {
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS" | "DELETE_PENDING" | "DELETE_IN_PROGRESS"
        )
    }

    /// CloudFormation's answer to a template with nothing to change: a FAILED
    /// change set with this reason. A no-op, not an error.
    pub fn is_empty_change(&self) -> bool {
        self.status == "FAILED"
            && self.status_reason.as_deref().is_some_and(|r| {
                r.contains("didn't contain changes") || r.contains("No updates are to be performed")
            })
    }
}

/// One resource change of a change set, untouched by interpretation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawChange {
    pub action: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    /// `True`, `False`, `Conditional`, or absent (adds, removes, emulators).
    pub replacement: Option<String>,
    pub scope: Vec<String>,
    pub details: Vec<RawDetail>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawDetail {
    pub attribute: Option<String>,
    pub name: Option<String>,
    pub requires_recreation: Option<String>,
    pub change_source: Option<String>,
    pub causing_entity: Option<String>,
}

/// One stack event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventInfo {
    pub id: String,
    pub timestamp: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    pub client_request_token: Option<String>,
}

impl EventInfo {
    pub fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
}

/// Attempts for DetectStackDrift (the first one included).
const DETECT_ATTEMPTS: u32 = 3;

/// Error codes with which an endpoint says it does not know the operation.
const NOT_IMPLEMENTED_CODES: [&str; 5] = [
    "NotImplemented",
    "InvalidAction",
    "UnknownOperation",
    "UnknownOperationException",
    "UnsupportedOperation",
];

/// Why drift detection did not start.
#[derive(Debug)]
pub enum DriftStart {
    /// The endpoint has no drift detection (an emulator, say).
    Unsupported(String),
    Failed(AwsError),
}

/// Whether a failed DetectStackDrift means "this endpoint has no drift
/// detection": a not-implemented error code, HTTP 501, or HTTP 500 with no AWS
/// error in the body (AWS itself always names its 500s, e.g. `InternalFailure`).
fn detection_unsupported<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> Option<String> {
    if let Some(code) = error.code()
        && NOT_IMPLEMENTED_CODES.contains(&code)
    {
        return Some(format!(
            "the endpoint does not implement DetectStackDrift ({code})"
        ));
    }
    let status = error.raw_response()?.status().as_u16();
    match (status, error.code()) {
        (501, _) => Some("the endpoint does not implement DetectStackDrift (HTTP 501)".into()),
        (500, None) => Some(
            "the endpoint does not implement DetectStackDrift (HTTP 500 without an AWS error code)"
                .into(),
        ),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub struct Cfn {
    client: Client,
    poll: Poll,
}

impl Cfn {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            poll: Poll::default(),
        }
    }

    pub fn with_poll(mut self, poll: Poll) -> Self {
        self.poll = poll;
        self
    }

    pub fn poll(&self) -> Poll {
        self.poll
    }

    /// Starts CloudFormation's drift detection of a stack; its detection id.
    /// Few attempts: an endpoint that cannot answer should not hold the
    /// report up, and a failed start is reported, not hidden.
    pub async fn start_drift_detection(&self, stack: &str) -> Result<String, DriftStart> {
        let started = self
            .client
            .detect_stack_drift()
            .stack_name(stack)
            .customize()
            .config_override(
                aws_sdk_cloudformation::config::Builder::default()
                    .retry_config(RetryConfig::standard().with_max_attempts(DETECT_ATTEMPTS)),
            )
            .send()
            .await;
        match started {
            Ok(output) => Ok(output
                .stack_drift_detection_id()
                .unwrap_or_default()
                .to_string()),
            Err(error) => Err(match detection_unsupported(&error) {
                Some(reason) => DriftStart::Unsupported(reason),
                None => DriftStart::Failed(AwsError::from_sdk("DetectStackDrift", error)),
            }),
        }
    }

    /// A drift detection's status and, when it failed, why.
    pub async fn drift_detection_status(
        &self,
        detection_id: &str,
    ) -> Result<(Option<StackDriftDetectionStatus>, Option<String>), AwsError> {
        let status = self
            .client
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(detection_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeStackDriftDetectionStatus", e))?;
        let reason = status.detection_status_reason().map(str::to_string);
        Ok((status.detection_status().cloned(), reason))
    }

    /// Every resource drift of the stack except IN_SYNC, every page.
    pub async fn resource_drifts(&self, stack: &str) -> Result<Vec<StackResourceDrift>, AwsError> {
        let pages = self
            .client
            .describe_stack_resource_drifts()
            .stack_name(stack)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Modified)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Deleted)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::NotChecked)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::UnknownValue)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeStackResourceDrifts", e))?;
        Ok(pages
            .into_iter()
            .flat_map(|page| page.stack_resource_drifts.unwrap_or_default())
            .collect())
    }

    /// `None` when no such stack exists (deleted stacks are not found by name).
    #[tracing::instrument(level = "debug", skip_all, fields(name = %name))]
    pub async fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>, AwsError> {
        match self.describe_stacks(Some(name)).await {
            Ok(stacks) => Ok(stacks.first().map(|stack| stack_info(stack, name))),
            Err(error) if error.is_stack_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every stack of the account and region (deleted ones are not listed),
    /// every page read.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn all_stacks(&self) -> Result<Vec<StackInfo>, AwsError> {
        let stacks = self.describe_stacks(None).await?;
        Ok(stacks.iter().map(|s| stack_info(s, "")).collect())
    }

    /// The one DescribeStacks call: one stack by name, or all of them.
    async fn describe_stacks(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<aws_sdk_cloudformation::types::Stack>, AwsError> {
        self.client
            .describe_stacks()
            .set_stack_name(name.map(str::to_string))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeStacks", e))
    }

    /// Every resource of the stack, every page, by logical id.
    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack))]
    pub async fn resources(
        &self,
        stack: &str,
    ) -> Result<BTreeMap<String, DeployedResource>, AwsError> {
        let summaries = self
            .client
            .list_stack_resources()
            .stack_name(stack)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| AwsError::from_sdk("ListStackResources", e))?;
        Ok(summaries
            .into_iter()
            // A resource type CloudFormation (or an emulator) could not place has
            // no logical id; nothing can be matched against it.
            .filter_map(|summary| {
                let logical_id = summary.logical_resource_id().filter(|id| !id.is_empty())?;
                Some((
                    logical_id.to_string(),
                    DeployedResource {
                        logical_id: logical_id.to_string(),
                        physical_id: summary
                            .physical_resource_id()
                            .filter(|id| !id.is_empty())
                            .map(str::to_string),
                        resource_type: summary.resource_type().unwrap_or_default().to_string(),
                        status: summary
                            .resource_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    },
                ))
            })
            .collect())
    }

    /// The stack and its resources, read concurrently; `None` when not deployed.
    #[tracing::instrument(level = "debug", skip_all, fields(name = %name))]
    pub async fn deployed_stack(&self, name: &str) -> Result<Option<DeployedStack>, AwsError> {
        let (info, resources) = tokio::join!(self.describe_stack(name), self.resources(name));
        let Some(info) = info? else {
            return Ok(None);
        };
        Ok(Some(DeployedStack {
            info,
            resources: resources?,
        }))
    }

    /// The template body the stack was last deployed with, as submitted.
    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack))]
    pub async fn template_body(&self, stack: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .client
            .get_template()
            .stack_name(stack)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetTemplate", e))?;
        Ok(output.template_body().map(str::to_string))
    }

    /// The template a change set was created from (GetTemplate with its name).
    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack, change_set = %change_set))]
    pub async fn change_set_template(
        &self,
        stack: &str,
        change_set: &str,
    ) -> Result<Option<String>, AwsError> {
        let output = self
            .client
            .get_template()
            .stack_name(stack)
            .change_set_name(change_set)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetTemplate", e))?;
        Ok(output.template_body().map(str::to_string))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(stack = %request.stack))]
    pub async fn create_change_set(
        &self,
        request: &ChangeSetRequest,
    ) -> Result<CreatedChangeSet, AwsError> {
        let kind = if request.create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        };
        self.send_change_set(request, kind, &[]).await
    }

    /// An IMPORT change set: CloudFormation adopts `resources` (existing
    /// resources, by their primary identifier) into the stack, creating the
    /// stack when it does not exist.
    pub async fn create_import_change_set(
        &self,
        request: &ChangeSetRequest,
        resources: &[ResourceToImport],
    ) -> Result<CreatedChangeSet, AwsError> {
        self.send_change_set(request, ChangeSetType::Import, resources)
            .await
    }

    async fn send_change_set(
        &self,
        request: &ChangeSetRequest,
        kind: ChangeSetType,
        resources: &[ResourceToImport],
    ) -> Result<CreatedChangeSet, AwsError> {
        let mut call = self
            .client
            .create_change_set()
            .stack_name(&request.stack)
            .change_set_name(&request.name)
            .change_set_type(kind)
            // The IAM stack names its roles; the others need no capability but
            // asking for it costs nothing and keeps one code path.
            .capabilities(Capability::CapabilityNamedIam)
            .description(&request.description)
            .set_role_arn(request.role_arn.clone())
            // Makes a retried call idempotent: the same token never creates two change sets.
            .client_token(&request.name);
        for (key, value) in &request.tags {
            call = call.tags(Tag::builder().key(key).value(value).build());
        }
        for resource in resources {
            call = call.resources_to_import(
                aws_sdk_cloudformation::types::ResourceToImport::builder()
                    .resource_type(&resource.resource_type)
                    .logical_resource_id(&resource.logical_id)
                    .resource_identifier(&resource.identifier_key, &resource.physical_id)
                    .build(),
            );
        }
        call = match &request.template {
            TemplateSource::Body(body) => call.template_body(body),
            TemplateSource::Url(url) => call.template_url(url),
        };
        let output = call
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("CreateChangeSet", e))?;
        Ok(CreatedChangeSet {
            id: output.id().unwrap_or_default().to_string(),
            stack_id: output.stack_id().unwrap_or_default().to_string(),
        })
    }

    /// The whole change set, every page read through the SDK's paginator.
    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    pub async fn describe_change_set(&self, id: &str) -> Result<ChangeSetInfo, AwsError> {
        let mut pages = self
            .client
            .describe_change_set()
            .change_set_name(id)
            .into_paginator()
            .send();
        let mut info: Option<ChangeSetInfo> = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeChangeSet", e))?;
            let changes = page.changes().iter().filter_map(raw_change);
            match &mut info {
                Some(info) => info.changes.extend(changes),
                None => {
                    info = Some(ChangeSetInfo {
                        id: page.change_set_id().unwrap_or(id).to_string(),
                        name: page.change_set_name().unwrap_or_default().to_string(),
                        stack_id: page.stack_id().unwrap_or_default().to_string(),
                        stack_name: page.stack_name().unwrap_or_default().to_string(),
                        description: page.description().map(str::to_string),
                        status: page
                            .status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        status_reason: page.status_reason().map(str::to_string),
                        execution_status: page.execution_status().map(|s| s.as_str().to_string()),
                        changes: changes.collect(),
                    })
                }
            }
        }
        info.ok_or_else(|| AwsError {
            operation: "DescribeChangeSet",
            code: None,
            message: format!("no answer for change set {id}"),
        })
    }

    /// Polls until CloudFormation has finished computing the change set. The
    /// status comes with every page, so a pending change set costs one call a
    /// poll; its pages are read once it is complete.
    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    pub async fn wait_change_set(&self, id: &str) -> Result<ChangeSetInfo, WaitError> {
        let waited = poll::until(&self.poll, || async {
            let info = self.describe_change_set(id).await?;
            Ok::<_, AwsError>((!info.is_pending()).then_some(info))
        })
        .await?;
        match waited {
            Waited::Ready(info) => Ok(info),
            Waited::TimedOut(waited) => Err(WaitError::TimedOut {
                what: format!("change set {id}"),
                waited,
            }),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    pub async fn delete_change_set(&self, id: &str) -> Result<(), AwsError> {
        self.client
            .delete_change_set()
            .change_set_name(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteChangeSet", e))?;
        Ok(())
    }

    /// Starts the change set. `token` marks every event of this operation.
    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    pub async fn execute_change_set(&self, id: &str, token: &str) -> Result<(), AwsError> {
        self.client
            .execute_change_set()
            .change_set_name(id)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ExecuteChangeSet", e))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack))]
    pub async fn delete_stack(&self, stack: &str, token: &str) -> Result<(), AwsError> {
        self.client
            .delete_stack()
            .stack_name(stack)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteStack", e))?;
        Ok(())
    }

    /// The id of the stack's newest event: everything after it belongs to
    /// operations started later.
    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack))]
    pub async fn newest_event_id(&self, stack: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeStackEvents", e))?;
        Ok(output
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_string))
    }

    /// Events newer than `after` (all events of the first page when `None`),
    /// oldest first. CloudFormation lists newest first, so pages are read
    /// until the marker.
    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack))]
    pub async fn events_after(
        &self,
        stack: &str,
        after: Option<&str>,
    ) -> Result<Vec<EventInfo>, AwsError> {
        let mut events = Vec::new();
        let mut pages = self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .into_paginator()
            .send();
        'pages: while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeStackEvents", e))?;
            for event in page.stack_events() {
                let id = event.event_id().unwrap_or_default();
                if Some(id) == after {
                    break 'pages;
                }
                events.push(EventInfo {
                    id: id.to_string(),
                    timestamp: event.timestamp().map(timestamp).unwrap_or_default(),
                    logical_id: event.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: event.resource_type().unwrap_or_default().to_string(),
                    status: event
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: event.resource_status_reason().map(str::to_string),
                    client_request_token: event.client_request_token().map(str::to_string),
                });
            }
            // Without a marker the first page is enough: it is for showing
            // where an operation someone else started has got to.
            if after.is_none() {
                break;
            }
        }
        events.reverse();
        Ok(events)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack))]
    pub async fn set_stack_policy(&self, stack: &str, policy: &str) -> Result<(), AwsError> {
        self.client
            .set_stack_policy()
            .stack_name(stack)
            .stack_policy_body(policy)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("SetStackPolicy", e))?;
        Ok(())
    }

    /// The stack policy as set, `None` when the stack has none.
    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack))]
    pub async fn stack_policy(&self, stack: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .client
            .get_stack_policy()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetStackPolicy", e))?;
        Ok(output
            .stack_policy_body()
            .filter(|b| !b.trim().is_empty())
            .map(str::to_string))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(stack = %stack))]
    pub async fn set_termination_protection(&self, stack: &str, on: bool) -> Result<(), AwsError> {
        self.client
            .update_termination_protection()
            .stack_name(stack)
            .enable_termination_protection(on)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("UpdateTerminationProtection", e))?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("gave up waiting for {what} after {}", humantime::format_duration(*waited))]
    TimedOut { what: String, waited: Duration },
}

fn stack_info(stack: &aws_sdk_cloudformation::types::Stack, name: &str) -> StackInfo {
    StackInfo {
        stack_id: stack.stack_id().unwrap_or_default().to_string(),
        name: stack.stack_name().unwrap_or(name).to_string(),
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        status_reason: stack.stack_status_reason().map(str::to_string),
        last_changed: stack
            .last_updated_time()
            .or(stack.creation_time())
            .map(timestamp),
        tags: stack
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        parameters: stack
            .parameters()
            .iter()
            .map(|p| {
                let value = p
                    .resolved_value()
                    .or(p.parameter_value())
                    .unwrap_or_default();
                (
                    p.parameter_key().unwrap_or_default().to_string(),
                    value.to_string(),
                )
            })
            .collect(),
        termination_protection: stack.enable_termination_protection().unwrap_or(false),
        outputs: stack
            .outputs()
            .iter()
            .map(|o| StackOutput {
                key: o.output_key().unwrap_or_default().to_string(),
                value: o.output_value().unwrap_or_default().to_string(),
                export_name: o.export_name().map(str::to_string),
            })
            .collect(),
    }
}

fn timestamp(time: &aws_smithy_types::DateTime) -> String {
    time.fmt(Format::DateTime)
        .unwrap_or_else(|_| format!("{}s", time.secs()))
}

fn raw_change(change: &aws_sdk_cloudformation::types::Change) -> Option<RawChange> {
    let rc = change.resource_change()?;
    Some(RawChange {
        action: rc
            .action()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
        physical_id: rc.physical_resource_id().map(str::to_string),
        resource_type: rc.resource_type().unwrap_or_default().to_string(),
        replacement: rc.replacement().map(|r| r.as_str().to_string()),
        scope: rc.scope().iter().map(|s| s.as_str().to_string()).collect(),
        details: rc
            .details()
            .iter()
            .map(|d| RawDetail {
                attribute: d
                    .target()
                    .and_then(|t| t.attribute())
                    .map(|a| a.as_str().to_string()),
                name: d.target().and_then(|t| t.name()).map(str::to_string),
                requires_recreation: d
                    .target()
                    .and_then(|t| t.requires_recreation())
                    .map(|r| r.as_str().to_string()),
                change_source: d.change_source().map(|c| c.as_str().to_string()),
                causing_entity: d.causing_entity().map(str::to_string),
            })
            .collect(),
    })
}

/// Stack statuses, grouped by what they mean for a deploy.
pub mod status {
    /// An operation is running: nothing else may start on the stack.
    pub fn in_progress(status: &str) -> bool {
        status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS"
    }

    /// A finished operation that left the stack broken or rolled back.
    pub fn failed(status: &str) -> bool {
        status.ends_with("_FAILED") || status.contains("ROLLBACK_COMPLETE")
    }
}
