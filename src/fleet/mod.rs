//! Fleets: an environment whose `[env.targets]` lists accounts (or
//! Organizations OUs) and regions gets its bootstrap stack, and the stacks
//! its `stacks` key names, as CloudFormation StackSets administered from
//! the environment's account. `plan` says per StackSet and target what would
//! change (and judges each template change with the template differ and the
//! stateful catalogue, since StackSets have no change sets), `apply` creates
//! or updates the StackSets and their instances in dependency order and
//! follows each StackSet operation, `drift` runs StackSet drift detection.
//! CloudFormation rolls the operations out with the configured preferences;
//! nothing here deploys an instance itself.

pub mod report;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cloud::stackset::{Instance, Selection, StackSetError, StackSetRequest, StackSets};
use crate::cloud::{AwsError, Clients};
use crate::config::Env;
use crate::config::fleet::{Fleet, Targets};
use crate::output::Printer;
use crate::plan::classify;
use crate::stacks::Layer;
use crate::template::Canonical;

pub use report::{
    AppliedOperation, FleetApplied, FleetDrift, FleetPlan, StackSetDrift, StackSetPlan,
    TargetChange,
};
pub use template::FleetTemplate;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    StackSet(#[from] StackSetError),
    #[error(transparent)]
    Template(#[from] template::FleetTemplateError),
    #[error(
        "StackSet {name} is {deployed}, but the configuration asks for {wanted}; CloudFormation \
         cannot change a StackSet's permission model: delete the StackSet and its instances first"
    )]
    PermissionModel {
        name: String,
        deployed: String,
        wanted: &'static str,
    },
    #[error(
        "StackSet {name}: {failed} of {total} operations did not succeed (see the results above)"
    )]
    Failed {
        name: String,
        failed: usize,
        total: usize,
    },
    #[error("StackSet {0}: the reviewed plan carries no template for it; plan again")]
    NoTemplate(String),
    #[error(
        "the template of StackSet {stack_set} is {size} bytes, over CloudFormation's inline limit of {}; \
         set `artifacts_bucket` under [env] so it can be uploaded to S3",
        crate::plan::submit::MAX_TEMPLATE_BODY
    )]
    NoArtifactsBucket { stack_set: String, size: usize },
}

/// The StackSet of the bootstrap stack (`None`) or of one of the
/// environment's stacks: named as that stack.
pub fn stack_set_name(env: &Env, layer: Option<Layer>) -> String {
    match layer {
        None => env.names().bootstrap_stack(),
        Some(layer) => env.names().stack(layer),
    }
}

/// A target (an account, or an OU) in one region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Slot {
    pub target: String,
    pub region: String,
}

/// What applying would do to one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotChange {
    Add,
    /// The instance exists and gets the new template.
    Update,
    Unchanged,
    /// No longer in `[env.targets]`: the instance is removed.
    Remove,
}

/// How a StackSet reaches its targets; CloudFormation cannot change it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PermissionModel {
    SelfManaged,
    ServiceManaged,
}

impl PermissionModel {
    pub fn of(fleet: &Fleet) -> Self {
        match fleet.targets {
            Targets::Accounts(_) => PermissionModel::SelfManaged,
            Targets::OrganizationalUnits(_) => PermissionModel::ServiceManaged,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PermissionModel::SelfManaged => "SELF_MANAGED",
            PermissionModel::ServiceManaged => "SERVICE_MANAGED",
        }
    }
}

fn slot_of(fleet: &Fleet, instance: &Instance) -> Slot {
    let target = match fleet.targets {
        Targets::OrganizationalUnits(_) => instance
            .organizational_unit
            .clone()
            .unwrap_or_else(|| instance.account.clone()),
        Targets::Accounts(_) => instance.account.clone(),
    };
    Slot {
        target,
        region: instance.region.clone(),
    }
}

fn desired(fleet: &Fleet) -> BTreeSet<Slot> {
    let targets = match &fleet.targets {
        Targets::Accounts(ids) | Targets::OrganizationalUnits(ids) => ids,
    };
    targets
        .iter()
        .flat_map(|t| {
            fleet.regions.iter().map(move |r| Slot {
                target: t.clone(),
                region: r.clone(),
            })
        })
        .collect()
}

/// The hash of a deployed template body: of its canonical form when it is
/// JSON, so that it compares with a rendered template's hash.
fn body_hash(body: &str) -> String {
    match Canonical::parse(body) {
        Ok(c) => c.hash(),
        Err(_) => Canonical::new(Value::String(body.to_string())).hash(),
    }
}

/// Plans every StackSet of the fleet: one per template, in dependency order,
/// and one removal per StackSet of a stack no longer listed.
/// `allow_data_loss` lists the logical ids whose loss the user accepts.
pub async fn plan(
    sets: &StackSets,
    env: &Env,
    fleet: &Fleet,
    templates: &[FleetTemplate],
    allow_data_loss: &[String],
) -> Result<FleetPlan, FleetError> {
    // Refused before any call: apply could not send it.
    if env.artifacts_bucket.is_none()
        && let Some(large) = templates
            .iter()
            .find(|t| t.template.size() > crate::plan::submit::MAX_TEMPLATE_BODY)
    {
        return Err(FleetError::NoArtifactsBucket {
            stack_set: large.stack_set.clone(),
            size: large.template.size(),
        });
    }
    let mut stack_sets = Vec::new();
    for template in templates {
        stack_sets.push(plan_one(sets, fleet, template, allow_data_loss).await?);
    }
    // A stack taken off `stacks`: its StackSet, if one was deployed, goes.
    for layer in Layer::ALL {
        if fleet.stacks.contains(&layer) {
            continue;
        }
        let name = stack_set_name(env, Some(layer));
        if let Some(retired) = plan_retired(sets, fleet, &name, layer).await? {
            stack_sets.push(retired);
        }
    }
    Ok(FleetPlan { stack_sets })
}

fn check_model(fleet: &Fleet, name: &str, deployed: Option<&str>) -> Result<(), FleetError> {
    let wanted = PermissionModel::of(fleet).as_str();
    match deployed {
        Some(model) if model != wanted => Err(FleetError::PermissionModel {
            name: name.to_string(),
            deployed: model.to_string(),
            wanted,
        }),
        _ => Ok(()),
    }
}

async fn plan_one(
    sets: &StackSets,
    fleet: &Fleet,
    template: &FleetTemplate,
    allow_data_loss: &[String],
) -> Result<StackSetPlan, FleetError> {
    let name = &template.stack_set;
    let deployed = sets.describe(name).await?;
    let (deployed_body, instances) = match &deployed {
        None => (None, Vec::new()),
        Some(info) => {
            check_model(fleet, name, info.permission_model.as_deref())?;
            (
                Some(info.template_body.clone().unwrap_or_default()),
                sets.instances(name).await?,
            )
        }
    };
    let old = deployed_body
        .as_deref()
        .map(|b| Canonical::parse(b).map(|c| c.value).unwrap_or(Value::Null));
    let template_differs = old.as_ref() != Some(&template.template.value);
    let new = &template.template.value;
    let judged = judge(name, old.as_ref(), new, allow_data_loss);
    let want = desired(fleet);
    let mut current: BTreeMap<Slot, Vec<&Instance>> = BTreeMap::new();
    for instance in &instances {
        current
            .entry(slot_of(fleet, instance))
            .or_default()
            .push(instance);
    }
    let mut slots = BTreeMap::new();
    for slot in &want {
        let change = match current.get(slot) {
            None => SlotChange::Add,
            // An instance left behind by a failed or stopped operation is
            // brought to the template too.
            Some(found)
                if template_differs || found.iter().any(|i| !i.status.starts_with("CURRENT")) =>
            {
                SlotChange::Update
            }
            Some(_) => SlotChange::Unchanged,
        };
        slots.insert(slot.clone(), change);
    }
    for slot in current.keys().filter(|s| !want.contains(s)) {
        slots.insert(slot.clone(), SlotChange::Remove);
    }
    Ok(StackSetPlan {
        stack_set: name.clone(),
        layer: template.layer,
        permission_model: PermissionModel::of(fleet),
        exists: deployed.is_some(),
        retired: false,
        template_differs,
        template_sha256: Some(template.template.hash()),
        deployed_template_sha256: deployed_body.as_deref().map(body_hash),
        targets: TargetChange::list(slots),
        deployed_instances: instances,
        retain_stacks: template::holds_state(new),
        changes: judged.changes,
        iam: judged.iam,
        data_loss: judged.data_loss,
    })
}

/// What a StackSet's new template does to its instances.
pub struct Judged {
    pub changes: Vec<crate::plan::change::ResourceChange>,
    pub iam: Vec<crate::plan::change::IamChange>,
    pub data_loss: Vec<crate::plan::change::DataLossRisk>,
}

pub fn judge(
    stack_set: &str,
    old: Option<&Value>,
    new: &Value,
    allow_data_loss: &[String],
) -> Judged {
    let changes = match old {
        None => classify::creation(new),
        Some(old) if old != new => classify::from_templates(old, new),
        Some(_) => Vec::new(),
    };
    let empty = json!({});
    let label = format!("StackSet {stack_set}");
    Judged {
        data_loss: classify::data_loss(&label, &changes, allow_data_loss),
        iam: classify::iam(&label, &changes, old.unwrap_or(&empty), new),
        changes,
    }
}

/// A StackSet of a stack no longer listed: every instance is removed (its
/// stack kept where it holds state), then the StackSet.
async fn plan_retired(
    sets: &StackSets,
    fleet: &Fleet,
    name: &str,
    layer: Layer,
) -> Result<Option<StackSetPlan>, FleetError> {
    let Some(info) = sets.describe(name).await? else {
        return Ok(None);
    };
    check_model(fleet, name, info.permission_model.as_deref())?;
    let instances = sets.instances(name).await?;
    let body = info.template_body.clone().unwrap_or_default();
    let deployed = Canonical::parse(&body)
        .map(|c| c.value)
        .unwrap_or(Value::Null);
    let slots = instances
        .iter()
        .map(|i| (slot_of(fleet, i), SlotChange::Remove))
        .collect();
    Ok(Some(StackSetPlan {
        stack_set: name.to_string(),
        layer: Some(layer),
        permission_model: PermissionModel::of(fleet),
        exists: true,
        retired: true,
        template_differs: false,
        template_sha256: None,
        deployed_template_sha256: Some(body_hash(&body)),
        targets: TargetChange::list(slots),
        deployed_instances: instances,
        // Unknown content is kept rather than deleted.
        retain_stacks: deployed.is_null() || template::holds_state(&deployed),
        changes: Vec::new(),
        iam: Vec::new(),
        data_loss: Vec::new(),
    }))
}

/// What differs between the StackSets as planned and as they are now: a
/// reviewed fleet plan is applied only to the StackSets it was made from.
pub async fn differences(sets: &StackSets, plan: &FleetPlan) -> Result<Vec<String>, FleetError> {
    let mut found = Vec::new();
    for planned in &plan.stack_sets {
        let name = &planned.stack_set;
        let now = sets.describe(name).await?;
        match (&now, planned.exists) {
            (None, true) => {
                found.push(format!(
                    "StackSet {name}: planned as deployed, but it no longer exists"
                ));
                continue;
            }
            (Some(_), false) => {
                found.push(format!(
                    "StackSet {name}: planned as new, but it exists now"
                ));
                continue;
            }
            (None, false) => continue,
            (Some(_), true) => {}
        }
        let body = now
            .as_ref()
            .and_then(|i| i.template_body.as_deref())
            .unwrap_or_default();
        if Some(body_hash(body)) != planned.deployed_template_sha256 {
            found.push(format!(
                "StackSet {name}: its deployed template changed since the plan"
            ));
        }
        let instances = sets.instances(name).await?;
        let key = |i: &Instance| {
            (
                i.account.clone(),
                i.region.clone(),
                i.organizational_unit.clone(),
                i.status.clone(),
            )
        };
        let then: BTreeSet<_> = planned.deployed_instances.iter().map(key).collect();
        let now: BTreeSet<_> = instances.iter().map(key).collect();
        if then != now {
            let described = |set: &BTreeSet<(String, String, Option<String>, String)>,
                             other: &BTreeSet<_>| {
                set.difference(other)
                    .map(|(a, r, _, s)| format!("{a} {r} {s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            found.push(format!(
                "StackSet {name}: its instances changed since the plan (gone or changed: [{}]; new or changed: [{}])",
                described(&then, &now),
                described(&now, &then)
            ));
        }
    }
    Ok(found)
}

/// Groups slots into operations: targets that share the same regions go
/// together, so a fresh fleet is one operation that CloudFormation spreads
/// with the configured preferences.
fn selections(fleet: &Fleet, slots: &[Slot]) -> Vec<Selection> {
    let mut regions_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for slot in slots {
        regions_of
            .entry(slot.target.as_str())
            .or_default()
            .push(slot.region.clone());
    }
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (target, mut regions) in regions_of {
        // In the fleet's region order, which CloudFormation follows.
        regions.sort_by_key(|r| fleet.regions.iter().position(|f| f == r));
        groups.entry(regions).or_default().push(target.to_string());
    }
    groups
        .into_iter()
        .map(|(regions, targets)| Selection {
            targets: match fleet.targets {
                Targets::Accounts(_) => Targets::Accounts(targets),
                Targets::OrganizationalUnits(_) => Targets::OrganizationalUnits(targets),
            },
            regions,
        })
        .collect()
}

struct Run<'a> {
    clients: &'a Clients,
    sets: &'a StackSets,
    fleet: &'a Fleet,
    printer: &'a Printer,
    run: String,
    step: usize,
    operations: Vec<AppliedOperation>,
}

impl Run<'_> {
    fn next_id(&mut self) -> String {
        self.step += 1;
        format!("mlinfra-{}-{}", self.run, self.step)
    }

    /// Follows an operation and keeps its outcome; `false` when it did not succeed.
    async fn follow(
        &mut self,
        stack_set: &str,
        action: &str,
        id: &str,
    ) -> Result<bool, FleetError> {
        let outcome = self.sets.follow(stack_set, id).await?;
        let ok = outcome.succeeded();
        self.operations.push(AppliedOperation {
            stack_set: stack_set.to_string(),
            action: action.to_string(),
            outcome,
        });
        Ok(ok)
    }

    /// Creates or updates a StackSet and adds its new instances.
    async fn forward(
        &mut self,
        env: &Env,
        plan: &StackSetPlan,
        template: &FleetTemplate,
    ) -> Result<bool, FleetError> {
        let name = &plan.stack_set;
        let tags = tags(env, plan.layer);
        let description = format!(
            "mlinfra {} of {} over a fleet, administered from account {}",
            plan.layer.map_or("bootstrap", Layer::as_str),
            env.prefix(),
            env.account_id
        );
        let source =
            crate::plan::submit::template_source_of(self.clients, env, name, &template.template)
                .await?
                .ok_or_else(|| FleetError::NoArtifactsBucket {
                    stack_set: name.clone(),
                    size: template.template.size(),
                })?;
        let request = StackSetRequest {
            name,
            template: &source,
            description: &description,
            tags: &tags,
            fleet: self.fleet,
        };
        if !plan.exists {
            self.printer
                .notice(&format!("{name}: creating the StackSet"));
            let token = format!(
                "mlinfra-{}-{}",
                self.run,
                plan.layer.map_or("bootstrap", Layer::as_str)
            );
            self.sets.create(&request, &token).await?;
        }
        let updated: Vec<Slot> = plan.with(SlotChange::Update).collect();
        if plan.exists && (plan.template_differs || !updated.is_empty()) {
            let keep: Vec<Slot> = plan
                .slots()
                .filter(|(_, c)| matches!(c, SlotChange::Update | SlotChange::Unchanged))
                .map(|(s, _)| s)
                .collect();
            let mut updates = selections(self.fleet, &keep);
            if updates.is_empty() {
                // Every instance goes or is new: the template alone is
                // updated, so that new instances get it.
                updates.push(Selection {
                    targets: self.fleet.targets.clone(),
                    regions: Vec::new(),
                });
            }
            for selection in updates {
                self.printer.notice(&format!(
                    "{name}: updating {} in {}",
                    selection_targets(&selection),
                    selection.regions.join(", ")
                ));
                let id = self.next_id();
                let id = self.sets.update(&request, &selection, &id).await?;
                if !self.follow(name, "update", &id).await? {
                    return Ok(false);
                }
            }
        }
        let added: Vec<Slot> = plan.with(SlotChange::Add).collect();
        for selection in selections(self.fleet, &added) {
            self.printer.notice(&format!(
                "{name}: adding {} in {}",
                selection_targets(&selection),
                selection.regions.join(", ")
            ));
            let id = self.next_id();
            let id = self
                .sets
                .create_instances(name, self.fleet, &selection, &id)
                .await?;
            if !self.follow(name, "add", &id).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Removes the instances that go (keeping their stacks where they hold
    /// state), then a retired StackSet itself.
    async fn backward(&mut self, plan: &StackSetPlan) -> Result<bool, FleetError> {
        let name = &plan.stack_set;
        let removed: Vec<Slot> = plan.with(SlotChange::Remove).collect();
        for selection in selections(self.fleet, &removed) {
            self.printer.notice(&format!(
                "{name}: removing {} in {}{}",
                selection_targets(&selection),
                selection.regions.join(", "),
                if plan.retain_stacks {
                    " (their stacks, buckets and keys stay in those accounts)"
                } else {
                    ""
                }
            ));
            let id = self.next_id();
            let id = self
                .sets
                .delete_instances(name, self.fleet, &selection, plan.retain_stacks, &id)
                .await?;
            if !self.follow(name, "remove", &id).await? {
                return Ok(false);
            }
        }
        if plan.retired {
            self.printer
                .notice(&format!("{name}: deleting the StackSet"));
            self.sets.delete(name).await?;
        }
        Ok(true)
    }
}

fn tags(env: &Env, layer: Option<Layer>) -> Vec<(String, String)> {
    env.tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain([
            ("mlinfra:env".to_string(), env.name.clone()),
            ("mlinfra:project".to_string(), env.project.clone()),
            (
                "mlinfra:stack".to_string(),
                layer.map_or("bootstrap", Layer::as_str).to_string(),
            ),
        ])
        .collect()
}

/// Applies a fleet plan: StackSets created or updated and their new
/// instances added in dependency order, then removals in reverse order.
/// Each operation is followed to its end; the first that does not succeed
/// stops the rest (a later StackSet may import from the failed one).
pub async fn apply(
    clients: &Clients,
    env: &Env,
    fleet: &Fleet,
    plan: &FleetPlan,
    templates: &[FleetTemplate],
    printer: &Printer,
) -> Result<FleetApplied, FleetError> {
    let mut run = Run {
        clients,
        sets: &clients.stacksets,
        fleet,
        printer,
        run: crate::plan::submit::run_id(),
        step: 0,
        operations: Vec::new(),
    };
    let mut ok = true;
    for stack_set in plan
        .stack_sets
        .iter()
        .filter(|s| !s.retired && s.has_changes())
    {
        let template = templates
            .iter()
            .find(|t| t.stack_set == stack_set.stack_set)
            .ok_or_else(|| FleetError::NoTemplate(stack_set.stack_set.clone()))?;
        if Some(template.template.hash()) != stack_set.template_sha256 {
            return Err(FleetError::NoTemplate(stack_set.stack_set.clone()));
        }
        if !run.forward(env, stack_set, template).await? {
            ok = false;
            break;
        }
    }
    if ok {
        for stack_set in plan.stack_sets.iter().rev() {
            if !run.backward(stack_set).await? {
                break;
            }
        }
    }
    Ok(FleetApplied {
        operations: run.operations,
    })
}

fn selection_targets(selection: &Selection) -> String {
    match &selection.targets {
        Targets::Accounts(ids) => format!("account {}", ids.join(", ")),
        Targets::OrganizationalUnits(ids) => format!("OU {}", ids.join(", ")),
    }
}

/// StackSet drift detection over every instance of every StackSet of the
/// fleet, each followed to its end.
pub async fn drift(sets: &StackSets, env: &Env, fleet: &Fleet) -> Result<FleetDrift, FleetError> {
    let mut stack_sets = Vec::new();
    let members = std::iter::once(None).chain(fleet.stacks.iter().copied().map(Some));
    for layer in members {
        let name = stack_set_name(env, layer);
        if sets.describe(&name).await?.is_none() {
            stack_sets.push(StackSetDrift {
                stack_set: name,
                deployed: false,
                operation: None,
                instances: Vec::new(),
            });
            continue;
        }
        let id = sets
            .detect_drift(
                &name,
                fleet,
                &format!("mlinfra-drift-{}", crate::plan::submit::run_id()),
            )
            .await?;
        let outcome = sets.follow(&name, &id).await?;
        let instances = sets.instances(&name).await?;
        stack_sets.push(StackSetDrift {
            stack_set: name,
            deployed: true,
            operation: Some(outcome),
            instances,
        });
    }
    Ok(FleetDrift { stack_sets })
}

/// The environment's fleet templates, for the commands.
pub fn render(
    env: &Env,
    fleet: &Fleet,
    rendered: &[crate::render::RenderedStack],
) -> Result<Vec<FleetTemplate>, FleetError> {
    Ok(template::templates(env, fleet, rendered)?)
}

/// A small self-managed fleet for unit tests elsewhere.
#[cfg(test)]
pub fn example_fleet() -> Fleet {
    use crate::config::fleet::{Permissions, Preferences};
    Fleet {
        targets: Targets::Accounts(vec!["111111111111".into(), "222222222222".into()]),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        preferences: Preferences::default(),
        permissions: Permissions::SelfManaged {
            administration_role_arn:
                "arn:aws:iam::345678901234:role/AWSCloudFormationStackSetAdministrationRole".into(),
            execution_role_name: "AWSCloudFormationStackSetExecutionRole".into(),
        },
        stacks: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ChangeAction, Risk};

    /// The environment's plan with one StackSet of the fleet changing.
    fn plan_with(env: &Env, old: &Value, new: &Value, judged: Judged) -> crate::plan::Plan {
        crate::plan::Plan {
            format_version: crate::plan::FORMAT_VERSION,
            env: env.name.clone(),
            account_id: env.account_id.clone(),
            region: env.region.clone(),
            stacks: Vec::new(),
            iam: Vec::new(),
            warnings: Vec::new(),
            data_loss: Vec::new(),
            summary: Default::default(),
            cost: None,
            code: Vec::new(),
            fleet: Some(FleetPlan {
                stack_sets: vec![StackSetPlan {
                    stack_set: "dogbreed-dev-data".into(),
                    layer: Some(Layer::Data),
                    permission_model: PermissionModel::SelfManaged,
                    exists: true,
                    retired: false,
                    template_differs: true,
                    template_sha256: Some(Canonical::new(new.clone()).hash()),
                    deployed_template_sha256: Some(Canonical::new(old.clone()).hash()),
                    targets: Vec::new(),
                    deployed_instances: Vec::new(),
                    retain_stacks: true,
                    changes: judged.changes,
                    iam: judged.iam,
                    data_loss: judged.data_loss,
                }],
            }),
        }
    }

    fn data_template(env: &Env) -> Value {
        let (_, rendered) = crate::render::example(&env.name);
        let mut fleet = example_fleet();
        fleet.stacks = vec![Layer::Data];
        template::templates(env, &fleet, &rendered).unwrap()[1]
            .template
            .value
            .clone()
    }

    #[test]
    fn a_stateful_replacement_in_a_stackset_is_data_loss_and_blocks_the_plan() {
        let (env, _) = crate::render::example("dev");
        let old = data_template(&env);
        let mut new = old.clone();
        // A create-only property of a bucket: CloudFormation replaces it.
        let bucket = &mut new["Resources"]["RawBucket"]["Properties"]["BucketName"];
        *bucket = json!({"Fn::Sub": "renamed-${AWS::AccountId}-${AWS::Region}"});
        let judged = judge("dogbreed-dev-data", Some(&old), &new, &[]);
        let risk = judged
            .data_loss
            .iter()
            .find(|r| r.logical_id == "RawBucket")
            .expect("the bucket's replacement is a data-loss risk");
        assert_eq!(risk.risk, Risk::Replace);
        assert_eq!(risk.stack, "StackSet dogbreed-dev-data");
        assert!(!risk.allowed);

        // In the environment's plan, the fleet's risk blocks it (exit 3)
        // until the same consent the stacks need is given.
        let mut plan = plan_with(&env, &old, &new, judged);
        assert!(plan.is_blocked());
        assert_eq!(plan.exit(), crate::exit::Exit::Blocked);
        let text = crate::report::human(&plan);
        assert!(
            text.contains(
                "x StackSet dogbreed-dev-data RawBucket (AWS::S3::Bucket) would be replaced"
            ),
            "{text}"
        );
        assert!(
            text.contains("to accept it: --allow-data-loss RawBucket"),
            "{text}"
        );
        assert!(plan.unused_allowances(&["RawBucket".into()]).is_empty());
        plan.allow(&["RawBucket".into()]);
        assert!(!plan.is_blocked());
        assert_eq!(plan.exit(), crate::exit::Exit::Changes);

        // Removing a key is data loss too; a changed tag is not.
        let mut removed = old.clone();
        removed["Resources"]
            .as_object_mut()
            .unwrap()
            .remove("DataKey");
        let judged = judge("dogbreed-dev-data", Some(&old), &removed, &[]);
        assert!(
            judged
                .data_loss
                .iter()
                .any(|r| r.logical_id == "DataKey" && r.risk == Risk::Remove)
        );
        let mut tagged = old.clone();
        tagged["Resources"]["RawBucket"]["Properties"]["Tags"] =
            json!([{"Key": "k", "Value": "v"}]);
        let judged = judge("dogbreed-dev-data", Some(&old), &tagged, &[]);
        assert!(judged.data_loss.is_empty());
        assert_eq!(judged.changes[0].action, ChangeAction::Modify);
    }

    #[test]
    fn an_iam_statement_added_in_a_stackset_is_broadening() {
        let (env, rendered) = crate::render::example("dev");
        let mut fleet = example_fleet();
        fleet.stacks = vec![Layer::Data, Layer::Iam];
        let old = template::templates(&env, &fleet, &rendered).unwrap()[2]
            .template
            .value
            .clone();
        let mut new = old.clone();
        let policies = new["Resources"]["ExecutionRole"]["Properties"]["Policies"]
            .as_array_mut()
            .unwrap();
        policies.push(json!({
            "PolicyName": "more",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::x/*"}
            ]}
        }));
        let judged = judge("dogbreed-dev-iam", Some(&old), &new, &[]);
        let change = judged
            .iam
            .iter()
            .find(|c| c.logical_id == "ExecutionRole")
            .expect("an IAM change");
        assert!(!change.added.is_empty(), "{change:?}");
        assert_eq!(change.stack, "StackSet dogbreed-dev-iam");
        // The approval the stacks need: asked for where broadening needs it.
        let plan = plan_with(&env, &old, &new, judged);
        use crate::apply::RequireApproval;
        let summary = crate::apply::broadening_summary(&plan, RequireApproval::Broadening)
            .expect("broadening needs approval");
        assert!(
            summary.contains(
                "StackSet dogbreed-dev-iam/ExecutionRole: 1 statement(s) added or widened"
            ),
            "{summary}"
        );
        assert!(crate::apply::broadening_summary(&plan, RequireApproval::Never).is_none());
    }
}
