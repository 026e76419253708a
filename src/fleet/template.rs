//! The bootstrap template made fit for a StackSet: one template for every
//! target account and region. The environment's own account id and region
//! become `${AWS::AccountId}` and `${AWS::Region}` of each instance; the
//! delivery account stays literal (it is who may assume the deploy role).
//! IAM names are global to an account, so in a fleet of several regions
//! the roles carry their region, as CDK's bootstrap roles do.

use serde_json::{Map, Value, json};

use crate::config::Env;
use crate::config::fleet::Fleet;
use crate::delivery::bootstrap;
use crate::delivery::policy::PolicyError;
use crate::render::RenderedStack;
use crate::stacks::Layer;
use crate::template::Canonical;

/// One StackSet's template: the bootstrap stack's (`layer` none) or one of
/// the environment's stacks', made fit for every target.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetTemplate {
    pub stack_set: String,
    pub layer: Option<Layer>,
    pub template: Canonical,
}

/// Every StackSet template of the fleet, in dependency order: bootstrap,
/// then the listed stacks.
pub fn templates(
    env: &Env,
    fleet: &Fleet,
    rendered: &[RenderedStack],
) -> Result<Vec<FleetTemplate>, PolicyError> {
    Ok(vec![FleetTemplate {
        stack_set: super::stack_set_name(env, None),
        layer: None,
        template: template(env, fleet, rendered)?,
    }])
}

/// Whether a template holds buckets or keys: its instances are removed
/// with their stacks kept.
pub fn holds_state(template: &Value) -> bool {
    crate::template::Template::new(template)
        .resources()
        .any(|r| crate::template::catalogue::is_stateful(r.kind))
}

/// The bootstrap stack's template for a StackSet.
pub fn template(
    env: &Env,
    fleet: &Fleet,
    rendered: &[RenderedStack],
) -> Result<Canonical, PolicyError> {
    let mut value = bootstrap::template(env, rendered)?.value;
    let (deploy, cloudformation) = bootstrap::roles(env);
    let roles: Vec<String> = if fleet.multi_region() {
        vec![deploy.name, cloudformation.name]
    } else {
        Vec::new()
    };
    let generalise = Generalise {
        account: &env.account_id,
        region: &env.region,
        keep: format!("arn:aws:iam::{}:root", env.access.delivery_account_id),
        roles: &roles,
    };
    // The template's Description must stay a literal; only resources and
    // outputs are per instance.
    for section in ["Resources", "Outputs"] {
        if let Some(part) = value.get_mut(section) {
            *part = generalise.value(part.take());
        }
    }
    Ok(Canonical::new(value))
}

struct Generalise<'a> {
    account: &'a str,
    region: &'a str,
    /// The delivery account's principal: the same in every instance.
    keep: String,
    /// Role names that gain `-${AWS::Region}`.
    roles: &'a [String],
}

impl Generalise<'_> {
    fn value(&self, value: Value) -> Value {
        match value {
            Value::String(s) => match self.text(&s.replace("${", "${!")) {
                Some(sub) => json!({ "Fn::Sub": sub }),
                None => Value::String(s),
            },
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => {
                // Already a substitution: generalise inside it, never nest one.
                if map.len() == 1
                    && let Some(Value::String(s)) = map.get("Fn::Sub")
                {
                    let s = s.clone();
                    return json!({ "Fn::Sub": self.text(&s).unwrap_or(s) });
                }
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (k, self.value(v)))
                        .collect::<Map<_, _>>(),
                )
            }
            other => other,
        }
    }

    /// The text with the instance's pseudo parameters, or `None` when
    /// nothing in it is specific to the environment's account or region.
    fn text(&self, s: &str) -> Option<String> {
        if s == self.keep.replace("${", "${!") {
            return None;
        }
        let mut out = s
            .replace(self.account, "${AWS::AccountId}")
            .replace(self.region, "${AWS::Region}");
        for role in self.roles {
            let suffixed = format!("{role}-${{AWS::Region}}");
            if out == *role {
                out = suffixed;
            } else if let Some(head) = out.strip_suffix(&format!("/{role}")) {
                out = format!("{head}/{suffixed}");
            }
        }
        (out != s).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fleet::{Permissions, Preferences, Targets};

    fn fleet(regions: &[&str]) -> Fleet {
        Fleet {
            targets: Targets::Accounts(vec!["111111111111".into()]),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            preferences: Preferences::default(),
            permissions: Permissions::SelfManaged {
                administration_role_arn: "arn:aws:iam::345678901234:role/Admin".into(),
                execution_role_name: "Exec".into(),
            },
            stacks: Vec::new(),
        }
    }

    #[test]
    fn the_fleet_template_names_no_account_or_region_but_the_delivery_account() {
        let (mut env, rendered) = crate::render::example("prod");
        env.access.delivery_account_id = env.account_id.clone();
        let t = template(&env, &fleet(&["us-east-1", "eu-west-1"]), &rendered).unwrap();
        let resources = t.value["Resources"].to_string();
        let literal = |s: &str| {
            // Outside substitutions: a literal account id would pin every
            // instance to prod's account.
            resources.matches(s).count() - resources.matches(&format!("${{!{s}")).count()
        };
        let trust = format!("arn:aws:iam::{}:root", env.account_id);
        assert_eq!(
            literal(&env.account_id),
            resources.matches(&trust).count(),
            "only the delivery principal keeps the account: {resources}"
        );
        assert!(!resources.contains(&env.region), "{resources}");
        let deploy = &t.value["Resources"]["DeployRole"]["Properties"];
        assert_eq!(
            deploy["RoleName"],
            json!({"Fn::Sub": "dogbreed-prod-deploy-${AWS::Region}"})
        );
        assert_eq!(
            deploy["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"],
            trust
        );
        assert!(t.value["Description"].is_string());
        // One region: the names stay as in a single bootstrap stack.
        let single = template(&env, &fleet(&["us-east-1"]), &rendered).unwrap();
        assert_eq!(
            single.value["Resources"]["DeployRole"]["Properties"]["RoleName"],
            "dogbreed-prod-deploy"
        );
    }
}
