//! The rule catalogue: every rule's id, severity, what it protects and the
//! one-line fix. Findings carry a `RuleId`; everything else is looked up here,
//! so the report, the docs test and acceptance parsing agree on one list.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares the rule enum and its catalogue in one place, so a rule cannot
/// exist without an id, a severity, a title and a fix.
macro_rules! rules {
    ($( $variant:ident = $code:literal, $severity:ident, $title:literal, $fix:literal; )+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId { $( $variant, )+ }

        impl RuleId {
            pub const ALL: &'static [RuleId] = &[ $( RuleId::$variant, )+ ];

            /// The id users see and write in `[accepted_findings]`, e.g. `IAM001`.
            pub fn code(self) -> &'static str {
                match self { $( RuleId::$variant => $code, )+ }
            }

            pub fn severity(self) -> Severity {
                match self { $( RuleId::$variant => Severity::$severity, )+ }
            }

            /// What the rule demands, in a few words.
            pub fn title(self) -> &'static str {
                match self { $( RuleId::$variant => $title, )+ }
            }

            /// How to make the finding go away.
            pub fn fix(self) -> &'static str {
                match self { $( RuleId::$variant => $fix, )+ }
            }
        }
    };
}

rules! {
    Iam001 = "IAM001", Critical, "no `Action: \"*\"` (or `NotAction`) in an Allow statement",
        "list the exact actions the role needs";
    Iam002 = "IAM002", High, "no service-wide wildcard actions such as `s3:*`",
        "replace the wildcard with the exact actions of that service the role needs";
    Iam003 = "IAM003", High, "`Resource: \"*\"` only for actions without resource-level permissions",
        "name the ARNs; only ecr:GetAuthorizationToken, and cloudwatch:PutMetricData with a cloudwatch:namespace condition, may use \"*\"";
    Iam004 = "IAM004", Critical, "no AWS managed `*FullAccess`, AdministratorAccess or PowerUserAccess policies",
        "replace the managed policy with an inline policy listing the actions and resources used";
    Iam005 = "IAM005", High, "`iam:PassRole` only on named roles and with an `iam:PassedToService` condition",
        "set Resource to the role ARNs that may be passed and add Condition StringEquals iam:PassedToService";
    Iam006 = "IAM006", Critical, "trust policies never trust `*`",
        "name the one service principal that assumes the role, e.g. sagemaker.amazonaws.com";
    Iam007 = "IAM007", High, "trust policies name a service principal",
        "trust a service principal (e.g. lambda.amazonaws.com) instead of an account, user or federated identity";
    Iam008 = "IAM008", Critical, "resource policies grant nothing to an unconditioned `*` principal",
        "name the principal, or add a condition such as aws:SourceAccount that limits who matches";
    Iam009 = "IAM009", Medium, "service trust carries an `aws:SourceAccount` or `aws:SourceArn` condition",
        "add Condition StringEquals aws:SourceAccount: the environment's account id (confused-deputy protection)";
    Iam010 = "IAM010", High, "no partial wildcard actions such as `iam:Put*` or `secretsmanager:Get*`",
        "list the exact actions; a pattern also grants every action the service later adds under it";
    Iam011 = "IAM011", Critical, "no actions with which a role raises its own privileges",
        "remove the IAM policy-writing, access-key and sts:AssumeRole actions (explicit or by pattern) from the role";
    Iam012 = "IAM012", High, "every policy value can be read before deployment",
        "write the action, resource, principal or document literally (or with Fn::Sub/Fn::Join of known parts) so it can be checked";
    Data001 = "DATA001", High, "buckets and KMS keys carry `DeletionPolicy: Retain`",
        "set \"DeletionPolicy\": \"Retain\" on the resource";
    Data002 = "DATA002", High, "buckets and KMS keys carry `UpdateReplacePolicy: Retain`",
        "set \"UpdateReplacePolicy\": \"Retain\" on the resource";
    Data003 = "DATA003", High, "buckets are encrypted at rest",
        "add BucketEncryption with SSE-KMS (the environment key) or, for the access-log bucket, AES256";
    Data004 = "DATA004", Medium, "data-lake buckets use the environment's KMS key",
        "set SSEAlgorithm aws:kms with KMSMasterKeyID { \"Fn::GetAtt\": [\"DataKey\", \"Arn\"] }";
    Data005 = "DATA005", High, "every bucket has a policy denying requests without TLS",
        "add a bucket policy statement: Deny, Principal \"*\", Action s3:*, Condition Bool aws:SecureTransport false";
    Data006 = "DATA006", Medium, "bucket versioning is enabled",
        "set VersioningConfiguration Status Enabled";
    Data007 = "DATA007", High, "the bucket's public access block is fully on",
        "set all four PublicAccessBlockConfiguration flags to true";
    Data008 = "DATA008", Medium, "buckets write server access logs",
        "add LoggingConfiguration with DestinationBucketName { \"Ref\": \"AccessLogBucket\" }";
    Data009 = "DATA009", Medium, "KMS keys rotate yearly",
        "set EnableKeyRotation: true on the key";
    Srv001 = "SRV001", High, "endpoint storage is encrypted with the environment key",
        "set the EndpointConfig KmsKeyId to { \"Fn::ImportValue\": \"<project>-<env>-data-KeyArn\" }";
    Srv002 = "SRV002", High, "no volume KMS key on instance types with instance storage",
        "remove KmsKeyId: SageMaker rejects it on NVMe instance types, whose storage is hardware-encrypted";
    Srv003 = "SRV003", Medium, "endpoints keep variant properties across deploys",
        "set RetainAllVariantProperties: true so a deploy never resets autoscaled capacity";
    Srv004 = "SRV004", High, "captured request and response data is not readable by the endpoint's invokers",
        "remove the invoker's read access to the data-capture prefix: captured data holds other callers' requests";
    Srv005 = "SRV005", Medium, "endpoints of a termination-protected environment have alarms",
        "add `alarms = {}` (the defaults) to the endpoint, so errors and latency are watched and can roll a deployment back";
    Srv006 = "SRV006", Medium, "multi-instance endpoints of a termination-protected environment update with guardrails",
        "add a `deployment` table (canary or linear, with rollback alarms) so an update shifts traffic in steps and rolls back on alarms";
    Trn001 = "TRN001", High, "the pipeline definition is readable and has a training or tuning step",
        "render the pipeline definition from the configuration; do not edit it by hand";
    Trn002 = "TRN002", High, "managed spot training writes checkpoints",
        "set CheckpointConfig.S3Uri so an interrupted spot job resumes instead of restarting";
    Trn003 = "TRN003", High, "spot MaxWaitTimeInSeconds is at least MaxRuntimeInSeconds and at most 28 days",
        "set spot.max_wait between max_runtime and 28d";
    Trn004 = "TRN004", High, "MaxRuntimeInSeconds is set, positive and at most 28 days",
        "set max_runtime to a duration of at most 28d";
    Trn005 = "TRN005", High, "training output and volumes are encrypted with the environment key",
        "set OutputDataConfig.KmsKeyId and ResourceConfig.VolumeKmsKeyId to the data key (${KeyArn})";
    Trn006 = "TRN006", High, "no volume KMS key on training instance types with instance storage",
        "remove ResourceConfig.VolumeKmsKeyId: SageMaker rejects it on NVMe instance types";
    Trn007 = "TRN007", Medium, "multi-instance training encrypts inter-container traffic",
        "set EnableInterContainerTrafficEncryption: true";
    Net001 = "NET001", High, "network isolation is on unless the configuration opts out",
        "set EnableNetworkIsolation: true, or opt out in the config with network_isolation_reason";
    Net002 = "NET002", Medium, "network isolation opted out (with a reason)",
        "turn network isolation back on, or accept the finding in [accepted_findings] with a reason";
    Lim001 = "LIM001", High, "template bodies over 51,200 bytes need an artifacts bucket",
        "set env.artifacts_bucket so the template is uploaded to S3, or split the configuration";
    Lim002 = "LIM002", High, "template bodies are at most 1,000,000 bytes",
        "split the environment: CloudFormation rejects templates over 1 MB even from S3";
    Lim003 = "LIM003", High, "at most 500 resources per stack",
        "split the environment (fewer zones, endpoints or training jobs per environment)";
    Lim004 = "LIM004", High, "at most 200 outputs per stack",
        "split the environment (fewer zones or endpoints per environment)";
    Lim005 = "LIM005", High, "at most 200 parameters per stack",
        "remove parameters: mlinfra renders values into the template instead";
    Lim006 = "LIM006", High, "names fit AWS's length and character rules",
        "shorten the project, environment, zone, job or endpoint name";
    Acc001 = "ACC001", Low, "every accepted finding still matches a finding",
        "remove the stale key from [accepted_findings] (or fix its rule id or logical id)";
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no rule {0:?}")]
pub struct UnknownRule(pub String);

impl FromStr for RuleId {
    type Err = UnknownRule;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|rule| rule.code() == text)
            .ok_or_else(|| UnknownRule(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut codes: Vec<&str> = RuleId::ALL.iter().map(|r| r.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), RuleId::ALL.len());
        for rule in RuleId::ALL {
            assert_eq!(rule.code().parse::<RuleId>(), Ok(*rule));
        }
        assert!("IAM999".parse::<RuleId>().is_err());
    }

    #[test]
    fn severities_are_ordered() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::High < Severity::Critical);
    }
}
