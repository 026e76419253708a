//! CloudFormation StackSets: one template deployed to many accounts and
//! regions by CloudFormation itself. Each method is one call (or one
//! paginated listing); operations are followed through [`poll::until`], and
//! their per-instance results read back. mlinfra orchestrates; the rollout,
//! its concurrency and failure tolerance are CloudFormation's.

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    AutoDeployment, Capability, ConcurrencyMode, DeploymentTargets, PermissionModels,
    RegionConcurrencyType, StackSetOperationPreferences, Tag,
};

use super::error::AwsError;
use super::poll::{self, Poll, Waited};
use crate::config::fleet::{Amount, Fleet, Permissions, Targets};

/// A StackSet as `DescribeStackSet` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSetInfo {
    pub name: String,
    pub status: String,
    pub template_body: Option<String>,
    pub permission_model: Option<String>,
}

/// One stack instance: where it is and how it stands.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    pub account: String,
    pub region: String,
    /// The OU it was deployed through (service-managed).
    pub organizational_unit: Option<String>,
    /// `CURRENT`, `OUTDATED` or `INOPERABLE`, with the detailed status.
    pub status: String,
    pub reason: Option<String>,
    /// `DRIFTED`, `IN_SYNC`, `UNKNOWN` or `NOT_CHECKED`.
    pub drift: Option<String>,
}

/// One instance's result of an operation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceResult {
    pub account: String,
    pub region: String,
    /// `SUCCEEDED`, `FAILED`, `CANCELLED`, `RUNNING`, `PENDING`.
    pub status: String,
    pub reason: Option<String>,
}

/// How an operation ended, with every instance's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OperationOutcome {
    pub operation_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub results: Vec<InstanceResult>,
}

impl OperationOutcome {
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }
}

/// What to create or update a StackSet with.
#[derive(Debug, Clone)]
pub struct StackSetRequest<'a> {
    pub name: &'a str,
    pub template: &'a super::cfn::TemplateSource,
    pub description: &'a str,
    pub tags: &'a [(String, String)],
    pub fleet: &'a Fleet,
}

impl StackSetRequest<'_> {
    fn body(&self) -> Option<String> {
        match self.template {
            super::cfn::TemplateSource::Body(text) => Some(text.clone()),
            super::cfn::TemplateSource::Url(_) => None,
        }
    }

    fn url(&self) -> Option<String> {
        match self.template {
            super::cfn::TemplateSource::Url(url) => Some(url.clone()),
            super::cfn::TemplateSource::Body(_) => None,
        }
    }
}

/// Which instances an operation is about: accounts (or OUs) × regions.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub targets: Targets,
    pub regions: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StackSetError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "gave up waiting for operation {operation} of StackSet {stack_set} after {}; it continues in CloudFormation",
        humantime::format_duration(*waited)
    )]
    TimedOut {
        stack_set: String,
        operation: String,
        waited: Duration,
    },
}

#[derive(Debug, Clone)]
pub struct StackSets {
    client: Client,
    poll: Poll,
}

fn preferences(fleet: &Fleet) -> StackSetOperationPreferences {
    let p = &fleet.preferences;
    let mut b = StackSetOperationPreferences::builder()
        .region_concurrency_type(if p.parallel_regions {
            RegionConcurrencyType::Parallel
        } else {
            RegionConcurrencyType::Sequential
        })
        .set_region_order((!p.region_order.is_empty()).then(|| p.region_order.clone()))
        .concurrency_mode(if p.soft_failure_tolerance {
            ConcurrencyMode::SoftFailureTolerance
        } else {
            ConcurrencyMode::StrictFailureTolerance
        });
    // u32 values are validated to 100 percent or fewer than accounts exist.
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    b = match p.max_concurrent {
        Some(Amount::Count(n)) => b.max_concurrent_count(int(n)),
        Some(Amount::Percentage(n)) => b.max_concurrent_percentage(int(n)),
        None => b,
    };
    b = match p.failure_tolerance {
        Some(Amount::Count(n)) => b.failure_tolerance_count(int(n)),
        Some(Amount::Percentage(n)) => b.failure_tolerance_percentage(int(n)),
        None => b,
    };
    b.build()
}

fn ous(targets: &Targets) -> Option<DeploymentTargets> {
    match targets {
        Targets::OrganizationalUnits(ids) => Some(
            DeploymentTargets::builder()
                .set_organizational_unit_ids(Some(ids.clone()))
                .build(),
        ),
        Targets::Accounts(_) => None,
    }
}

fn accounts(targets: &Targets) -> Option<Vec<String>> {
    match targets {
        Targets::Accounts(ids) => Some(ids.clone()),
        Targets::OrganizationalUnits(_) => None,
    }
}

impl StackSets {
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

    /// `None` when no such StackSet exists.
    pub async fn describe(&self, name: &str) -> Result<Option<StackSetInfo>, AwsError> {
        let output = match self
            .client
            .describe_stack_set()
            .stack_set_name(name)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) => {
                if e.as_service_error()
                    .is_some_and(|s| s.is_stack_set_not_found_exception())
                {
                    return Ok(None);
                }
                return Err(AwsError::from_sdk("DescribeStackSet", e));
            }
        };
        Ok(output.stack_set().map(|s| StackSetInfo {
            name: s.stack_set_name().unwrap_or(name).to_string(),
            status: s
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            template_body: s.template_body().map(str::to_string),
            permission_model: s.permission_model().map(|p| p.as_str().to_string()),
        }))
    }

    pub async fn create(&self, request: &StackSetRequest<'_>, token: &str) -> Result<(), AwsError> {
        let mut call = self
            .client
            .create_stack_set()
            .stack_set_name(request.name)
            .set_template_body(request.body())
            .set_template_url(request.url())
            .description(request.description)
            .capabilities(Capability::CapabilityNamedIam)
            .client_request_token(token);
        for (key, value) in request.tags {
            call = call.tags(Tag::builder().key(key).value(value).build());
        }
        call = match &request.fleet.permissions {
            Permissions::SelfManaged {
                administration_role_arn,
                execution_role_name,
            } => call
                .permission_model(PermissionModels::SelfManaged)
                .administration_role_arn(administration_role_arn)
                .execution_role_name(execution_role_name),
            Permissions::ServiceManaged {
                auto_deployment,
                retain_stacks_on_account_removal,
            } => call
                .permission_model(PermissionModels::ServiceManaged)
                .auto_deployment(
                    AutoDeployment::builder()
                        .enabled(*auto_deployment)
                        .set_retain_stacks_on_account_removal(
                            auto_deployment.then_some(*retain_stacks_on_account_removal),
                        )
                        .build(),
                ),
        };
        call.send()
            .await
            .map_err(|e| AwsError::from_sdk("CreateStackSet", e))?;
        Ok(())
    }

    /// Updates the template of every instance in `instances`. `operation_id`
    /// makes a retried call the same operation.
    pub async fn update(
        &self,
        request: &StackSetRequest<'_>,
        instances: &Selection,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        let mut call = self
            .client
            .update_stack_set()
            .stack_set_name(request.name)
            .set_template_body(request.body())
            .set_template_url(request.url())
            .description(request.description)
            .capabilities(Capability::CapabilityNamedIam)
            .operation_preferences(preferences(request.fleet))
            .operation_id(operation_id);
        // No regions: the template alone (CloudFormation then updates every
        // existing instance).
        if !instances.regions.is_empty() {
            call = call
                .set_accounts(accounts(&instances.targets))
                .set_deployment_targets(ous(&instances.targets))
                .set_regions(Some(instances.regions.clone()));
        }
        for (key, value) in request.tags {
            call = call.tags(Tag::builder().key(key).value(value).build());
        }
        if let Permissions::SelfManaged {
            administration_role_arn,
            execution_role_name,
        } = &request.fleet.permissions
        {
            call = call
                .administration_role_arn(administration_role_arn)
                .execution_role_name(execution_role_name);
        }
        let output = call
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("UpdateStackSet", e))?;
        Ok(output.operation_id().unwrap_or(operation_id).to_string())
    }

    pub async fn create_instances(
        &self,
        name: &str,
        fleet: &Fleet,
        instances: &Selection,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        let output = self
            .client
            .create_stack_instances()
            .stack_set_name(name)
            .set_accounts(accounts(&instances.targets))
            .set_deployment_targets(ous(&instances.targets))
            .set_regions(Some(instances.regions.clone()))
            .operation_preferences(preferences(fleet))
            .operation_id(operation_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("CreateStackInstances", e))?;
        Ok(output.operation_id().unwrap_or(operation_id).to_string())
    }

    /// Removes instances (the targets left the configuration); their stacks
    /// are deleted too unless `retain_stacks`, which keeps the stacks and
    /// everything in them in the target accounts.
    pub async fn delete_instances(
        &self,
        name: &str,
        fleet: &Fleet,
        instances: &Selection,
        retain_stacks: bool,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        let output = self
            .client
            .delete_stack_instances()
            .stack_set_name(name)
            .set_accounts(accounts(&instances.targets))
            .set_deployment_targets(ous(&instances.targets))
            .set_regions(Some(instances.regions.clone()))
            .operation_preferences(preferences(fleet))
            .retain_stacks(retain_stacks)
            .operation_id(operation_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteStackInstances", e))?;
        Ok(output.operation_id().unwrap_or(operation_id).to_string())
    }

    /// Deletes a StackSet that has no instances left.
    pub async fn delete(&self, name: &str) -> Result<(), AwsError> {
        self.client
            .delete_stack_set()
            .stack_set_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteStackSet", e))?;
        Ok(())
    }

    /// Every instance, every page.
    pub async fn instances(&self, name: &str) -> Result<Vec<Instance>, AwsError> {
        let summaries = self
            .client
            .list_stack_instances()
            .stack_set_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| AwsError::from_sdk("ListStackInstances", e))?;
        let mut instances: Vec<Instance> = summaries
            .iter()
            .map(|s| {
                let status = s.status().map(|s| s.as_str()).unwrap_or_default();
                let detailed = s
                    .stack_instance_status()
                    .and_then(|d| d.detailed_status())
                    .map(|d| d.as_str());
                Instance {
                    account: s.account().unwrap_or_default().to_string(),
                    region: s.region().unwrap_or_default().to_string(),
                    organizational_unit: s.organizational_unit_id().map(str::to_string),
                    status: match detailed {
                        Some(d) if d != status => format!("{status} ({d})"),
                        _ => status.to_string(),
                    },
                    reason: s.status_reason().map(str::to_string),
                    drift: s.drift_status().map(|d| d.as_str().to_string()),
                }
            })
            .collect();
        instances.sort();
        Ok(instances)
    }

    /// Starts drift detection on every instance; the operation's id.
    pub async fn detect_drift(
        &self,
        name: &str,
        fleet: &Fleet,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        let output = self
            .client
            .detect_stack_set_drift()
            .stack_set_name(name)
            .operation_preferences(preferences(fleet))
            .operation_id(operation_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DetectStackSetDrift", e))?;
        Ok(output.operation_id().unwrap_or(operation_id).to_string())
    }

    /// Follows an operation until it ends, then reads every instance's result.
    pub async fn follow(
        &self,
        name: &str,
        operation_id: &str,
    ) -> Result<OperationOutcome, StackSetError> {
        let waited = poll::until(&self.poll, || async {
            let output = self
                .client
                .describe_stack_set_operation()
                .stack_set_name(name)
                .operation_id(operation_id)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeStackSetOperation", e))?;
            let operation = output.stack_set_operation();
            let status = operation
                .and_then(|o| o.status())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let running = matches!(status.as_str(), "RUNNING" | "QUEUED" | "STOPPING" | "");
            Ok::<_, AwsError>((!running).then(|| {
                (
                    status,
                    operation
                        .and_then(|o| o.status_reason())
                        .map(str::to_string),
                )
            }))
        })
        .await?;
        let (status, reason) = match waited {
            Waited::Ready(done) => done,
            Waited::TimedOut(waited) => {
                return Err(StackSetError::TimedOut {
                    stack_set: name.to_string(),
                    operation: operation_id.to_string(),
                    waited,
                });
            }
        };
        let summaries = self
            .client
            .list_stack_set_operation_results()
            .stack_set_name(name)
            .operation_id(operation_id)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| AwsError::from_sdk("ListStackSetOperationResults", e))?;
        let mut results: Vec<InstanceResult> = summaries
            .iter()
            .map(|s| InstanceResult {
                account: s.account().unwrap_or_default().to_string(),
                region: s.region().unwrap_or_default().to_string(),
                status: s
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: s.status_reason().map(str::to_string),
            })
            .collect();
        results.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        Ok(OperationOutcome {
            operation_id: operation_id.to_string(),
            status,
            reason,
            results,
        })
    }
}
