//! The serving stack, as `templates/serving.json.tera` arranges it: per
//! endpoint a Model per variant and an EndpointConfig (both immutable, so
//! never given fixed names), the Endpoint, per variant an Application Auto
//! Scaling target with a target-tracking policy and CloudWatch alarms, an
//! optional data-quality monitoring schedule, the environment's dashboard
//! and its alarm topic.

use serde_json::Value;

use super::{
    Obj, Stack, StackParts, checkov_skip, deny_insecure_transport, header, reference_item,
};
use crate::config::env::ScalingMetric;
use crate::render::model::{AlarmModel, EndpointModel, VariantModel};

pub(super) fn write(stack: &Stack<'_>, o: &mut Obj<'_>) {
    let model = stack.model;
    header(stack, o);
    if !model.endpoints.is_empty() || model.alarm_topic.is_some() {
        o.obj("Outputs", |o| outputs(stack, o));
    }
    o.obj("Resources", |o| {
        for item in &model.endpoints {
            for v in &item.all_variants {
                variant(stack, item, v, o);
            }
            for a in &item.alarms {
                alarm(stack, item, a, o);
            }
            endpoint_config(stack, item, o);
            endpoint(stack, item, o);
            monitoring(stack, item, o);
        }
        if let Some(dashboard) = &model.dashboard {
            o.obj(model.fixed.dashboard, |o| {
                o.obj("Properties", |o| {
                    o.str("DashboardBody", &dashboard.body)
                        .str("DashboardName", &dashboard.name);
                })
                .str("Type", "AWS::CloudWatch::Dashboard");
            });
        }
        alarm_topic(stack, o);
        if model.endpoints.is_empty() && model.alarm_topic.is_none() {
            o.obj("NoEndpoints", |o| {
                o.obj("Properties", |_| {})
                    .str("Type", "AWS::CloudFormation::WaitConditionHandle");
            });
        }
    });
}

fn outputs(stack: &Stack<'_>, o: &mut Obj<'_>) {
    let model = stack.model;
    for item in &model.endpoints {
        let ep = item.endpoint;
        o.obj(&ep.ids.arn_output, |o| {
            o.str("Description", &format!("ARN of endpoint {}", ep.name))
                .reference("Value", &ep.ids.endpoint);
        })
        .obj(&ep.ids.config_name_output, |o| {
            o.str(
                "Description",
                &format!("Endpoint config currently served by {}", ep.name),
            )
            .get_att("Value", &ep.ids.config, "EndpointConfigName");
        })
        .obj(&ep.ids.name_output, |o| {
            o.str("Description", &format!("Name of endpoint {}", ep.name))
                .get_att("Value", &ep.ids.endpoint, "EndpointName");
        });
    }
    if model.alarm_topic.is_some() {
        o.obj(model.fixed.alarm_topic_arn_output, |o| {
            o.str("Description", "SNS topic the serving alarms notify")
                .reference("Value", model.fixed.alarm_topic);
        });
    }
}

fn variant(stack: &Stack<'_>, item: &EndpointModel<'_>, v: &VariantModel<'_>, o: &mut Obj<'_>) {
    let env = stack.model.env;
    let var = v.variant;
    let ep = item.endpoint;
    o.obj(&var.ids.model, |o| {
        if !var.network_isolation {
            o.obj("Metadata", |o| {
                let reason = var.network_isolation_reason.as_deref().unwrap_or_default();
                checkov_skip(
                    o,
                    "CKV_AWS_370",
                    &format!("Network isolation off: {reason}"),
                );
            });
        }
        o.obj("Properties", |o| {
            o.bool("EnableNetworkIsolation", var.network_isolation)
                .value("ExecutionRoleArn", &v.role_arn)
                .obj("PrimaryContainer", |o| {
                    o.str("Image", &var.image.uri)
                        .str("ModelDataUrl", &v.model_data_url);
                })
                .tags(&stack.fields.tags);
            if let Some(network) = &env.network {
                o.value("VpcConfig", &network.vpc_config());
            }
        })
        .str("Type", "AWS::SageMaker::Model");
    });
    let Some(scaling) = &var.autoscaling else {
        return;
    };
    o.obj(&var.ids.scalable_target, |o| {
        o.str("DependsOn", &ep.ids.endpoint)
            .obj("Properties", |o| {
                o.int("MaxCapacity", scaling.max)
                    .int("MinCapacity", scaling.min)
                    .str("ResourceId", &v.scaling_resource_id)
                    .str(
                        "ScalableDimension",
                        "sagemaker:variant:DesiredInstanceCount",
                    );
                if let Some(actions) = &v.scheduled_actions {
                    o.value("ScheduledActions", actions);
                }
                o.str("ServiceNamespace", "sagemaker");
            })
            .str("Type", "AWS::ApplicationAutoScaling::ScalableTarget");
    });
    o.obj(&var.ids.scaling_policy, |o| {
        o.obj("Properties", |o| {
            o.str("PolicyName", &var.scaling_policy_name)
                .str("PolicyType", "TargetTrackingScaling")
                .reference("ScalingTargetId", &var.ids.scalable_target)
                .obj("TargetTrackingScalingPolicyConfiguration", |o| {
                    match scaling.metric {
                        ScalingMetric::InvocationsPerInstance => {
                            o.obj("PredefinedMetricSpecification", |o| {
                                o.str(
                                    "PredefinedMetricType",
                                    "SageMakerVariantInvocationsPerInstance",
                                );
                            });
                        }
                        ScalingMetric::CpuUtilization => {
                            o.obj("CustomizedMetricSpecification", |o| {
                                o.arr("Dimensions", |a| {
                                    dimensions(a, &ep.endpoint_name, &var.name)
                                })
                                .str("MetricName", "CPUUtilization")
                                .str("Namespace", "/aws/sagemaker/Endpoints")
                                .str("Statistic", "Average")
                                .str("Unit", "Percent");
                            });
                        }
                    }
                    o.bool("DisableScaleIn", false)
                        .int("ScaleInCooldown", scaling.scale_in_cooldown_seconds)
                        .int("ScaleOutCooldown", scaling.scale_out_cooldown_seconds)
                        .float("TargetValue", scaling.target_value);
                });
        })
        .str("Type", "AWS::ApplicationAutoScaling::ScalingPolicy");
    });
}

fn dimensions(a: &mut super::Arr<'_>, endpoint_name: &str, variant_name: &str) {
    a.obj(|o| {
        o.str("Name", "EndpointName").str("Value", endpoint_name);
    })
    .obj(|o| {
        o.str("Name", "VariantName").str("Value", variant_name);
    });
}

fn alarm(stack: &Stack<'_>, item: &EndpointModel<'_>, a: &AlarmModel<'_>, o: &mut Obj<'_>) {
    let fixed = &stack.model.fixed;
    let alarm = a.alarm;
    o.obj(&alarm.logical_id, |o| {
        o.obj("Properties", |o| {
            o.arr("AlarmActions", |a| {
                reference_item(a, fixed.alarm_topic);
            })
            .str("AlarmDescription", &alarm.description)
            .str("AlarmName", &alarm.alarm_name)
            .str("ComparisonOperator", "GreaterThanOrEqualToThreshold")
            .arr("Dimensions", |d| {
                dimensions(d, &item.endpoint.endpoint_name, a.variant_name);
            })
            .int("EvaluationPeriods", alarm.evaluation_periods)
            .str("MetricName", alarm.metric)
            .str("Namespace", alarm.namespace)
            .arr("OKActions", |a| {
                reference_item(a, fixed.alarm_topic);
            })
            .int("Period", alarm.period_seconds);
            let statistic = if alarm.extended {
                "ExtendedStatistic"
            } else {
                "Statistic"
            };
            o.str(statistic, alarm.statistic)
                .float("Threshold", alarm.metric_threshold)
                .str("TreatMissingData", "notBreaching");
        })
        .str("Type", "AWS::CloudWatch::Alarm");
    });
}

fn endpoint_config(stack: &Stack<'_>, item: &EndpointModel<'_>, o: &mut Obj<'_>) {
    o.obj(&item.endpoint.ids.config, |o| {
        if item.serverless {
            o.obj("Metadata", |o| {
                checkov_skip(
                    o,
                    "CKV_AWS_98",
                    "Serverless Inference has no instance volumes for a KmsKeyId to encrypt",
                );
            });
        }
        o.obj("Properties", |o| {
            if let Some(capture) = &item.data_capture_config {
                o.value("DataCaptureConfig", capture);
            }
            if item.volume_kms {
                o.import("KmsKeyId", &stack.model.exports.key_arn);
            }
            o.value("ProductionVariants", &item.production_variants);
            if let Some(shadows) = &item.shadow_production_variants {
                o.value("ShadowProductionVariants", shadows);
            }
            o.tags(&stack.fields.tags);
        })
        .str("Type", "AWS::SageMaker::EndpointConfig");
    });
}

fn endpoint(stack: &Stack<'_>, item: &EndpointModel<'_>, o: &mut Obj<'_>) {
    let ep = item.endpoint;
    o.obj(&ep.ids.endpoint, |o| {
        o.obj("Properties", |o| {
            if let Some(deployment) = &item.deployment_config {
                o.value("DeploymentConfig", deployment);
            }
            o.get_att("EndpointConfigName", &ep.ids.config, "EndpointConfigName")
                .str("EndpointName", &ep.endpoint_name);
            if !item.excluded_retained.is_empty() {
                o.arr("ExcludeRetainedVariantProperties", |a| {
                    for property in &item.excluded_retained {
                        a.obj(|o| {
                            o.str("VariantPropertyType", property);
                        });
                    }
                });
            }
            o.bool("RetainAllVariantProperties", true)
                .tags(&stack.fields.tags);
        })
        .str("Type", "AWS::SageMaker::Endpoint");
    });
}

fn monitoring(stack: &Stack<'_>, item: &EndpointModel<'_>, o: &mut Obj<'_>) {
    let ep = item.endpoint;
    let (Some(job), Some(monitor)) = (&item.data_quality_job, &ep.monitor) else {
        return;
    };
    o.obj(&monitor.job_definition_id, |o| {
        o.str("DependsOn", &ep.ids.endpoint)
            .obj("Properties", |o| {
                // The job definition's properties, as the model built them.
                if let Value::Object(properties) = job {
                    for (key, value) in properties {
                        o.value(key, value);
                    }
                }
                o.tags(&stack.fields.tags);
            })
            .str("Type", "AWS::SageMaker::DataQualityJobDefinition");
    });
    o.obj(&monitor.schedule_id, |o| {
        o.str("DependsOn", &ep.ids.endpoint)
            .obj("Properties", |o| {
                o.obj("MonitoringScheduleConfig", |o| {
                    o.get_att(
                        "MonitoringJobDefinitionName",
                        &monitor.job_definition_id,
                        "JobDefinitionName",
                    )
                    .str("MonitoringType", "DataQuality")
                    .obj("ScheduleConfig", |o| {
                        o.str("ScheduleExpression", &monitor.schedule_expression);
                    });
                })
                .str("MonitoringScheduleName", &monitor.schedule_name)
                .tags(&stack.fields.tags);
            })
            .str("Type", "AWS::SageMaker::MonitoringSchedule");
    });
}

fn alarm_topic(stack: &Stack<'_>, o: &mut Obj<'_>) {
    let model = stack.model;
    let fixed = &model.fixed;
    let Some(topic) = &model.alarm_topic else {
        return;
    };
    o.obj(fixed.alarm_topic, |o| {
        o.obj("Properties", |o| {
            o.import("KmsMasterKeyId", &model.exports.key_arn)
                .tags(&stack.fields.tags)
                .str("TopicName", &topic.topic_name);
        })
        .str("Type", "AWS::SNS::Topic");
    });
    o.obj(fixed.alarm_topic_policy, |o| {
        o.obj("Properties", |o| {
            o.policy_document("PolicyDocument", |a| {
                a.obj(|o| {
                    o.str("Action", "sns:Publish")
                        .source_account(&model.env.account_id, |o| {
                            o.obj("ArnLike", |o| {
                                o.str("aws:SourceArn", &topic.alarm_source_arn);
                            });
                        })
                        .str("Effect", "Allow")
                        .obj("Principal", |o| {
                            o.str("Service", "cloudwatch.amazonaws.com");
                        })
                        .reference("Resource", fixed.alarm_topic)
                        .str("Sid", "CloudWatchAlarmsOfThisAccount");
                });
                deny_insecure_transport(a, "sns:*", |o| {
                    o.reference("Resource", fixed.alarm_topic);
                });
            })
            .arr("Topics", |a| {
                reference_item(a, fixed.alarm_topic);
            });
        })
        .str("Type", "AWS::SNS::TopicPolicy");
    });
    for s in &topic.subscriptions {
        o.obj(&s.logical_id, |o| {
            o.obj("Properties", |o| {
                o.str("Endpoint", &s.endpoint)
                    .str("Protocol", s.protocol)
                    .reference("TopicArn", fixed.alarm_topic);
            })
            .str("Type", "AWS::SNS::Subscription");
        });
    }
}
