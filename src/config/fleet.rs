//! A fleet: the accounts or Organizations OUs and the regions an
//! environment's bootstrap stack deploys to as one CloudFormation StackSet,
//! with the operation preferences CloudFormation rolls it out with.

use serde::{Deserialize, Serialize};

use crate::config::names::Layer;

/// AWS's default role names of self-managed StackSets.
pub const DEFAULT_ADMINISTRATION_ROLE: &str = "AWSCloudFormationStackSetAdministrationRole";
pub const DEFAULT_EXECUTION_ROLE: &str = "AWSCloudFormationStackSetExecutionRole";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fleet {
    pub targets: Targets,
    /// In deployment order: `region_order` first, then the others as listed.
    pub regions: Vec<String>,
    pub preferences: Preferences,
    pub permissions: Permissions,
    /// The environment's own stacks that also deploy to every target as
    /// StackSets, beside the bootstrap stack; in dependency order.
    #[serde(default)]
    pub stacks: Vec<Layer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Targets {
    Accounts(Vec<String>),
    OrganizationalUnits(Vec<String>),
}

/// StackSet operation preferences; CloudFormation's defaults where unset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Preferences {
    pub max_concurrent: Option<Amount>,
    pub failure_tolerance: Option<Amount>,
    /// Set only when `region_order` was given.
    pub region_order: Vec<String>,
    pub parallel_regions: bool,
    pub soft_failure_tolerance: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Amount {
    Count(u32),
    Percentage(u32),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Permissions {
    SelfManaged {
        administration_role_arn: String,
        execution_role_name: String,
    },
    ServiceManaged {
        auto_deployment: bool,
        retain_stacks_on_account_removal: bool,
    },
}

impl Fleet {
    /// Regions more than one: IAM names are global to an account, so the
    /// bootstrap roles then carry their region.
    pub fn multi_region(&self) -> bool {
        self.regions.len() > 1
    }
}

/// `ou-` ids and roots (`r-`) as Organizations writes them.
pub fn is_ou_id(id: &str) -> bool {
    let lower_alnum = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if let Some(rest) = id.strip_prefix("ou-") {
        return rest
            .split_once('-')
            .is_some_and(|(root, ou)| lower_alnum(root, 4, 32) && lower_alnum(ou, 8, 32));
    }
    id.strip_prefix("r-")
        .is_some_and(|root| lower_alnum(root, 4, 32))
}

pub fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_and_account_ids_follow_aws_patterns() {
        assert!(is_ou_id("ou-ab12-abcdefgh"));
        assert!(is_ou_id("r-ab12"));
        assert!(!is_ou_id("ou-ab12-abc"));
        assert!(!is_ou_id("ou-AB12-abcdefgh"));
        assert!(!is_ou_id("123456789012"));
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("12345678901"));
        assert!(!is_account_id("12345678901a"));
    }
}
