//! The deployed side of a stack: its status, outputs and resources with their
//! physical ids. Deep checks find live resources only through these ids.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;

use crate::cloud::AwsError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedResource {
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutput {
    pub key: String,
    pub value: String,
    pub export_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedStack {
    pub name: String,
    pub status: String,
    pub outputs: Vec<StackOutput>,
    /// By logical id.
    pub resources: BTreeMap<String, DeployedResource>,
}

impl DeployedStack {
    pub fn physical_id(&self, logical_id: &str) -> Option<&str> {
        self.resources
            .get(logical_id)
            .and_then(|r| r.physical_id.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    Missing,
    Deployed(DeployedStack),
}

/// DescribeStacks and ListStackResources (every page), concurrently.
pub async fn load(cfn: &Client, name: &str) -> Result<StackState, AwsError> {
    let describe = async {
        cfn.describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeStacks", e))
    };
    let list = async {
        cfn.list_stack_resources()
            .stack_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| AwsError::from_sdk("ListStackResources", e))
    };
    let (described, listed) = tokio::join!(describe, list);
    let described = match described {
        Ok(described) => described,
        Err(error) if error.is_stack_not_found() => return Ok(StackState::Missing),
        Err(error) => return Err(error),
    };
    let Some(stack) = described.stacks().first() else {
        return Ok(StackState::Missing);
    };
    let outputs = stack
        .outputs()
        .iter()
        .map(|o| StackOutput {
            key: o.output_key().unwrap_or_default().to_string(),
            value: o.output_value().unwrap_or_default().to_string(),
            export_name: o.export_name().map(str::to_string),
        })
        .collect();
    let resources = listed?
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
        .collect();
    Ok(StackState::Deployed(DeployedStack {
        name: name.to_string(),
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        outputs,
        resources,
    }))
}

/// The export table of the environment's own stacks, for `Fn::ImportValue`.
pub fn exports<'a>(
    stacks: impl IntoIterator<Item = &'a DeployedStack>,
) -> BTreeMap<String, String> {
    stacks
        .into_iter()
        .flat_map(|s| &s.outputs)
        .filter_map(|o| Some((o.export_name.clone()?, o.value.clone())))
        .collect()
}
