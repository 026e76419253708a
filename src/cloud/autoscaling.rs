//! Application Auto Scaling reads: the scalable targets and scaling policies
//! of one resource, every page, for drift and status.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ScalableTarget, ScalingPolicy, ServiceNamespace,
};

use super::AwsError;

/// What is scaled: a namespace, a resource and one of its dimensions.
#[derive(Debug, Clone)]
pub struct Scaled<'a> {
    pub namespace: ServiceNamespace,
    pub dimension: ScalableDimension,
    pub resource_id: &'a str,
}

impl<'a> Scaled<'a> {
    /// An endpoint variant's instance count, as mlinfra's templates register it.
    pub fn variant_instances(resource_id: &'a str) -> Self {
        Self {
            namespace: ServiceNamespace::Sagemaker,
            dimension: ScalableDimension::SageMakerVariantDesiredInstanceCount,
            resource_id,
        }
    }
}

pub async fn scalable_targets(
    client: &Client,
    scaled: &Scaled<'_>,
) -> Result<Vec<ScalableTarget>, AwsError> {
    client
        .describe_scalable_targets()
        .service_namespace(scaled.namespace.clone())
        .resource_ids(scaled.resource_id)
        .scalable_dimension(scaled.dimension.clone())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeScalableTargets", e))
}

pub async fn scaling_policies(
    client: &Client,
    scaled: &Scaled<'_>,
) -> Result<Vec<ScalingPolicy>, AwsError> {
    client
        .describe_scaling_policies()
        .service_namespace(scaled.namespace.clone())
        .resource_id(scaled.resource_id)
        .scalable_dimension(scaled.dimension.clone())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeScalingPolicies", e))
}
