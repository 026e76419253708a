//! IAM reads of one role for drift: the role (its trust policy), the managed
//! policies attached to it and its inline policies' documents.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Role;
use futures_util::future::try_join_all;

use super::AwsError;

/// The role; `None` when IAM does not know it.
pub async fn role(client: &Client, name: &str) -> Result<Option<Role>, AwsError> {
    match client.get_role().role_name(name).send().await {
        Ok(output) => Ok(output.role().cloned()),
        Err(e) => {
            let error = AwsError::from_sdk("GetRole", e);
            if error.has_code(&["NoSuchEntity"]) {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

/// The ARNs of the managed policies attached to the role, every page.
pub async fn attached_policy_arns(client: &Client, role: &str) -> Result<Vec<String>, AwsError> {
    let attached = client
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| AwsError::from_sdk("ListAttachedRolePolicies", e))?;
    Ok(attached
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

/// The role's inline policies by name, each document as IAM returns it
/// (URL-encoded JSON).
pub async fn inline_policies(
    client: &Client,
    role: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let names = client
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| AwsError::from_sdk("ListRolePolicies", e))?;
    let documents = try_join_all(names.iter().map(|name| async move {
        let output = client
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetRolePolicy", e))?;
        Ok::<_, AwsError>((name.clone(), output.policy_document().to_string()))
    }))
    .await?;
    Ok(documents.into_iter().collect())
}
