//! Fleets: an environment whose `[env.targets]` lists accounts (or
//! Organizations OUs) and regions gets its bootstrap stack as one
//! CloudFormation StackSet, administered from the environment's account.
//! `plan` says per target what would change, `apply` creates or updates the
//! StackSet and its instances and follows each StackSet operation, `drift`
//! runs StackSet drift detection. CloudFormation rolls the operations out
//! with the configured preferences; nothing here deploys an instance itself.
//!
//! Only the bootstrap stack is a StackSet: it holds account-level roles every
//! target needs alike. The data, IAM, training and serving stacks stay
//! stacks planned through change sets: StackSets offer no change set review,
//! no stack policy and no termination protection per instance, which the
//! data stack's guards depend on.

pub mod report;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::cloud::stackset::{
    Instance, OperationOutcome, Selection, StackSetError, StackSetRequest, StackSets,
};
use crate::cloud::{AwsError, Clients};
use crate::config::Env;
use crate::config::fleet::{Fleet, Targets};
use crate::output::Printer;
use crate::template::Canonical;

pub use report::{FleetApplied, FleetDrift, FleetPlan};

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    StackSet(#[from] StackSetError),
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
}

/// The StackSet's name: the bootstrap stack's.
pub fn stack_set_name(env: &Env) -> String {
    env.names().bootstrap_stack()
}

/// A target (an account, or an OU) in one region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Slot {
    pub target: String,
    pub region: String,
}

/// What applying would do to one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotChange {
    Add,
    /// The instance exists and gets the new template.
    Update,
    Unchanged,
    /// No longer in `[env.targets]`: the instance and its stack are deleted.
    Remove,
}

fn wanted_model(fleet: &Fleet) -> &'static str {
    match fleet.targets {
        Targets::Accounts(_) => "SELF_MANAGED",
        Targets::OrganizationalUnits(_) => "SERVICE_MANAGED",
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

/// Plans the environment's StackSet against `template`.
pub async fn plan(
    sets: &StackSets,
    env: &Env,
    fleet: &Fleet,
    template: &Canonical,
) -> Result<FleetPlan, FleetError> {
    let name = stack_set_name(env);
    let deployed = sets.describe(&name).await?;
    let (exists, template_differs, instances) = match &deployed {
        None => (false, true, Vec::new()),
        Some(info) => {
            if let Some(model) = &info.permission_model
                && model.as_str() != wanted_model(fleet)
            {
                return Err(FleetError::PermissionModel {
                    name,
                    deployed: model.clone(),
                    wanted: wanted_model(fleet),
                });
            }
            let same = info
                .template_body
                .as_deref()
                .and_then(|b| Canonical::parse(b).ok())
                .is_some_and(|c| c.value == template.value);
            (true, !same, sets.instances(&name).await?)
        }
    };
    let want = desired(fleet);
    let mut current: BTreeMap<Slot, Vec<Instance>> = BTreeMap::new();
    for instance in &instances {
        current
            .entry(slot_of(fleet, instance))
            .or_default()
            .push(instance.clone());
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
    Ok(FleetPlan {
        stack_set: name,
        permission_model: wanted_model(fleet),
        exists,
        template_differs,
        template_hash: template.hash(),
        slots,
        instances,
    })
}

/// Groups slots into operations: targets that share the same regions go
/// together, so a fresh fleet is one operation that CloudFormation spreads
/// with the configured preferences.
fn selections(fleet: &Fleet, slots: &[&Slot]) -> Vec<Selection> {
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

/// Applies a fleet plan: the StackSet first (created, or its template
/// updated on the instances that stay), then new instances, then removed
/// ones; each operation followed to its end and its results kept.
pub async fn apply(
    sets: &StackSets,
    env: &Env,
    fleet: &Fleet,
    template: &Canonical,
    plan: &FleetPlan,
    printer: &Printer,
) -> Result<FleetApplied, FleetError> {
    let name = &plan.stack_set;
    let tags: Vec<(String, String)> = env
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain([
            ("mlinfra:env".to_string(), env.name.clone()),
            ("mlinfra:project".to_string(), env.project.clone()),
            ("mlinfra:stack".to_string(), "bootstrap".to_string()),
        ])
        .collect();
    let description = format!(
        "mlinfra bootstrap of {} over a fleet, administered from account {}",
        env.prefix(),
        env.account_id
    );
    let request = StackSetRequest {
        name,
        template: &template.text,
        description: &description,
        tags: &tags,
        fleet,
    };
    let run = crate::plan::run_id();
    let mut operations: Vec<(String, OperationOutcome)> = Vec::new();
    let mut step = 0;
    let mut next_id = || {
        step += 1;
        format!("mlinfra-{run}-{step}")
    };
    if !plan.exists {
        printer.notice(&format!("{name}: creating the StackSet"));
        sets.create(&request, &format!("mlinfra-{run}")).await?;
    }
    let updated: Vec<&Slot> = plan.with(SlotChange::Update).collect();
    if plan.exists && (plan.template_differs || !updated.is_empty()) {
        let keep: Vec<&Slot> = plan
            .slots
            .iter()
            .filter(|(_, c)| matches!(c, SlotChange::Update | SlotChange::Unchanged))
            .map(|(s, _)| s)
            .collect();
        let mut updates = selections(fleet, &keep);
        if updates.is_empty() {
            // Every instance goes or is new: the template alone is updated,
            // so that new instances get it.
            updates.push(Selection {
                targets: fleet.targets.clone(),
                regions: Vec::new(),
            });
        }
        for selection in updates {
            printer.notice(&format!(
                "{name}: updating {} in {}",
                selection_targets(&selection),
                selection.regions.join(", ")
            ));
            let id = sets.update(&request, &selection, &next_id()).await?;
            operations.push(("update".into(), sets.follow(name, &id).await?));
        }
    }
    let added: Vec<&Slot> = plan.with(SlotChange::Add).collect();
    for selection in selections(fleet, &added) {
        printer.notice(&format!(
            "{name}: adding {} in {}",
            selection_targets(&selection),
            selection.regions.join(", ")
        ));
        let id = sets
            .create_instances(name, fleet, &selection, &next_id())
            .await?;
        operations.push(("add".into(), sets.follow(name, &id).await?));
    }
    let removed: Vec<&Slot> = plan.with(SlotChange::Remove).collect();
    for selection in selections(fleet, &removed) {
        printer.notice(&format!(
            "{name}: removing {} in {}",
            selection_targets(&selection),
            selection.regions.join(", ")
        ));
        let id = sets
            .delete_instances(name, fleet, &selection, &next_id())
            .await?;
        operations.push(("remove".into(), sets.follow(name, &id).await?));
    }
    Ok(FleetApplied {
        stack_set: name.clone(),
        operations,
    })
}

fn selection_targets(selection: &Selection) -> String {
    match &selection.targets {
        Targets::Accounts(ids) => format!("account {}", ids.join(", ")),
        Targets::OrganizationalUnits(ids) => format!("OU {}", ids.join(", ")),
    }
}

/// StackSet drift detection over every instance, followed to its end.
pub async fn drift(sets: &StackSets, env: &Env, fleet: &Fleet) -> Result<FleetDrift, FleetError> {
    let name = stack_set_name(env);
    if sets.describe(&name).await?.is_none() {
        return Ok(FleetDrift {
            stack_set: name,
            deployed: false,
            operation: None,
            instances: Vec::new(),
        });
    }
    let id = sets
        .detect_drift(
            &name,
            fleet,
            &format!("mlinfra-drift-{}", crate::plan::run_id()),
        )
        .await?;
    let outcome = sets.follow(&name, &id).await?;
    let instances = sets.instances(&name).await?;
    Ok(FleetDrift {
        stack_set: name,
        deployed: true,
        operation: Some(outcome),
        instances,
    })
}

/// The environment's fleet template, for the commands.
pub fn render(
    env: &Env,
    fleet: &Fleet,
    rendered: &[crate::render::RenderedStack],
) -> Result<Canonical, crate::error::Error> {
    template::template(env, fleet, rendered).map_err(|e| crate::error::Error::Usage(e.to_string()))
}

/// Plans, shows, and (where confirmed) applies the environment's fleet;
/// the one path of `apply` and `bootstrap --deploy`.
pub async fn plan_and_apply(
    clients: &Clients,
    env: &Env,
    fleet: &Fleet,
    template: &Canonical,
    printer: &Printer,
    confirmed: impl FnOnce(&FleetPlan) -> bool,
) -> Result<Option<FleetApplied>, crate::error::Error> {
    let plan = plan(&clients.stacksets, env, fleet, template).await?;
    printer.print(&plan, crate::output::Format::Human)?;
    if !plan.has_changes() {
        return Ok(None);
    }
    if !confirmed(&plan) {
        return Err(crate::error::Error::Usage(format!(
            "StackSet {} not changed: not confirmed",
            plan.stack_set
        )));
    }
    let applied = apply(&clients.stacksets, env, fleet, template, &plan, printer).await?;
    printer.print(&applied, crate::output::Format::Human)?;
    let failed = applied
        .operations
        .iter()
        .filter(|(_, o)| !o.succeeded())
        .count();
    if failed > 0 {
        return Err(FleetError::Failed {
            name: applied.stack_set.clone(),
            failed,
            total: applied.operations.len(),
        }
        .into());
    }
    Ok(Some(applied))
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
    }
}
