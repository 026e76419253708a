//! Grants AWS offers no narrower scope for: shared between environments of
//! one account and region whatever the templates say. `check` lists them
//! beside its findings (they are not findings: no template change removes
//! them; separate accounts per environment do).

use serde::Serialize;

use crate::config::Env;

/// One grant that stays shared, and the environments that have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unscoped {
    pub grant: &'static str,
    pub why: &'static str,
    pub environments: Vec<String>,
}

/// A grant and why AWS offers no narrower scope for it.
type Grant = (&'static str, &'static str);
/// Whether an environment has a grant.
type Applies = fn(&Env) -> bool;

const TRAINING_LOGS: Grant = (
    "logs on /aws/sagemaker/TrainingJobs",
    "every training job of the account and region logs to this one group, in streams named after SageMaker Pipelines' generated job names",
);
const PIPELINE_JOB_NAMES: Grant = (
    "sagemaker:CreateTrainingJob on training-job/pipelines-*",
    "SageMaker Pipelines names the jobs; the environment's tags (aws:RequestTag, aws:ResourceTag) keep them apart instead",
);
const PROCESSING_LOGS: Grant = (
    "logs on /aws/sagemaker/ProcessingJobs",
    "every monitoring job of the account and region logs to this one group",
);
const EC2_DESCRIBE: Grant = (
    "ec2:Describe* (network interfaces, VPCs, subnets, security groups, DHCP options)",
    "these calls have no resource-level permissions; limited to the environment's region",
);

/// The shared grants of `envs`, in a fixed order, each with the
/// environments that have it; none for environments that have none.
pub fn collect(envs: &[Env]) -> Vec<Unscoped> {
    let kinds: [(Grant, Applies); 4] = [
        (TRAINING_LOGS, |e| !e.training.is_empty()),
        (PIPELINE_JOB_NAMES, |e| !e.training.is_empty()),
        (PROCESSING_LOGS, |e| {
            e.endpoints.iter().any(|p| p.monitor.is_some())
        }),
        (EC2_DESCRIBE, |e| e.network.is_some()),
    ];
    kinds
        .into_iter()
        .filter_map(|((grant, why), applies)| {
            let environments: Vec<String> = envs
                .iter()
                .filter(|e| applies(e))
                .map(|e| e.name.clone())
                .collect();
            (!environments.is_empty()).then_some(Unscoped {
                grant,
                why,
                environments,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_environments_share_the_training_log_group_and_nothing_else_without_a_network() {
        let (dev, _) = crate::render::example("dev");
        let shared = collect(std::slice::from_ref(&dev));
        let grants: Vec<&str> = shared.iter().map(|u| u.grant).collect();
        assert_eq!(grants, [TRAINING_LOGS.0, PIPELINE_JOB_NAMES.0]);
        assert_eq!(shared[0].environments, ["dev"]);

        let mut bare = dev;
        bare.training.clear();
        assert!(collect(&[bare]).is_empty());
    }
}
