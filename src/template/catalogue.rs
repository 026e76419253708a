//! What CloudFormation does on change, per resource type: which properties are
//! create-only (changing one replaces the resource), and which resources hold
//! state that a replacement or removal loses.

/// Create-only properties of the resource types the templates use, from the
/// CloudFormation resource provider schemas (`createOnlyProperties`, as
/// shipped with cfn-lint 1.58). Changing one replaces the resource.
const CREATE_ONLY: &[(&str, &[&str])] = &[
    (
        "AWS::S3::Bucket",
        &["BucketName", "BucketNamePrefix", "BucketNamespace"],
    ),
    ("AWS::S3::BucketPolicy", &["Bucket"]),
    ("AWS::KMS::Key", &[]),
    ("AWS::KMS::Alias", &["AliasName"]),
    ("AWS::IAM::Role", &["Path", "RoleName"]),
    ("AWS::IAM::Policy", &[]),
    (
        "AWS::IAM::ManagedPolicy",
        &["ManagedPolicyName", "Description", "Path"],
    ),
    (
        "AWS::SageMaker::Model",
        &[
            "ExecutionRoleArn",
            "EnableNetworkIsolation",
            "InferenceExecutionConfig",
            "PrimaryContainer",
            "ModelName",
            "VpcConfig",
            "Containers",
        ],
    ),
    (
        "AWS::SageMaker::EndpointConfig",
        &[
            "KmsKeyId",
            "AsyncInferenceConfig",
            "ExecutionRoleArn",
            "ShadowProductionVariants",
            "EnableNetworkIsolation",
            "ProductionVariants",
            "DataCaptureConfig",
            "ExplainerConfig",
            "MetricsConfig",
            "EndpointConfigName",
            "VpcConfig",
        ],
    ),
    ("AWS::SageMaker::Endpoint", &["EndpointName"]),
    ("AWS::SageMaker::Pipeline", &["PipelineName"]),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        &["ResourceId", "ScalableDimension", "ServiceNamespace"],
    ),
    (
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        &[
            "PolicyName",
            "ServiceNamespace",
            "ResourceId",
            "ScalableDimension",
            "ScalingTargetId",
        ],
    ),
];

/// Create-only properties of a type; `None` for a type this table does not know.
pub fn create_only(resource_type: &str) -> Option<&'static [&'static str]> {
    CREATE_ONLY
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, props)| *props)
}

/// Resource types whose replacement or removal loses data (or the key to it):
/// what plan blocks and what the data stack's policy protects.
pub const STATEFUL_TYPES: [&str; 2] = ["AWS::S3::Bucket", "AWS::KMS::Key"];

pub fn is_stateful(resource_type: &str) -> bool {
    STATEFUL_TYPES.contains(&resource_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stateful_and_their_names_create_only() {
        assert!(is_stateful("AWS::S3::Bucket") && !is_stateful("AWS::S3::BucketPolicy"));
        assert!(
            create_only("AWS::S3::Bucket")
                .unwrap()
                .contains(&"BucketName")
        );
        assert_eq!(create_only("AWS::KMS::Key"), Some(&[][..]));
        assert_eq!(create_only("AWS::Made::Up"), None);
    }
}
