//! What a drift run produces: typed findings, the state of CloudFormation's
//! own drift detection per stack, and the checks that could not be made.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// How much a finding matters: the same scale as `check`'s
/// (`Low < Medium < High`; drift has no `Critical`). Reports list the most
/// severe first.
pub use crate::check::Severity;

/// Which source of truth saw the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// CloudFormation's own drift detection.
    Cloudformation,
    /// The stack itself: missing, or behind the repository.
    Stack,
    Iam,
    Sagemaker,
    ApplicationAutoScaling,
    S3,
    Cloudwatch,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cloudformation => "cloudformation",
            Source::Stack => "stack",
            Source::Iam => "iam",
            Source::Sagemaker => "sagemaker",
            Source::ApplicationAutoScaling => "application-auto-scaling",
            Source::S3 => "s3",
            Source::Cloudwatch => "cloudwatch",
        }
    }
}

/// What was compared. Typed so that reports and JSON consumers can group by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Check {
    /// The stack exists.
    StackDeployed,
    /// The resource the template declares is in the deployed stack.
    InStack,
    /// The live resource exists.
    Exists,
    /// One property, as CloudFormation drift detection names it.
    Property {
        path: String,
    },
    TrustPolicy,
    ManagedPolicies,
    InlinePolicy {
        name: String,
    },
    EndpointStatus,
    EndpointConfig,
    Variant {
        variant: String,
    },
    InstanceType {
        variant: String,
    },
    InstanceCount {
        variant: String,
    },
    ScalableTarget {
        variant: String,
    },
    ScalingCapacity {
        variant: String,
    },
    ScalingSuspended {
        variant: String,
    },
    ScalingPolicy {
        name: String,
    },
    Versioning,
    Encryption,
    BucketKey,
    PublicAccessBlock,
    /// The stack's protection: its stack policy and termination protection.
    StackProtection,
    /// A production variant's traffic weight (its share of the traffic).
    Weight {
        variant: String,
    },
    /// An alarm's actions are enabled (DisableAlarmActions is invisible to
    /// CloudFormation's drift detection).
    AlarmActionsEnabled,
    /// An alarm notifies the environment's topic.
    AlarmActions,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::StackDeployed => f.write_str("stack deployed"),
            Check::InStack => f.write_str("in deployed stack"),
            Check::Exists => f.write_str("exists"),
            Check::Property { path } => write!(f, "property {path}"),
            Check::TrustPolicy => f.write_str("trust policy"),
            Check::ManagedPolicies => f.write_str("attached managed policies"),
            Check::InlinePolicy { name } => write!(f, "inline policy {name}"),
            Check::EndpointStatus => f.write_str("endpoint status"),
            Check::EndpointConfig => f.write_str("endpoint config served"),
            Check::Variant { variant } => write!(f, "variant {variant}"),
            Check::InstanceType { variant } => write!(f, "instance type of {variant}"),
            Check::InstanceCount { variant } => write!(f, "instance count of {variant}"),
            Check::ScalableTarget { variant } => write!(f, "scalable target of {variant}"),
            Check::ScalingCapacity { variant } => write!(f, "min/max capacity of {variant}"),
            Check::ScalingSuspended { variant } => write!(f, "scaling activity of {variant}"),
            Check::ScalingPolicy { name } => write!(f, "scaling policy {name}"),
            Check::Versioning => f.write_str("versioning"),
            Check::Encryption => f.write_str("default encryption"),
            Check::BucketKey => f.write_str("S3 bucket key"),
            Check::PublicAccessBlock => f.write_str("public access block"),
            Check::StackProtection => f.write_str("stack policy and termination protection"),
            Check::Weight { variant } => write!(f, "traffic weight of {variant}"),
            Check::AlarmActionsEnabled => f.write_str("alarm actions enabled"),
            Check::AlarmActions => f.write_str("alarm actions"),
        }
    }
}

/// The kind of action that resolves a finding; `hint` spells it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Remedy {
    /// `mlinfra apply` brings the account back to the configuration.
    Reapply,
    /// Undo the change in the account: CloudFormation only writes properties
    /// whose template value changed, so an apply alone does not.
    Revert,
    /// Revert it, or, if the change is wanted, put it into the configuration.
    RevertOrUpdateConfig,
    /// Deleted outside CloudFormation, which still records it.
    Recreate,
    /// Nothing to do yet: the resource is still changing.
    Wait,
}

/// One difference between what the repository says and what runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftFinding {
    pub stack: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub source: Source,
    pub check: Check,
    pub expected: String,
    pub actual: String,
    pub severity: Severity,
    pub remedy: Remedy,
    pub hint: String,
}

/// A deployed resource a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub stack: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
}

impl Subject {
    /// Starts a finding about this resource; the builder methods fill in the rest.
    pub fn finding(&self, source: Source, check: Check) -> FindingBuilder {
        FindingBuilder {
            finding: DriftFinding {
                stack: self.stack.clone(),
                logical_id: self.logical_id.clone(),
                physical_id: self.physical_id.clone(),
                resource_type: self.resource_type.clone(),
                source,
                check,
                expected: String::new(),
                actual: String::new(),
                severity: Severity::Medium,
                remedy: Remedy::Revert,
                hint: String::new(),
            },
        }
    }
}

pub struct FindingBuilder {
    finding: DriftFinding,
}

impl FindingBuilder {
    pub fn values(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        self.finding.expected = expected.into();
        self.finding.actual = actual.into();
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.finding.severity = severity;
        self
    }

    pub fn hint(mut self, remedy: Remedy, hint: impl Into<String>) -> DriftFinding {
        self.finding.remedy = remedy;
        self.finding.hint = hint.into();
        self.finding
    }
}

/// The outcome of CloudFormation drift detection for one stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Detection {
    /// Every resource that supports drift detection was checked.
    Complete,
    /// CloudFormation could not check some resources; the others were read.
    Failed { reason: String },
    /// Detection did not finish in time; its results were not read.
    TimedOut {
        #[serde(serialize_with = "seconds")]
        after: Duration,
    },
    /// The endpoint does not implement drift detection (an emulator, for example).
    Unsupported { reason: String },
    /// A call failed.
    Error { message: String },
    /// The stack is not deployed: nothing to detect.
    Skipped,
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_secs())
}

impl Detection {
    /// Detection that ran into trouble leaves the answer incomplete. An
    /// endpoint without drift detection is a known limit, reported but not an error.
    pub fn is_incomplete(&self) -> bool {
        matches!(
            self,
            Detection::Failed { .. } | Detection::TimedOut { .. } | Detection::Error { .. }
        )
    }
}

/// A resource CloudFormation did not check: silence is not "in sync".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotChecked {
    pub logical_id: String,
    pub resource_type: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackDetection {
    pub stack: String,
    pub detection: Detection,
    pub not_checked: Vec<NotChecked>,
}

/// A deep check that could not be made (an API error other than "not found").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckError {
    pub stack: String,
    pub logical_id: String,
    pub message: String,
}

/// How much work a run took, for the "seconds, not minutes" goal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunStats {
    /// AWS operations called.
    pub calls: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    pub elapsed_ms: u64,
}

/// Everything one `drift` run found about one environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    pub env: String,
    pub account_id: String,
    pub region: String,
    pub stacks: Vec<String>,
    pub detection: Vec<StackDetection>,
    pub findings: Vec<DriftFinding>,
    pub errors: Vec<CheckError>,
    pub stats: RunStats,
    /// StackSet drift of the environment's `[env.targets]` fleet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<crate::fleet::FleetDrift>,
}

/// The exit-code contract of `drift`: 0 in sync, 2 drift found, 1 error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    InSync,
    Drifted,
    /// Some checks could not be made; whatever was found is still reported.
    Incomplete,
}

impl DriftReport {
    /// Orders findings for reading: most severe first, then by stack and resource.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.severity),
                &a.stack,
                &a.logical_id,
                &a.check,
                &a.actual,
            )
                .cmp(&(
                    std::cmp::Reverse(b.severity),
                    &b.stack,
                    &b.logical_id,
                    &b.check,
                    &b.actual,
                ))
        });
        self.detection.sort_by(|a, b| a.stack.cmp(&b.stack));
        self.errors
            .sort_by(|a, b| (&a.stack, &a.logical_id).cmp(&(&b.stack, &b.logical_id)));
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// An incomplete run is an error even when it found drift: a nightly job
    /// must not report "only these differences" when it could not look everywhere.
    pub fn verdict(&self) -> Verdict {
        if !self.errors.is_empty() || self.detection.iter().any(|d| d.detection.is_incomplete()) {
            Verdict::Incomplete
        } else if self.findings.is_empty() && self.fleet.as_ref().is_none_or(|f| f.in_sync()) {
            Verdict::InSync
        } else {
            Verdict::Drifted
        }
    }
}
