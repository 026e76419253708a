//! The fleet's templates: the bootstrap stack's and those of the stacks
//! `[env.targets] stacks` lists, each made fit for a StackSet, one template
//! for every target account and region. The environment's own account id
//! and region become `${AWS::AccountId}` and `${AWS::Region}` of each
//! instance; the delivery account the bootstrap's deploy role trusts stays
//! literal. Names global to an account (IAM roles and the like, CloudWatch
//! dashboards) carry the region in a fleet of several regions, as CDK's
//! bootstrap roles do, in every template that names them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::config::Env;
use crate::config::fleet::Fleet;
use crate::delivery::bootstrap;
use crate::delivery::policy::PolicyError;
use crate::render::RenderedStack;
use crate::stacks::Layer;
use crate::template::refs::{Reference, reference_of};
use crate::template::{Canonical, Template, catalogue};

/// One StackSet's template: the bootstrap stack's (`layer` none) or one of
/// the environment's stacks', made fit for every target.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetTemplate {
    pub stack_set: String,
    pub layer: Option<Layer>,
    pub template: Canonical,
}

#[derive(Debug, thiserror::Error)]
pub enum FleetTemplateError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("the {0} stack is listed under [env.targets] stacks but was not rendered")]
    NotRendered(Layer),
    #[error(
        "the {layer} StackSet imports {export:?}, which {from}; list that stack under [env.targets] stacks too"
    )]
    Import {
        layer: Layer,
        export: String,
        from: String,
    },
    #[error(
        "the {layer} StackSet's {logical_id} ({kind}) must keep DeletionPolicy and UpdateReplacePolicy \
         Retain: a StackSet has no stack policy to guard it"
    )]
    NotRetained {
        layer: Layer,
        logical_id: String,
        kind: String,
    },
}

/// Every StackSet template of the fleet, in dependency order: bootstrap,
/// then the listed stacks.
pub fn templates(
    env: &Env,
    fleet: &Fleet,
    rendered: &[RenderedStack],
) -> Result<Vec<FleetTemplate>, FleetTemplateError> {
    let mut shared: Vec<(Layer, Value)> = Vec::new();
    for layer in &fleet.stacks {
        let stack = rendered
            .iter()
            .find(|s| s.spec.layer == *layer)
            .ok_or(FleetTemplateError::NotRendered(*layer))?;
        shared.push((*layer, stack.template.value.clone()));
    }
    check_imports(&shared, rendered)?;
    let globals = if fleet.multi_region() {
        global_names(env, &shared)
    } else {
        Vec::new()
    };
    let generalise = |keep: Option<String>| Generalise {
        account: &env.account_id,
        region: &env.region,
        keep,
        globals: &globals,
    };
    let bootstrap = generalise(Some(format!(
        "arn:aws:iam::{}:root",
        env.access.delivery_account_id
    )))
    .template(bootstrap::template(env, rendered)?.value);
    let mut out = vec![FleetTemplate {
        stack_set: super::stack_set_name(env, None),
        layer: None,
        template: Canonical::new(bootstrap),
    }];
    for (layer, value) in shared {
        let template = Canonical::new(generalise(None).template(value));
        check_retained(layer, &template.value)?;
        out.push(FleetTemplate {
            stack_set: super::stack_set_name(env, Some(layer)),
            layer: Some(layer),
            template,
        });
    }
    Ok(out)
}

/// Whether a template holds buckets or keys: its instances are removed
/// with their stacks kept.
pub fn holds_state(template: &Value) -> bool {
    Template::new(template)
        .resources()
        .any(|r| catalogue::is_stateful(r.kind))
}

/// The bootstrap stack's template for a StackSet.
pub fn template(
    env: &Env,
    fleet: &Fleet,
    rendered: &[RenderedStack],
) -> Result<Canonical, FleetTemplateError> {
    let all = templates(env, fleet, rendered)?;
    Ok(all
        .into_iter()
        .find(|t| t.layer.is_none())
        .map(|t| t.template)
        .expect("the bootstrap template comes first"))
}

/// The exports a template's outputs declare, by name.
fn exports(template: &Value) -> BTreeSet<String> {
    template
        .get("Outputs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, o)| o.pointer("/Export/Name").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn imports(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Reference::Import(name)) = reference_of(value) {
                found.insert(name);
            }
            map.values().for_each(|v| imports(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| imports(v, found)),
        _ => {}
    }
}

/// Every import of a listed stack must be exported by a listed stack: an
/// instance imports from the instances of its own account and region. The
/// rendered templates say what is imported, whatever the configuration.
fn check_imports(
    shared: &[(Layer, Value)],
    rendered: &[RenderedStack],
) -> Result<(), FleetTemplateError> {
    let listed: BTreeSet<String> = shared.iter().flat_map(|(_, t)| exports(t)).collect();
    for (layer, template) in shared {
        let mut found = BTreeSet::new();
        imports(template, &mut found);
        if let Some(export) = found.difference(&listed).next() {
            let from = rendered
                .iter()
                .find(|s| exports(&s.template.value).contains(export))
                .map_or("no stack of the environment exports".to_string(), |s| {
                    format!("the {} stack exports", s.spec.layer)
                });
            return Err(FleetTemplateError::Import {
                layer: *layer,
                export: export.clone(),
                from,
            });
        }
    }
    Ok(())
}

fn check_retained(layer: Layer, template: &Value) -> Result<(), FleetTemplateError> {
    for r in Template::new(template).resources() {
        let retained = |key: &str| r.body.get(key).and_then(Value::as_str) == Some("Retain");
        if catalogue::is_stateful(r.kind)
            && !(retained("DeletionPolicy") && retained("UpdateReplacePolicy"))
        {
            return Err(FleetTemplateError::NotRetained {
                layer,
                logical_id: r.logical_id.to_string(),
                kind: r.kind.to_string(),
            });
        }
    }
    Ok(())
}

/// The property naming a resource in a scope global to an account, per type.
const GLOBAL_NAMES: [(&str, &str); 6] = [
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
    ("AWS::IAM::InstanceProfile", "InstanceProfileName"),
    ("AWS::IAM::User", "UserName"),
    ("AWS::IAM::Group", "GroupName"),
    ("AWS::CloudWatch::Dashboard", "DashboardName"),
];

/// The names global to an account the fleet's templates create: the
/// bootstrap roles and every literal name of the types above in the listed
/// stacks, longest first (so that a name containing another is replaced whole).
fn global_names(env: &Env, shared: &[(Layer, Value)]) -> Vec<String> {
    let (deploy, cloudformation) = bootstrap::roles(env);
    let mut names: BTreeSet<String> = [deploy.name, cloudformation.name].into();
    let by_type: BTreeMap<&str, &str> = GLOBAL_NAMES.into_iter().collect();
    for (_, template) in shared {
        for r in Template::new(template).resources() {
            if let Some(name) = by_type
                .get(r.kind)
                .and_then(|p| r.body.pointer(&format!("/Properties/{p}")))
                .and_then(Value::as_str)
            {
                names.insert(name.to_string());
            }
        }
    }
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
}

struct Generalise<'a> {
    account: &'a str,
    region: &'a str,
    /// The delivery account's principal: the same in every instance.
    keep: Option<String>,
    /// Names global to an account that gain `-${AWS::Region}`.
    globals: &'a [String],
}

/// Characters IAM and CloudWatch allow in the names above: a name is
/// replaced only where it stands whole.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

fn replace_whole(text: &str, name: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(name) {
        if i < last {
            continue;
        }
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        if before.is_some_and(name_char) || after.is_some_and(name_char) {
            continue;
        }
        out.push_str(&text[last..i]);
        out.push_str(with);
        last = i + name.len();
    }
    out.push_str(&text[last..]);
    out
}

impl Generalise<'_> {
    /// The template's Description stays a literal; only resources and
    /// outputs are per instance.
    fn template(&self, mut value: Value) -> Value {
        for section in ["Resources", "Outputs"] {
            if let Some(part) = value.get_mut(section) {
                *part = self.value(part.take());
            }
        }
        value
    }

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
                    && let Some(sub) = map.get("Fn::Sub")
                {
                    match sub {
                        Value::String(s) => {
                            return json!({ "Fn::Sub": self.text(s).unwrap_or_else(|| s.clone()) });
                        }
                        Value::Array(parts) if parts.len() == 2 && parts[0].is_string() => {
                            let s = parts[0].as_str().unwrap_or_default();
                            let text = self.text(s).unwrap_or_else(|| s.to_string());
                            return json!({ "Fn::Sub": [text, self.value(parts[1].clone())] });
                        }
                        _ => {}
                    }
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
        if self
            .keep
            .as_ref()
            .is_some_and(|keep| s == keep.replace("${", "${!"))
        {
            return None;
        }
        let mut out = s
            .replace(self.account, "${AWS::AccountId}")
            .replace(self.region, "${AWS::Region}");
        for name in self.globals {
            if out.contains(name.as_str()) {
                out = replace_whole(&out, name, &format!("{name}-${{AWS::Region}}"));
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

    #[test]
    fn a_name_is_replaced_only_where_it_stands_whole() {
        let with = "p-dev-exec-${AWS::Region}";
        assert_eq!(replace_whole("p-dev-exec", "p-dev-exec", with), with);
        assert_eq!(
            replace_whole("arn:aws:iam::1:role/p-dev-exec", "p-dev-exec", with),
            format!("arn:aws:iam::1:role/{with}")
        );
        assert_eq!(
            replace_whole("{\"RoleArn\":\"role/p-dev-exec\"}", "p-dev-exec", with),
            format!("{{\"RoleArn\":\"role/{with}\"}}")
        );
        for untouched in ["p-dev-exec-2", "xp-dev-exec", "role/p-dev-*"] {
            assert_eq!(replace_whole(untouched, "p-dev-exec", with), untouched);
        }
    }

    #[test]
    fn shared_stacks_get_the_same_names_in_every_template_that_names_them() {
        let (env, rendered) = crate::render::example("dev");
        let mut f = fleet(&["us-east-1", "eu-west-1"]);
        f.stacks = vec![Layer::Data, Layer::Iam, Layer::Serving];
        let all = templates(&env, &f, &rendered).unwrap();
        let names: Vec<Option<Layer>> = all.iter().map(|t| t.layer).collect();
        assert_eq!(
            names,
            [
                None,
                Some(Layer::Data),
                Some(Layer::Iam),
                Some(Layer::Serving)
            ]
        );
        let text = |layer: Option<Layer>| {
            all.iter()
                .find(|t| t.layer == layer)
                .unwrap()
                .template
                .text
                .clone()
        };
        let role = env.execution_role_name();
        let suffixed = format!("{role}-${{AWS::Region}}");
        // Created with the region in the iam StackSet, and referred to so in
        // the bootstrap's policies.
        for layer in [None, Some(Layer::Iam)] {
            let t = text(layer);
            assert!(t.contains(&suffixed), "{t}");
            assert_eq!(
                t.matches(&format!("{role}\"")).count(),
                0,
                "no reference without the region: {t}"
            );
        }
        let serving = &all[3].template.value;
        let dashboard = Template::new(serving)
            .resources()
            .find(|r| r.kind == "AWS::CloudWatch::Dashboard")
            .unwrap();
        assert_eq!(
            dashboard.body["Properties"]["DashboardName"],
            json!({"Fn::Sub": format!("{}-${{AWS::Region}}", env.names().dashboard())})
        );
        for t in &all {
            // The delivery account is the environment's own here: only the
            // bootstrap's trust names it.
            let body =
                json!([t.template.value["Resources"], t.template.value["Outputs"]]).to_string();
            let trust = format!("arn:aws:iam::{}:root", env.account_id);
            let literal = body.matches(&env.account_id).count()
                - body.matches(&format!("${{!{}", env.account_id)).count();
            assert_eq!(literal, body.matches(&trust).count(), "{body}");
            if t.layer.is_some() {
                assert_eq!(literal, 0, "{body}");
                assert!(!body.contains(&env.region), "{body}");
            }
        }
    }

    #[test]
    fn a_listed_stack_needs_the_stacks_it_imports_from() {
        let (env, rendered) = crate::render::example("dev");
        let mut f = fleet(&["us-east-1"]);
        f.stacks = vec![Layer::Iam];
        let error = templates(&env, &f, &rendered).unwrap_err().to_string();
        assert!(
            error.contains("the iam StackSet imports \"dogbreed-dev-data-KeyArn\", which the data stack exports"),
            "{error}"
        );
    }

    #[test]
    fn stateful_resources_of_a_stackset_stay_retained() {
        let (env, mut rendered) = crate::render::example("dev");
        let mut f = fleet(&["us-east-1"]);
        f.stacks = vec![Layer::Data];
        assert!(templates(&env, &f, &rendered).is_ok());
        let data = rendered
            .iter_mut()
            .find(|s| s.spec.layer == Layer::Data)
            .unwrap();
        let mut value = data.template.value.clone();
        value["Resources"]["DataKey"]["DeletionPolicy"] = json!("Delete");
        data.template = Canonical::new(value);
        let error = templates(&env, &f, &rendered).unwrap_err().to_string();
        assert!(
            error.contains("DataKey (AWS::KMS::Key) must keep DeletionPolicy"),
            "{error}"
        );
    }
}
