//! The IAM stack: least-privilege roles, as `templates/iam.json.tera`
//! arranges them. The inline policies come whole from the model (validation
//! has sized them against IAM's limit).

use super::{Arr, Obj, Stack, StackParts, header, inline_policies};

const SERVING_ROLE: &str = "Assumed by this environment's SageMaker models: reads the models it serves, writes only its endpoints' logs and captured data";
const MONITOR_ROLE: &str = "Assumed by this environment's data-quality monitoring jobs: reads captured data and baselines, writes its reports";

pub(super) fn write(stack: &Stack<'_>, o: &mut Obj<'_>) {
    let model = stack.model;
    let fixed = &model.fixed;
    header(stack, o);
    o.obj("Outputs", |o| {
        o.obj("ExecutionRoleArn", |o| {
            o.str(
                "Description",
                "Role passed to SageMaker training jobs and models",
            )
            .obj("Export", |o| {
                o.str("Name", &model.exports.execution_role_arn);
            })
            .get_att("Value", "ExecutionRole", "Arn");
        })
        .obj("PipelineRoleArn", |o| {
            o.str("Description", "Role of the training pipelines")
                .get_att("Value", "PipelineRole", "Arn");
        });
        let role_outputs = [
            (
                model.serving_role.is_some(),
                fixed.serving_role_arn_output,
                "Role of the SageMaker models",
                &model.exports.serving_role_arn,
                fixed.serving_role,
            ),
            (
                model.monitor_role.is_some(),
                fixed.monitor_role_arn_output,
                "Role of the data-quality monitoring jobs",
                &model.exports.monitor_role_arn,
                fixed.monitor_role,
            ),
        ];
        for (present, output, description, export, role) in role_outputs {
            if present {
                o.obj(output, |o| {
                    o.str("Description", description)
                        .obj("Export", |o| {
                            o.str("Name", export);
                        })
                        .get_att("Value", role, "Arn");
                });
            }
        }
        for item in &model.invokers {
            let invoker = item.invoker;
            o.obj(&invoker.arn_output, |o| {
                o.str("Description", &format!("Role for {}", invoker.name))
                    .get_att("Value", &invoker.logical_id, "Arn");
            });
        }
    });
    o.obj("Resources", |o| {
        let sagemaker = "sagemaker.amazonaws.com";
        role(
            stack,
            o,
            Role {
                id: "ExecutionRole",
                name: &model.execution_role_name,
                service: sagemaker,
                description: "Assumed by SageMaker training jobs and models of this environment",
            },
            |a| inline_policies(a, model.execution_policies),
        );
        role(
            stack,
            o,
            Role {
                id: "PipelineRole",
                name: &model.pipeline_role_name,
                service: sagemaker,
                description: "Assumed by this environment's SageMaker training pipelines",
            },
            |a| {
                a.obj(|o| {
                    o.policy_document("PolicyDocument", |a| pipeline_statements(stack, a))
                        .str("PolicyName", "run-training-jobs");
                });
            },
        );
        let roles = [
            (&model.serving_role, fixed.serving_role, SERVING_ROLE),
            (&model.monitor_role, fixed.monitor_role, MONITOR_ROLE),
        ];
        for (model_role, id, description) in roles {
            if let Some(model_role) = model_role {
                let about = Role {
                    id,
                    name: &model_role.role_name,
                    service: sagemaker,
                    description,
                };
                role(stack, o, about, |a| {
                    inline_policies(a, &model_role.policies)
                });
            }
        }
        for item in &model.invokers {
            let invoker = item.invoker;
            let description = format!(
                "Lets {} invoke: {}",
                invoker.service,
                invoker.endpoints.join(", ")
            );
            let about = Role {
                id: &invoker.logical_id,
                name: &invoker.role_name,
                service: &invoker.service,
                description: &description,
            };
            role(stack, o, about, |a| {
                a.obj(|o| {
                    o.policy_document("PolicyDocument", |a| {
                        a.obj(|o| {
                            o.strs("Action", &["sagemaker:InvokeEndpoint"])
                                .str("Effect", "Allow")
                                .strs("Resource", &item.endpoint_arns)
                                .str("Sid", "InvokeNamedEndpoints");
                        });
                    })
                    .str("PolicyName", "invoke-endpoints");
                });
            });
        }
    });
}

/// What sets one role apart from the others.
struct Role<'a> {
    id: &'a str,
    name: &'a str,
    /// The service principal that may assume it.
    service: &'a str,
    description: &'a str,
}

/// A role of the stack; `policies` writes its inline policies.
fn role(stack: &Stack<'_>, o: &mut Obj<'_>, role: Role<'_>, policies: impl FnOnce(&mut Arr<'_>)) {
    o.obj(role.id, |o| {
        o.obj("Properties", |o| {
            assumed_by(stack, o, role.service);
            o.str("Description", role.description)
                .arr("Policies", policies)
                .str("RoleName", role.name)
                .tags(&stack.fields.tags);
        })
        .str("Type", "AWS::IAM::Role");
    });
}

/// The trust policy: the service may assume the role for this account only.
fn assumed_by(stack: &Stack<'_>, o: &mut Obj<'_>, service: &str) {
    o.policy_document("AssumeRolePolicyDocument", |a| {
        a.obj(|o| {
            o.str("Action", "sts:AssumeRole")
                .source_account(&stack.model.env.account_id, |_| {})
                .str("Effect", "Allow")
                .obj("Principal", |o| {
                    o.str("Service", service);
                });
        });
    });
}

/// The pipeline role's statements: its jobs, told apart by their tags.
fn pipeline_statements(stack: &Stack<'_>, a: &mut Arr<'_>) {
    let model = stack.model;
    let scope = &model.job_scope;
    let grant = |a: &mut Arr<'_>, sid: &str, actions: &[&str], resource: &str, started: bool| {
        a.obj(|o| {
            o.strs("Action", actions)
                .obj("Condition", |o| {
                    // Jobs are started with the tags and followed by them.
                    if started {
                        o.value("StringEquals", &scope.request_tags)
                            .value("StringEqualsIfExists", &scope.resource_tags);
                    } else {
                        o.value("StringEquals", &scope.resource_tags);
                    }
                })
                .str("Effect", "Allow")
                .str("Resource", resource)
                .str("Sid", sid);
        });
    };
    grant(
        a,
        "StartTrainingJobsTaggedForThisEnvironment",
        &["sagemaker:AddTags", "sagemaker:CreateTrainingJob"],
        &model.training_job_arn_pattern,
        true,
    );
    grant(
        a,
        "FollowThisEnvironmentsTrainingJobs",
        &["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
        &scope.training_jobs,
        false,
    );
    if let Some(tuning_jobs) = &scope.tuning_jobs {
        grant(
            a,
            "StartTuningJobsTaggedForThisEnvironment",
            &[
                "sagemaker:AddTags",
                "sagemaker:CreateHyperParameterTuningJob",
            ],
            tuning_jobs,
            true,
        );
        grant(
            a,
            "FollowThisEnvironmentsTuningJobs",
            &[
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
            ],
            tuning_jobs,
            false,
        );
    }
    a.obj(|o| {
        o.strs("Action", &["iam:PassRole"])
            .obj("Condition", |o| {
                o.obj("StringEquals", |o| {
                    o.str("iam:PassedToService", "sagemaker.amazonaws.com");
                });
            })
            .str("Effect", "Allow")
            .str("Resource", &model.execution_role_arn)
            .str("Sid", "PassOnlyTheExecutionRoleToSageMaker");
    });
}
