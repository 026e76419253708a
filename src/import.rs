//! `import`: existing buckets and keys adopted into the environment's data
//! stack through a CloudFormation IMPORT change set.
//!
//! CloudFormation's rules for an import shape the template sent: every
//! imported resource carries a `DeletionPolicy`, and nothing else changes —
//! the stack's other resources and its Outputs stay exactly as deployed (a
//! new stack gets the imported resources alone). A property of an imported
//! resource that refers to a resource the stack does not hold yet (a bucket's
//! encryption with a key still to be created) is left out of the import; the
//! next `apply` sets it, with the rest of the data stack.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::apply::follow::{Operation, follow};
use crate::apply::progress::Progress;
use crate::cloud::cfn::{ChangeSetRequest, ResourceToImport, TemplateSource, WaitError};
use crate::cloud::{AwsError, Clients};
use crate::config::Env;
use crate::output::{self, Printer, Report};
use crate::plan::{self, ChangeSetRef, MAX_TEMPLATE_BODY, run_id, state};
use crate::render::RenderedStack;
use crate::stacks::Layer;
use crate::template::Canonical;
use crate::template::refs::references;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(
        "--resource {0}: expected LOGICAL_ID=PHYSICAL_ID, e.g. DataKey=1234abcd-12ab-34cd-56ef-1234567890ab"
    )]
    Malformed(String),
    #[error("--resource {id}: {why}")]
    WrongResource { id: String, why: String },
    #[error("cannot import into {stack}: it is {status}; import needs a deployed stack or none")]
    NotReady { stack: String, status: String },
    #[error(
        "import needs --yes when standard input is not a terminal (as in CI); nothing was imported. Review the \
         plan above, then run again with --yes"
    )]
    NeedsYes,
    #[error("import cancelled; nothing was imported")]
    Declined,
    #[error(
        "the import change set for {stack} failed, nothing was imported (the change set is deleted): {reason}"
    )]
    ChangeSetFailed { stack: String, reason: String },
    #[error("the import into {stack} ended in {status}{}", .reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Failed {
        stack: String,
        status: String,
        reason: Option<String>,
    },
}

/// The types an import adopts, with the property holding their primary identifier.
const IMPORTABLE: [(&str, &str); 3] = [
    ("AWS::S3::Bucket", "BucketName"),
    ("AWS::KMS::Key", "KeyId"),
    ("AWS::KMS::Alias", "AliasName"),
];

/// `LogicalId=physical-id`, as `--resource` takes it.
pub fn parse_resource(argument: &str) -> Result<(String, String), ImportError> {
    match argument.split_once('=') {
        Some((id, physical)) if !id.is_empty() && !physical.is_empty() => {
            Ok((id.to_string(), physical.to_string()))
        }
        _ => Err(ImportError::Malformed(argument.to_string())),
    }
}

/// What an import adopts, and what it leaves for `apply`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportPlan {
    pub env: String,
    pub account_id: String,
    pub region: String,
    pub stack: String,
    /// The data stack is deployed; otherwise the import creates it.
    pub stack_exists: bool,
    pub resources: Vec<ResourceToImport>,
    /// Resources of the data stack not imported, and why.
    pub not_imported: Vec<String>,
    /// Properties left out of the import template, as `LogicalId.Property`.
    pub deferred: Vec<String>,
    /// The template the IMPORT change set is created from.
    #[serde(skip)]
    pub template: Value,
    /// Set once the import completed.
    pub done: bool,
}

fn wrong(id: &str, why: impl Into<String>) -> ImportError {
    ImportError::WrongResource {
        id: id.to_string(),
        why: why.into(),
    }
}

/// Reads the data stack and finds what can be imported: every bucket of the
/// rendered data stack that exists and the stack does not hold (named by the
/// environment's derived names), and the key and its alias where `given`
/// names them (a key has no name to find it by). Only reads.
pub async fn plan(
    clients: &Clients,
    env: &Env,
    rendered: &[RenderedStack],
    given: &[(String, String)],
) -> Result<ImportPlan, ImportError> {
    let data = rendered
        .iter()
        .find(|s| s.spec.layer == Layer::Data)
        .expect("every environment renders a data stack");
    let name = data.spec.name.clone();
    let cfn = &clients.cfn;
    let info = cfn.describe_stack(&name).await?;
    let (stack_exists, mut template, owned) = match &info {
        None => (false, Value::Null, BTreeSet::new()),
        Some(info) => match state::assess(&name, Some(info.clone())) {
            Ok(state::Found::Ready(_)) => {
                let deployed = cfn
                    .template_body(&info.stack_id)
                    .await?
                    .and_then(|body| Canonical::parse(&body).ok())
                    .map(|c| c.value)
                    .unwrap_or(Value::Null);
                let owned: BTreeSet<String> =
                    cfn.resources(&info.stack_id).await?.into_keys().collect();
                (true, deployed, owned)
            }
            _ => {
                return Err(ImportError::NotReady {
                    stack: name,
                    status: info.status.clone(),
                });
            }
        },
    };
    if !stack_exists {
        template = json!({ "Resources": {} });
        for key in ["AWSTemplateFormatVersion", "Description"] {
            if let Some(value) = data.template.value.get(key) {
                template[key] = value.clone();
            }
        }
    }
    let wanted = data.template.value["Resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (id, _) in given {
        let importable = wanted.get(id).is_some_and(|r| {
            IMPORTABLE
                .iter()
                .any(|(t, _)| r["Type"].as_str() == Some(*t))
        });
        if !importable {
            return Err(wrong(
                id,
                format!(
                    "{name} renders no bucket, key or alias of that logical id (importable: {})",
                    importable_ids(&wanted).join(", ")
                ),
            ));
        }
        if owned.contains(id) {
            return Err(wrong(id, format!("{name} already holds it")));
        }
    }

    let mut resources = Vec::new();
    let mut not_imported = Vec::new();
    for (id, resource) in &wanted {
        let Some((resource_type, key)) = IMPORTABLE
            .iter()
            .find(|(t, _)| resource["Type"].as_str() == Some(*t))
        else {
            continue;
        };
        if owned.contains(id) {
            continue;
        }
        let named = resource["Properties"][key].as_str();
        let given = given.iter().find(|(g, _)| g == id).map(|(_, p)| p.as_str());
        let physical = match (*resource_type, named, given) {
            // The template names it: the identifier must be that name.
            (_, Some(named), Some(given)) if named != given => {
                return Err(wrong(
                    id,
                    format!(
                        "the environment names it `{named}` (config/names.rs); an import takes the resource of \
                         that name, not `{given}`"
                    ),
                ));
            }
            ("AWS::S3::Bucket", Some(named), _) => {
                if !crate::cloud::s3::bucket_exists(&clients.s3, named).await? {
                    not_imported.push(format!("{id} ({named}): no such bucket; apply creates it"));
                    continue;
                }
                named.to_string()
            }
            (_, _, Some(given)) => key_id(given),
            _ => {
                not_imported.push(format!(
                    "{id} ({resource_type}): not named; import it with --resource {id}={}",
                    if *resource_type == "AWS::KMS::Key" {
                        "KEY_ID"
                    } else {
                        "NAME"
                    }
                ));
                continue;
            }
        };
        if resource.get("DeletionPolicy").is_none() {
            return Err(wrong(
                id,
                "its template has no DeletionPolicy, which CloudFormation requires of an imported resource",
            ));
        }
        template["Resources"][id] = resource.clone();
        resources.push(ResourceToImport {
            logical_id: id.clone(),
            resource_type: resource_type.to_string(),
            identifier_key: key.to_string(),
            physical_id: physical,
        });
    }

    let present: BTreeSet<String> = template["Resources"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    let mut deferred = Vec::new();
    for resource in &resources {
        let id = &resource.logical_id;
        let definition = &mut template["Resources"][id];
        if let Some(properties) = definition
            .get_mut("Properties")
            .and_then(Value::as_object_mut)
        {
            let kept: Map<String, Value> = std::mem::take(properties)
                .into_iter()
                .filter(|(property, value)| {
                    let whole = references(value).is_subset(&present);
                    if !whole {
                        deferred.push(format!("{id}.{property}"));
                    }
                    whole
                })
                .collect();
            *properties = kept;
        }
        if resource.resource_type == "AWS::KMS::Alias"
            && definition["Properties"].get("TargetKeyId").is_none()
        {
            return Err(wrong(
                id,
                "an alias is imported with its key: import the key too (--resource DataKey=KEY_ID)",
            ));
        }
        if let Some(after) = definition.get("DependsOn").cloned() {
            let kept: Vec<Value> = match after {
                Value::Array(ids) => ids,
                one => vec![one],
            }
            .into_iter()
            .filter(|d| d.as_str().is_some_and(|d| present.contains(d)))
            .collect();
            if kept.is_empty() {
                definition.as_object_mut().map(|d| d.remove("DependsOn"));
            } else {
                definition["DependsOn"] = Value::Array(kept);
            }
        }
    }
    Ok(ImportPlan {
        env: env.name.clone(),
        account_id: env.account_id.clone(),
        region: env.region.clone(),
        stack: name,
        stack_exists,
        resources,
        not_imported,
        deferred,
        template,
        done: false,
    })
}

/// A key id from a key id or a key ARN (`arn:aws:kms:…:key/ID`).
fn key_id(given: &str) -> String {
    match given.rsplit_once(":key/") {
        Some((_, id)) => id.to_string(),
        None => given.to_string(),
    }
}

fn importable_ids(resources: &Map<String, Value>) -> Vec<String> {
    resources
        .iter()
        .filter(|(_, r)| {
            IMPORTABLE
                .iter()
                .any(|(t, _)| r["Type"].as_str() == Some(*t))
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// Creates the IMPORT change set, executes it and follows it to its end.
/// A change set CloudFormation refuses is deleted (with the empty stack a
/// new import leaves): nothing stays behind.
pub async fn execute(
    clients: &Clients,
    env: &Env,
    plan: &ImportPlan,
    progress: &Progress,
) -> Result<String, ImportError> {
    let cfn = &clients.cfn;
    let body = Canonical::new(plan.template.clone()).text;
    if body.len() > MAX_TEMPLATE_BODY {
        return Err(ImportError::ChangeSetFailed {
            stack: plan.stack.clone(),
            reason: format!(
                "the import template is {} bytes, over CloudFormation's inline limit of {MAX_TEMPLATE_BODY}",
                body.len()
            ),
        });
    }
    let request = ChangeSetRequest {
        stack: plan.stack.clone(),
        name: format!("mlinfra-import-{}", run_id()),
        create: !plan.stack_exists,
        template: TemplateSource::Body(body),
        tags: state::stack_tags(env, Layer::Data),
        description: format!("mlinfra import into {} of {}", plan.stack, env.name),
        role_arn: env.access.cloudformation_role_arn.clone(),
    };
    let created = cfn
        .create_import_change_set(&request, &plan.resources)
        .await?;
    let reference = ChangeSetRef {
        id: created.id.clone(),
        name: request.name.clone(),
        stack_id: created.stack_id.clone(),
        create: !plan.stack_exists,
    };
    let info = cfn.wait_change_set(&created.id).await?;
    if info.status != "CREATE_COMPLETE" {
        let _ = plan::discard(clients, &reference).await;
        return Err(ImportError::ChangeSetFailed {
            stack: plan.stack.clone(),
            reason: format!(
                "{}: {}",
                info.status,
                info.status_reason
                    .unwrap_or_else(|| "no reason given".into())
            ),
        });
    }
    let operation = Operation {
        token: Some(format!("mlinfra-import-{}", run_id())),
        after: cfn.newest_event_id(&created.stack_id).await?,
    };
    progress.started(&plan.stack, "importing");
    cfn.execute_change_set(&created.id, operation.token.as_deref().unwrap_or_default())
        .await?;
    let outcome = follow(cfn, &plan.stack, &created.stack_id, &operation, progress).await?;
    if outcome.status != "IMPORT_COMPLETE" {
        progress.finished(&plan.stack, &format!("failed: {}", outcome.status));
        return Err(ImportError::Failed {
            stack: plan.stack.clone(),
            reason: outcome
                .first_failure(&plan.stack)
                .and_then(|e| e.reason.clone())
                .or(outcome.status_reason),
            status: outcome.status,
        });
    }
    progress.finished(&plan.stack, &outcome.status);
    Ok(outcome.status)
}

impl Report for ImportPlan {
    fn kind(&self) -> &'static str {
        "import plan"
    }

    fn human(&self, _: &Printer) -> String {
        let mut text = if self.done {
            format!(
                "Imported {} resource(s) into {}.\n",
                self.resources.len(),
                self.stack
            )
        } else if self.resources.is_empty() {
            format!("Nothing to import into {}.\n", self.stack)
        } else {
            format!(
                "Import into {} ({}, account {}, {}){}:\n",
                self.stack,
                self.env,
                self.account_id,
                self.region,
                if self.stack_exists {
                    ""
                } else {
                    "; the import creates the stack"
                }
            )
        };
        for resource in &self.resources {
            text.push_str(&format!(
                "  {} ({}) <- {} {}\n",
                resource.logical_id,
                resource.resource_type,
                resource.identifier_key,
                resource.physical_id
            ));
        }
        if !self.not_imported.is_empty() && !self.done {
            text.push_str("Not imported:\n");
            for line in &self.not_imported {
                text.push_str(&format!("  - {line}\n"));
            }
        }
        if !self.deferred.is_empty() {
            text.push_str(
                "Left out of the import (they refer to resources the stack does not hold yet; the next apply \
                 sets them):\n",
            );
            for property in &self.deferred {
                text.push_str(&format!("  - {property}\n"));
            }
        }
        if self.done {
            // The other stacks import the data stack's exports, which the
            // import cannot add: the data stack is completed first.
            text.push_str(&format!(
                "Next: `mlinfra apply --env {env} --stack data` completes the data stack (its outputs, policies \
                 and every property left out), then `mlinfra apply --env {env}` the rest.\n",
                env = self.env
            ));
        }
        text
    }

    fn json(&self) -> String {
        output::versioned_json(1, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_argument_is_a_logical_id_and_a_physical_id() {
        assert_eq!(
            parse_resource("DataKey=abc-123").unwrap(),
            ("DataKey".to_string(), "abc-123".to_string())
        );
        assert!(parse_resource("DataKey").is_err());
        assert!(parse_resource("=x").is_err());
        assert_eq!(
            key_id("arn:aws:kms:us-east-1:123456789012:key/abc-123"),
            "abc-123"
        );
        assert_eq!(key_id("abc-123"), "abc-123");
    }
}
