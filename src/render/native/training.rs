//! The training stack: one SageMaker pipeline per training job, as
//! `templates/training.json.tera` arranges them. The definition is built by
//! `render::pipeline`; `${KeyArn}` in it is the data key, filled by `Fn::Sub`.

use super::{Obj, Stack, StackParts, header};

pub(super) fn write(stack: &Stack<'_>, o: &mut Obj<'_>) {
    let model = stack.model;
    header(stack, o);
    if !model.pipelines.is_empty() {
        o.obj("Outputs", |o| {
            for item in &model.pipelines {
                let job = item.job;
                o.obj(&job.name_output, |o| {
                    o.str(
                        "Description",
                        &format!("Pipeline of training job {}", job.name),
                    )
                    .reference("Value", &job.logical_id);
                });
            }
        });
    }
    o.obj("Resources", |o| {
        for item in &model.pipelines {
            let job = item.job;
            o.obj(&job.logical_id, |o| {
                o.obj("Properties", |o| {
                    o.obj("PipelineDefinition", |o| {
                        o.obj("PipelineDefinitionBody", |o| {
                            o.arr("Fn::Sub", |a| {
                                a.str(&item.definition).obj(|o| {
                                    o.import("KeyArn", &model.exports.key_arn);
                                });
                            });
                        });
                    })
                    .str(
                        "PipelineDescription",
                        &format!("Trains {} on {}", job.name, job.instance_type),
                    )
                    .str("PipelineDisplayName", &job.pipeline_name)
                    .str("PipelineName", &job.pipeline_name)
                    .str("RoleArn", &model.pipeline_role_arn)
                    .tags(&stack.fields.tags);
                })
                .str("Type", "AWS::SageMaker::Pipeline");
            });
        }
        if model.pipelines.is_empty() {
            o.obj("NoTrainingJobs", |o| {
                o.obj("Properties", |_| {})
                    .str("Type", "AWS::CloudFormation::WaitConditionHandle");
            });
        }
    });
}
