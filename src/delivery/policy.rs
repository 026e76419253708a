//! IAM policies generated from an environment: the deploy role's (every call
//! mlinfra makes for plan, apply, drift, train and status, on this
//! environment's names only) and the CloudFormation execution role's (what
//! CloudFormation's resource handlers need for the resource types the
//! environment renders, read from the resource provider schemas into
//! `data/cfn-handler-permissions.json`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Env;
use crate::render::RenderedStack;
use crate::template::iam::{Condition, Statement};

/// CloudFormation's handler permissions per resource type, by handler.
const HANDLER_PERMISSIONS: &str = include_str!("../../data/cfn-handler-permissions.json");

/// IAM's limit for the inline policies of one role, in characters.
pub use crate::config::policies::ROLE_INLINE_POLICY_LIMIT;

/// A policy document (`Version` 2012-10-17).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Policy {
    /// `name` is the document the statements say they sit in.
    fn new(name: &str, mut statements: Vec<Statement>) -> Self {
        for statement in &mut statements {
            statement.policy = name.to_string();
        }
        Self { statements }
    }

    /// Every action the policy grants.
    pub fn actions(&self) -> BTreeSet<&str> {
        self.statements
            .iter()
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect()
    }

    /// The document as IAM counts it (no whitespace).
    pub fn size(&self) -> usize {
        self.to_value().to_string().len()
    }

    pub fn to_value(&self) -> Value {
        let statements = self.statements.iter().map(Statement::to_json).collect();
        json!({ "Version": "2012-10-17", "Statement": Value::Array(statements) })
    }
}

impl Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

fn statement(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
    let actions = actions.iter().map(|a| a.to_string()).collect();
    Statement::allow("", sid, actions, resources)
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "no CloudFormation handler permissions are known for {0}; run scripts/handler-permissions.py"
    )]
    UnknownType(String),
    #[error(
        "no resource scope is known for the {0} actions of {1}; they would need Resource \"*\""
    )]
    UnscopedService(String, String),
}

/// The handler permissions of `resource_type`, by handler (create, read, update, delete).
pub fn handler_permissions(resource_type: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let table: BTreeMap<String, BTreeMap<String, Vec<String>>> =
        serde_json::from_str(HANDLER_PERMISSIONS).expect("the shipped table is JSON");
    table.get(resource_type).cloned()
}

/// The resource types of the rendered templates.
pub fn rendered_types(rendered: &[RenderedStack]) -> BTreeSet<String> {
    rendered
        .iter()
        .filter_map(|s| s.template.value.get("Resources")?.as_object())
        .flat_map(|resources| resources.values())
        .filter_map(|r| r.get("Type")?.as_str().map(str::to_string))
        .collect()
}

/// Actions that have no resource-level permissions, or act on resources
/// whose ARNs exist only after creation (a new key's id, a scalable target):
/// IAM takes only `Resource: "*"` for them.
pub const UNSCOPED: &[&str] = &[
    "kms:CreateKey",
    "kms:ListAliases",
    "cloudwatch:GetMetricData",
    "cloudformation:DescribeStackDriftDetectionStatus",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "sns:GetSubscriptionAttributes",
    "sns:SetSubscriptionAttributes",
    "sns:Unsubscribe",
    "sts:GetCallerIdentity",
];

/// The resources of this environment that a service's actions may touch.
fn scope(env: &Env, service: &str) -> Option<Vec<String>> {
    let (account, region, prefix) = (&env.account_id, &env.region, env.prefix());
    let arn = |service: &str, rest: &str| format!("arn:aws:{service}:{region}:{account}:{rest}");
    Some(match service {
        "s3" => vec![
            format!("arn:aws:s3:::{prefix}-*"),
            format!("arn:aws:s3:::{prefix}-*/*"),
        ],
        "s3tables" => vec![arn("s3tables", &format!("bucket/{prefix}-*"))],
        // The roles the environment renders, by name: never the deploy and
        // execution roles themselves, which share the prefix.
        "iam" => rendered_roles(env),
        // Key ids are random: the account's keys, with aliases of this environment.
        "kms" => vec![
            arn("kms", "key/*"),
            arn("kms", &format!("alias/{prefix}-*")),
        ],
        // Models and endpoint configurations carry names CloudFormation
        // generates (they are immutable and must never be fixed).
        "sagemaker" => vec![
            arn("sagemaker", &format!("endpoint/{prefix}-*")),
            arn("sagemaker", &format!("pipeline/{prefix}-*")),
            arn("sagemaker", "model/*"),
            arn("sagemaker", "endpoint-config/*"),
            // Monitoring schedules are named `{endpoint}-data-quality`; job
            // definitions carry names CloudFormation generates.
            arn("sagemaker", &format!("monitoring-schedule/{prefix}-*")),
            arn("sagemaker", "data-quality-job-definition/*"),
        ],
        // A scalable target's ARN carries a random id: the account's targets.
        "application-autoscaling" => vec![arn("application-autoscaling", "scalable-target/*")],
        // Target tracking names its alarms `TargetTracking-{resource id}-…`.
        "cloudwatch" => vec![
            arn("cloudwatch", &format!("alarm:{prefix}-*")),
            arn("cloudwatch", "alarm:TargetTracking-endpoint/*"),
            // Dashboards are global: their ARNs have no region.
            format!("arn:aws:cloudwatch::{account}:dashboard/{prefix}-*"),
        ],
        "lambda" => vec![arn("lambda", &format!("function:{prefix}-*"))],
        // The alarm topic and its subscriptions (`topic:subscription-id`).
        "sns" => vec![
            arn("sns", &format!("{prefix}-*")),
            arn("sns", &format!("{prefix}-*:*")),
        ],
        _ => return None,
    })
}

fn rendered_roles(env: &Env) -> Vec<String> {
    let names = env.names();
    env.iam_role_names()
        .into_iter()
        .map(|role| names.role_arn(&role))
        .collect()
}

/// Statements granting `actions` on this environment's resources, one per
/// service; actions without resource-level permissions in one `*` statement.
fn scoped(
    env: &Env,
    sid: &str,
    actions: &BTreeSet<String>,
    why: &str,
) -> Result<Vec<Statement>, PolicyError> {
    let mut by_service: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut anywhere = Vec::new();
    for action in actions {
        if UNSCOPED.contains(&action.as_str()) {
            anywhere.push(action.as_str());
            continue;
        }
        let service = action.split(':').next().unwrap_or_default();
        by_service.entry(service).or_default().push(action);
    }
    let mut statements = Vec::new();
    for (service, actions) in by_service {
        let resources = scope(env, service)
            .ok_or_else(|| PolicyError::UnscopedService(service.to_string(), why.to_string()))?;
        let name = crate::config::names::pascal_case(service);
        let mut s = statement(&format!("{sid}{name}"), &actions, resources);
        if service == "iam" {
            // Service-linked roles are AWS's, not this environment's.
            s.actions.retain(|a| a != "iam:CreateServiceLinkedRole");
        }
        if !s.actions.is_empty() {
            statements.push(s);
        }
        if service == "iam" && actions.contains(&"iam:CreateServiceLinkedRole") {
            let mut linked = statement(
                &format!("{sid}ServiceLinkedRoles"),
                &["iam:CreateServiceLinkedRole"],
                vec![format!(
                    "arn:aws:iam::{}:role/aws-service-role/*",
                    env.account_id
                )],
            );
            linked.condition = Some(Condition::one(
                "StringEquals",
                "iam:AWSServiceName",
                vec![json!("sagemaker.application-autoscaling.amazonaws.com")],
            ));
            statements.push(linked);
        }
    }
    if !anywhere.is_empty() {
        statements.push(statement(
            &format!("{sid}Unscoped"),
            &anywhere,
            vec!["*".into()],
        ));
    }
    Ok(statements)
}

fn handler_actions(
    rendered: &[RenderedStack],
    handlers: &[&str],
) -> Result<BTreeSet<String>, PolicyError> {
    let mut actions = BTreeSet::new();
    for resource_type in rendered_types(rendered) {
        let Some(table) = handler_permissions(&resource_type) else {
            return Err(PolicyError::UnknownType(resource_type));
        };
        for handler in handlers {
            actions.extend(table.get(*handler).into_iter().flatten().cloned());
        }
    }
    Ok(actions)
}

/// CloudFormation's execution role: what its handlers need to create,
/// update, read and delete every resource type the environment renders, on
/// the environment's own names.
pub fn execution_policy(env: &Env, rendered: &[RenderedStack]) -> Result<Policy, PolicyError> {
    let actions = handler_actions(rendered, &["create", "read", "update", "delete"])?;
    let statements = scoped(env, "Manage", &actions, "the rendered resource types")?;
    Ok(Policy::new("execution", statements))
}

/// What plan, apply, drift, train and status call, on this environment only.
pub fn deploy_policy(env: &Env, rendered: &[RenderedStack]) -> Result<Policy, PolicyError> {
    let (account, region, prefix) = (&env.account_id, &env.region, env.prefix());
    let stacks = format!("arn:aws:cloudformation:{region}:{account}:stack/{prefix}-*/*");
    let change_sets = format!("arn:aws:cloudformation:{region}:{account}:changeSet/mlinfra-*/*");
    let mut statements = vec![
        statement(
            "ConfirmAccount",
            &["sts:GetCallerIdentity"],
            vec!["*".into()],
        ),
        statement(
            "PlanAndApply",
            &[
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStacks",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:GetTemplate",
                "cloudformation:ListStackResources",
                "cloudformation:GetStackPolicy",
                "cloudformation:SetStackPolicy",
                "cloudformation:TagResource",
                "cloudformation:UpdateTerminationProtection",
            ],
            vec![stacks.clone(), change_sets],
        ),
        statement(
            "DetectDrift",
            &[
                "cloudformation:DetectStackDrift",
                "cloudformation:DescribeStackResourceDrifts",
            ],
            vec![stacks],
        ),
        statement(
            "DriftStatus",
            &["cloudformation:DescribeStackDriftDetectionStatus"],
            vec!["*".into()],
        ),
        statement(
            "DeepChecks",
            &[
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
            ],
            vec![format!("arn:aws:iam::{account}:role/{prefix}-*")],
        ),
        statement(
            "DeepChecksBuckets",
            &[
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketVersioning",
                "s3:GetEncryptionConfiguration",
                // HeadBucket: `import` finds which buckets exist.
                "s3:ListBucket",
            ],
            vec![format!("arn:aws:s3:::{prefix}-*")],
        ),
        statement(
            "DeepChecksSageMaker",
            &[
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
            ],
            vec![
                format!("arn:aws:sagemaker:{region}:{account}:endpoint/{prefix}-*"),
                format!("arn:aws:sagemaker:{region}:{account}:endpoint-config/*"),
            ],
        ),
        statement(
            "Traffic",
            &["sagemaker:UpdateEndpointWeightsAndCapacities"],
            vec![format!(
                "arn:aws:sagemaker:{region}:{account}:endpoint/{prefix}-*"
            )],
        ),
        // Alarm names start with the endpoint's name, `{project}-{env}-…`.
        statement(
            "AlarmStates",
            &["cloudwatch:DescribeAlarms"],
            vec![format!(
                "arn:aws:cloudwatch:{region}:{account}:alarm:{prefix}-*"
            )],
        ),
        statement(
            "DeepChecksScaling",
            &[
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
            ],
            vec!["*".into()],
        ),
        statement(
            "TrainAndStatus",
            &[
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:DescribePipelineExecution",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:ListPipelineExecutionSteps",
                "sagemaker:StartPipelineExecution",
            ],
            vec![
                format!("arn:aws:sagemaker:{region}:{account}:pipeline/{prefix}-*"),
                format!("arn:aws:sagemaker:{region}:{account}:pipeline/{prefix}-*/execution/*"),
                format!("arn:aws:sagemaker:{region}:{account}:training-job/*"),
                format!("arn:aws:sagemaker:{region}:{account}:hyper-parameter-tuning-job/*"),
            ],
        ),
    ];
    // `prices update` reads public list prices; the Price List API has no
    // resource-level permissions.
    statements.push(statement(
        "ReadPrices",
        &["pricing:GetProducts"],
        vec!["*".into()],
    ));
    // Training code packages: apply looks for the package (HeadObject needs
    // GetObject) and uploads it once, encrypted with the data lake's key.
    let code_buckets: BTreeSet<&str> = env
        .training
        .iter()
        .filter_map(|job| match job.code.as_ref().map(|c| &c.source) {
            Some(crate::config::training::CodeSource::Package { location, .. }) => {
                Some(location.bucket.as_str())
            }
            _ => None,
        })
        .collect();
    if !code_buckets.is_empty() {
        statements.push(statement(
            "TrainingCode",
            &["s3:GetObject", "s3:PutObject"],
            code_buckets
                .iter()
                .map(|bucket| format!("arn:aws:s3:::{bucket}/code/*"))
                .collect(),
        ));
        let mut encrypt = statement(
            "TrainingCodeKey",
            &["kms:GenerateDataKey"],
            vec![format!("arn:aws:kms:{region}:{account}:key/*")],
        );
        encrypt.condition = Some(Condition::one(
            "StringEquals",
            "kms:ViaService",
            vec![json!(format!("s3.{region}.amazonaws.com"))],
        ));
        statements.push(encrypt);
    }
    if let Some(bucket) = &env.artifacts_bucket {
        // Large templates: uploaded by plan, read by CloudFormation as the caller.
        statements.push(statement(
            "LargeTemplates",
            &["s3:GetObject", "s3:PutObject"],
            vec![format!("arn:aws:s3:::{bucket}/mlinfra/{}/*", env.name)],
        ));
    }
    if let Some(fleet) = &env.fleet {
        statements.extend(fleet_statements(env, fleet));
    }
    // Drift detection reads every resource with the caller's permissions.
    let reads = handler_actions(rendered, &["read"])?;
    statements.extend(scoped(env, "DriftRead", &reads, "drift detection")?);
    match &env.access.cloudformation_role_arn {
        Some(role) => {
            let mut pass = statement(
                "PassCloudFormationRole",
                &["iam:PassRole"],
                vec![role.clone()],
            );
            pass.condition = Some(passed_to_cloudformation());
            statements.push(pass);
        }
        // Without a service role CloudFormation acts with the caller's own
        // permissions: the caller needs the execution role's.
        None => statements.extend(execution_policy(env, rendered)?.statements),
    }
    Ok(Policy::new("deploy", statements))
}

/// A role passed only to CloudFormation.
fn passed_to_cloudformation() -> Condition {
    let service = json!("cloudformation.amazonaws.com");
    Condition::one("StringEquals", "iam:PassedToService", vec![service])
}

/// The environment's StackSets (bootstrap, and each of its stacks, which
/// plan reads to find one taken off `stacks`): created, updated, rolled out,
/// followed, checked for drift and deleted from the environment's account,
/// which administers them. Self-managed StackSets pass the administration role.
fn fleet_statements(env: &Env, fleet: &crate::config::fleet::Fleet) -> Vec<Statement> {
    let (account, region) = (&env.account_id, &env.region);
    let names = std::iter::once(None)
        .chain(crate::stacks::Layer::ALL.into_iter().map(Some))
        .map(|layer| crate::fleet::stack_set_name(env, layer));
    let mut resources: Vec<String> = names
        .flat_map(|name| {
            [
                format!("arn:aws:cloudformation:{region}:{account}:stackset/{name}:*"),
                format!("arn:aws:cloudformation:{region}:{account}:stackset-target/{name}:*"),
                format!("arn:aws:cloudformation:{region}:{account}:stackset-target/{name}:*/*"),
            ]
        })
        .collect();
    resources.push(format!("arn:aws:cloudformation:{region}::type/resource/*"));
    let mut statements = vec![statement(
        "Fleet",
        &[
            "cloudformation:CreateStackInstances",
            "cloudformation:CreateStackSet",
            "cloudformation:DeleteStackInstances",
            "cloudformation:DeleteStackSet",
            "cloudformation:DescribeStackSet",
            "cloudformation:DescribeStackSetOperation",
            "cloudformation:DetectStackSetDrift",
            "cloudformation:ListStackInstances",
            "cloudformation:ListStackSetOperationResults",
            "cloudformation:TagResource",
            "cloudformation:UpdateStackSet",
        ],
        resources,
    )];
    if let crate::config::fleet::Permissions::SelfManaged {
        administration_role_arn,
        ..
    } = &fleet.permissions
    {
        let mut pass = statement(
            "PassStackSetAdministrationRole",
            &["iam:PassRole"],
            vec![administration_role_arn.clone()],
        );
        pass.condition = Some(passed_to_cloudformation());
        statements.push(pass);
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::render::example;

    /// Every action of every handler of every rendered type is granted, on
    /// the environment's names, and nothing is granted on every resource but
    /// actions IAM cannot scope.
    #[test]
    fn the_execution_policy_covers_every_rendered_type_and_no_more() {
        for name in ["dev", "staging", "prod"] {
            let (env, rendered) = example(name);
            let policy = execution_policy(&env, &rendered).unwrap();
            let granted = policy.actions();
            let types = rendered_types(&rendered);
            assert!(
                types.contains("AWS::SageMaker::Endpoint") && types.contains("AWS::S3::Bucket")
            );
            let mut expected = BTreeSet::new();
            for t in &types {
                let table = handler_permissions(t).unwrap_or_else(|| panic!("{t} is in the table"));
                for handler in ["create", "read", "update", "delete"] {
                    for action in &table[handler] {
                        assert!(granted.contains(action.as_str()), "{t}: {action}");
                        expected.insert(action.clone());
                    }
                }
            }
            let granted_owned: BTreeSet<String> = granted.iter().map(|a| a.to_string()).collect();
            assert_eq!(
                granted_owned, expected,
                "exactly the rendered types' actions"
            );
            for s in &policy.statements {
                assert!(
                    !s.actions.iter().any(|a| a == "*" || a.ends_with(":*")),
                    "{s:?}"
                );
                if s.resources.contains(&json!("*")) {
                    assert!(
                        s.actions.iter().all(|a| UNSCOPED.contains(&a.as_str())),
                        "{s:?}"
                    );
                }
            }
            assert!(
                policy.size() <= ROLE_INLINE_POLICY_LIMIT,
                "{}",
                policy.size()
            );
            let text = serde_json::to_string(&policy).unwrap();
            assert!(!text.contains("AdministratorAccess"));
            assert!(text.contains(&format!(
                "arn:aws:iam::{}:role/dogbreed-{name}-sagemaker-execution\"",
                env.account_id
            )));
            assert!(!text.contains("-deploy") && !text.contains("role/dogbreed-{name}-*"));
        }
    }

    #[test]
    fn a_type_without_known_handler_permissions_is_an_error() {
        let (env, mut rendered) = example("dev");
        rendered[0].template.value["Resources"]["Extra"] =
            json!({"Type": "AWS::EC2::Instance", "Properties": {}});
        let error = execution_policy(&env, &rendered).unwrap_err();
        assert!(error.to_string().contains("AWS::EC2::Instance"), "{error}");
    }

    /// Every AWS operation the code calls (each call names its operation in
    /// `AwsError::from_sdk`) is granted to the deploy role.
    #[test]
    fn the_deploy_policy_grants_every_operation_mlinfra_calls() {
        let (mut env, rendered) = example("prod");
        // Large templates go through S3 only where a bucket is configured.
        env.artifacts_bucket = Some("dogbreed-artifacts".into());
        // StackSet calls are granted where the environment has a fleet.
        env.fleet = Some(crate::fleet::example_fleet());
        let policy = deploy_policy(&env, &rendered).unwrap();
        let granted = policy.actions();
        let mut operations = BTreeSet::new();
        let mut files = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for part in text.split("from_sdk(\"").skip(1) {
                    let op = part.split('"').next().unwrap();
                    if !op.is_empty() && op.chars().all(|c| c.is_ascii_alphabetic()) {
                        operations.insert(op.to_string());
                    }
                }
            }
        }
        assert!(operations.len() > 20, "{operations:?}");
        let service = |op: &str| -> String {
            match op {
                "GetCallerIdentity" => "sts:GetCallerIdentity".into(),
                "GetPublicAccessBlock" => "s3:GetBucketPublicAccessBlock".into(),
                "GetBucketEncryption" => "s3:GetEncryptionConfiguration".into(),
                "GetBucketVersioning" | "PutObject" => format!("s3:{op}"),
                "HeadObject" => "s3:GetObject".into(),
                "HeadBucket" => "s3:ListBucket".into(),
                "GetProducts" => "pricing:GetProducts".into(),
                "GetRole" | "GetRolePolicy" | "ListRolePolicies" | "ListAttachedRolePolicies" => {
                    format!("iam:{op}")
                }
                "DescribeScalableTargets" | "DescribeScalingPolicies" => {
                    format!("application-autoscaling:{op}")
                }
                "DescribeAlarms" => format!("cloudwatch:{op}"),
                op if op.contains("Endpoint")
                    || op.contains("Pipeline")
                    || op.contains("TrainingJob")
                    || op.contains("TuningJob") =>
                {
                    format!("sagemaker:{op}")
                }
                op => format!("cloudformation:{op}"),
            }
        };
        for op in &operations {
            let action = service(op);
            assert!(granted.contains(action.as_str()), "{op} needs {action}");
        }
    }

    #[test]
    fn with_a_service_role_the_deploy_role_passes_it_instead_of_managing_resources() {
        let (mut env, rendered) = example("prod");
        let alone = deploy_policy(&env, &rendered).unwrap();
        assert!(alone.actions().contains("s3:CreateBucket"));
        env.access.cloudformation_role_arn =
            Some("arn:aws:iam::345678901234:role/dogbreed-prod-cloudformation".into());
        let with_role = deploy_policy(&env, &rendered).unwrap();
        assert!(!with_role.actions().contains("s3:CreateBucket"));
        let pass = with_role
            .statements
            .iter()
            .find(|s| s.sid.as_deref() == Some("PassCloudFormationRole"))
            .unwrap();
        assert_eq!(
            pass.resources,
            vec![json!(
                "arn:aws:iam::345678901234:role/dogbreed-prod-cloudformation"
            )]
        );
    }
}
