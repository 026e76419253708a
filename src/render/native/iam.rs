//! The IAM stack: least-privilege roles, as `templates/iam.json.tera`
//! arranges them. The inline policies come whole from the model (validation
//! has sized them against IAM's limit).

use super::{Arr, Obj, Stack, StackParts, header};
use crate::render::model::RoleModel;

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
        o.obj("ExecutionRole", |o| {
            o.obj("Properties", |o| {
                assumed_by(stack, o, "sagemaker.amazonaws.com");
                o.str(
                    "Description",
                    "Assumed by SageMaker training jobs and models of this environment",
                )
                .policies("Policies", model.execution_policies)
                .str("RoleName", &model.execution_role_name)
                .tags(&stack.fields.tags);
            })
            .str("Type", "AWS::IAM::Role");
        });
        o.obj("PipelineRole", |o| {
            o.obj("Properties", |o| {
                assumed_by(stack, o, "sagemaker.amazonaws.com");
                o.str(
                    "Description",
                    "Assumed by this environment's SageMaker training pipelines",
                )
                .arr("Policies", |a| {
                    a.obj(|o| {
                        o.policy_document("PolicyDocument", |a| pipeline_statements(stack, a))
                            .str("PolicyName", "run-training-jobs");
                    });
                })
                .str("RoleName", &model.pipeline_role_name)
                .tags(&stack.fields.tags);
            })
            .str("Type", "AWS::IAM::Role");
        });
        let roles = [
            (&model.serving_role, fixed.serving_role, SERVING_ROLE),
            (&model.monitor_role, fixed.monitor_role, MONITOR_ROLE),
        ];
        for (role, id, what) in roles {
            if let Some(role) = role {
                service_role(stack, o, id, what, role);
            }
        }
        for item in &model.invokers {
            let invoker = item.invoker;
            o.obj(&invoker.logical_id, |o| {
                o.obj("Properties", |o| {
                    assumed_by(stack, o, &invoker.service);
                    o.str(
                        "Description",
                        &format!(
                            "Lets {} invoke: {}",
                            invoker.service,
                            invoker.endpoints.join(", ")
                        ),
                    )
                    .arr("Policies", |a| {
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
                    })
                    .str("RoleName", &invoker.role_name)
                    .tags(&stack.fields.tags);
                })
                .str("Type", "AWS::IAM::Role");
            });
        }
    });
}

fn service_role(stack: &Stack<'_>, o: &mut Obj<'_>, id: &str, what: &str, role: &RoleModel) {
    o.obj(id, |o| {
        o.obj("Properties", |o| {
            assumed_by(stack, o, "sagemaker.amazonaws.com");
            o.str("Description", what)
                .policies("Policies", &role.policies)
                .str("RoleName", &role.role_name)
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
