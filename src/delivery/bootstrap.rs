//! The bootstrap stack of an environment's account, `{project}-{env}-bootstrap`:
//! the deploy role that the delivery account's builds assume, limited to
//! [`deploy_policy`], and the CloudFormation execution role that the
//! environment's change sets pass, limited to [`execution_policy`]: what
//! CloudFormation needs for the resource types and names mlinfra renders,
//! never AdministratorAccess.

use serde_json::{Value, json};

use super::policy::{PolicyError, deploy_policy, execution_policy};
use crate::config::Env;
use crate::render::RenderedStack;
use crate::template::Canonical;

/// A role of the bootstrap stack: the name and path it is created with.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleName {
    pub path: String,
    pub name: String,
}

impl RoleName {
    /// From a configured role ARN (`…:role/path/name`), else the derived name.
    fn of(configured: Option<&str>, derived: String) -> Self {
        let resource = configured.and_then(|arn| arn.split_once(":role/").map(|(_, r)| r));
        match resource.and_then(|r| r.rsplit_once('/')) {
            Some((path, name)) => Self {
                path: format!("/{path}/"),
                name: name.to_string(),
            },
            None => Self {
                path: "/".into(),
                name: resource.map_or(derived, str::to_string),
            },
        }
    }

    pub fn arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:role{}{}", self.path, self.name)
    }
}

/// The deploy role and the CloudFormation role of `env`.
pub fn roles(env: &Env) -> (RoleName, RoleName) {
    let names = env.names();
    (
        RoleName::of(env.access.deploy_role_arn.as_deref(), names.deploy_role()),
        RoleName::of(
            env.access.cloudformation_role_arn.as_deref(),
            names.cloudformation_role(),
        ),
    )
}

pub fn stack_name(env: &Env) -> String {
    env.names().bootstrap_stack()
}

/// The bootstrap template of `env`, from the environment's rendered stacks.
pub fn template(env: &Env, rendered: &[RenderedStack]) -> Result<Canonical, PolicyError> {
    let (deploy, cloudformation) = roles(env);
    // The deploy role passes the role created here.
    let mut through_role = env.clone();
    through_role.access.cloudformation_role_arn = Some(cloudformation.arn(&env.account_id));
    let deploy_policy = deploy_policy(&through_role, rendered)?;
    let execution_policy = execution_policy(env, rendered)?;
    let mut trust = json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", env.access.delivery_account_id)},
        "Action": "sts:AssumeRole",
    });
    if let Some(id) = &env.access.external_id {
        trust["Condition"] = json!({"StringEquals": {"sts:ExternalId": id}});
    }
    let tags: Vec<Value> = env
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([
            ("mlinfra:env", env.name.as_str()),
            ("mlinfra:project", env.project.as_str()),
            ("mlinfra:stack", "bootstrap"),
        ])
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    let role = |name: &RoleName, description: String, trust: Value, policy: Value| {
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": name.name,
                "Path": name.path,
                "Description": description,
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
                "Policies": [{"PolicyName": "mlinfra", "PolicyDocument": policy}],
                "Tags": tags,
            }
        })
    };
    let value = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "mlinfra bootstrap of {}: the deploy role for builds of account {} and CloudFormation's execution role",
            env.prefix(),
            env.access.delivery_account_id
        ),
        "Resources": {
            "DeployRole": role(
                &deploy,
                format!("mlinfra plan, apply and drift of {}", env.prefix()),
                trust,
                deploy_policy.to_value(),
            ),
            "CloudFormationRole": role(
                &cloudformation,
                format!("CloudFormation's execution role for the stacks of {}", env.prefix()),
                json!({
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudformation.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": env.account_id}},
                }),
                execution_policy.to_value(),
            ),
        },
        "Outputs": {
            "DeployRoleArn": {"Value": {"Fn::GetAtt": ["DeployRole", "Arn"]}},
            "CloudFormationRoleArn": {"Value": {"Fn::GetAtt": ["CloudFormationRole", "Arn"]}},
        },
    });
    Ok(Canonical::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;

    #[test]
    fn configured_role_arns_name_the_roles_with_their_path() {
        let role = RoleName::of(
            Some("arn:aws:iam::123456789012:role/ci/deployer"),
            "x".into(),
        );
        assert_eq!(
            (role.path.as_str(), role.name.as_str()),
            ("/ci/", "deployer")
        );
        assert_eq!(
            role.arn("123456789012"),
            "arn:aws:iam::123456789012:role/ci/deployer"
        );
        let derived = RoleName::of(None, "p-e-deploy".into());
        assert_eq!(derived.arn("1"), "arn:aws:iam::1:role/p-e-deploy");
    }

    #[test]
    fn the_deploy_role_trusts_the_delivery_account_and_passes_only_the_execution_role() {
        let mut env = crate::config::load_env(&Project::Example, "prod").unwrap();
        env.access.delivery_account_id = "111111111111".into();
        env.access.external_id = Some("pipeline-7f3a".into());
        let engine = crate::render::Engine::new(&Project::Example).unwrap();
        let rendered = crate::render::render_env(&engine, &env).unwrap();
        let t = template(&env, &rendered).unwrap().value;
        let deploy = &t["Resources"]["DeployRole"]["Properties"];
        let trust = &deploy["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(trust["Principal"]["AWS"], "arn:aws:iam::111111111111:root");
        assert_eq!(
            trust["Condition"]["StringEquals"]["sts:ExternalId"],
            "pipeline-7f3a"
        );
        let statements = deploy["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
        let pass: Vec<&Value> = statements
            .iter()
            .filter(|s| match &s["Action"] {
                Value::Array(actions) => actions.iter().any(|a| a == "iam:PassRole"),
                action => action == "iam:PassRole",
            })
            .collect();
        assert_eq!(pass.len(), 1);
        assert_eq!(
            pass[0]["Resource"],
            "arn:aws:iam::345678901234:role/dogbreed-prod-cloudformation"
        );
        let text = t.to_string();
        assert!(!text.contains("AdministratorAccess") && !text.contains("\"Action\":\"*\""));
    }
}
