//! `[env.targets]`: CloudFormation's rules for StackSet targets and
//! operation preferences, checked before anything is sent.

use super::*;
use crate::config::fleet::{
    self, Amount, DEFAULT_ADMINISTRATION_ROLE, DEFAULT_EXECUTION_ROLE, Fleet, Permissions,
    Preferences, Targets,
};
use crate::stacks::Layer;

/// `names`: the bootstrap roles' names, which gain a region suffix when the
/// fleet spans regions.
pub(super) fn validate_targets(
    c: &mut Checker,
    raw: &RawTargets,
    path: &KeyPath,
    account: &str,
    role_names: &[String],
) -> Option<Fleet> {
    let errors_before = c.errors.len();
    let targets = match (&raw.accounts, &raw.organizational_units) {
        (Some(_), Some(_)) => {
            c.fail(
                &path.key("organizational_units"),
                "give `accounts` (self-managed StackSet) or `organizational_units` (service-managed), not both",
            );
            None
        }
        (None, None) => {
            c.fail(
                path,
                "a fleet needs `accounts` (12-digit ids) or `organizational_units` (`ou-…` ids)",
            );
            None
        }
        (Some(accounts), None) => {
            ids(c, accounts, &path.key("accounts"), "account", |id| {
                fleet::is_account_id(id)
                    .then_some(())
                    .ok_or("expected 12 digits")
            });
            Some(Targets::Accounts(accounts.clone()))
        }
        (None, Some(ous)) => {
            ids(c, ous, &path.key("organizational_units"), "OU", |id| {
                fleet::is_ou_id(id)
                    .then_some(())
                    .ok_or("expected an Organizations OU id `ou-xxxx-xxxxxxxx` or root id `r-xxxx`")
            });
            Some(Targets::OrganizationalUnits(ous.clone()))
        }
    };
    let regions = c
        .required(&raw.regions, &path.key("regions"))
        .unwrap_or_default();
    ids(c, &regions, &path.key("regions"), "region", |r| {
        rules::REGIONS
            .contains(&r)
            .then_some(())
            .ok_or("is not a known AWS region")
    });
    let order = raw.region_order.clone().unwrap_or_default();
    for (i, region) in order.iter().enumerate() {
        if !regions.contains(region) {
            c.fail(
                &path.key("region_order").index(i),
                format!("{region:?} is not one of `regions`"),
            );
        }
        if order[..i].contains(region) {
            c.fail(
                &path.key("region_order").index(i),
                format!("{region:?} is listed twice"),
            );
        }
    }
    let max_concurrent = amount(
        c,
        path,
        ("max_concurrent_count", raw.max_concurrent_count),
        ("max_concurrent_percentage", raw.max_concurrent_percentage),
        1,
    );
    let failure_tolerance = amount(
        c,
        path,
        ("failure_tolerance_count", raw.failure_tolerance_count),
        (
            "failure_tolerance_percentage",
            raw.failure_tolerance_percentage,
        ),
        0,
    );
    let soft = match raw.concurrency_mode.as_deref() {
        None | Some("strict") => false,
        Some("soft") => true,
        Some(other) => {
            c.fail(
                &path.key("concurrency_mode"),
                format!("expected `strict` or `soft`, got {other:?}"),
            );
            false
        }
    };
    // CloudFormation's rule in strict mode: at most one more at a time than
    // may fail.
    if !soft
        && let (Some(Amount::Count(max)), Some(Amount::Count(tolerance))) =
            (max_concurrent, failure_tolerance)
        && max > tolerance + 1
    {
        c.fail(
            &path.key("max_concurrent_count"),
            format!(
                "{max} is more than failure_tolerance_count + 1 = {}; CloudFormation's strict \
                 failure tolerance allows at most one more concurrent deployment than may fail \
                 (or set concurrency_mode = \"soft\")",
                tolerance + 1
            ),
        );
    }
    let parallel_regions = match raw.region_concurrency.as_deref() {
        None | Some("sequential") => false,
        Some("parallel") => true,
        Some(other) => {
            c.fail(
                &path.key("region_concurrency"),
                format!("expected `sequential` or `parallel`, got {other:?}"),
            );
            false
        }
    };
    let permissions = match &targets {
        Some(Targets::OrganizationalUnits(_)) => {
            for (value, key) in [
                (
                    raw.administration_role_arn.is_some(),
                    "administration_role_arn",
                ),
                (raw.execution_role_name.is_some(), "execution_role_name"),
            ] {
                if value {
                    c.fail(
                        &path.key(key),
                        "service-managed StackSets (organizational_units) use Organizations' roles; \
                         this applies only to `accounts`",
                    );
                }
            }
            let auto_deployment = raw.auto_deployment.unwrap_or(true);
            let retain = raw.retain_stacks_on_account_removal.unwrap_or(false);
            if retain && !auto_deployment {
                c.fail(
                    &path.key("retain_stacks_on_account_removal"),
                    "CloudFormation keeps or deletes stacks of leaving accounts only with auto_deployment = true",
                );
            }
            Permissions::ServiceManaged {
                auto_deployment,
                retain_stacks_on_account_removal: retain,
            }
        }
        _ => {
            for (value, key) in [
                (raw.auto_deployment.is_some(), "auto_deployment"),
                (
                    raw.retain_stacks_on_account_removal.is_some(),
                    "retain_stacks_on_account_removal",
                ),
            ] {
                if value {
                    c.fail(
                        &path.key(key),
                        "automatic deployment follows Organizations OUs; it applies only to `organizational_units`",
                    );
                }
            }
            let administration_role_arn = match &raw.administration_role_arn {
                Some(arn) => {
                    if let Some(problem) = rules::role_arn_problem(arn, account) {
                        c.fail(
                            &path.key("administration_role_arn"),
                            format!("{arn:?} {problem}"),
                        );
                    }
                    arn.clone()
                }
                None => format!("arn:aws:iam::{account}:role/{DEFAULT_ADMINISTRATION_ROLE}"),
            };
            let execution_role_name = match &raw.execution_role_name {
                Some(name) => {
                    if let Some(problem) = rules::iam_role_name_problem(name) {
                        c.fail(
                            &path.key("execution_role_name"),
                            format!("{name:?} {problem}"),
                        );
                    }
                    name.clone()
                }
                None => DEFAULT_EXECUTION_ROLE.to_string(),
            };
            Permissions::SelfManaged {
                administration_role_arn,
                execution_role_name,
            }
        }
    };
    if regions.len() > 1 {
        let longest = regions.iter().map(String::len).max().unwrap_or_default();
        for name in role_names {
            if name.len() + 1 + longest > 64 {
                c.fail(
                    &path.key("regions"),
                    format!(
                        "bootstrap role {name:?} gets its region appended in a fleet of several \
                         regions (IAM names are global to an account) and would exceed IAM's 64 characters"
                    ),
                );
            }
        }
    }
    if c.errors.len() > errors_before {
        return None;
    }
    let mut ordered = order.clone();
    ordered.extend(regions.iter().filter(|r| !order.contains(r)).cloned());
    Some(Fleet {
        targets: targets?,
        regions: ordered,
        preferences: Preferences {
            max_concurrent,
            failure_tolerance,
            region_order: order,
            parallel_regions,
            soft_failure_tolerance: soft,
        },
        permissions,
        stacks: Vec::new(),
    })
}

/// A non-empty list of distinct ids, each passing `check`.
fn ids(
    c: &mut Checker,
    values: &[String],
    path: &KeyPath,
    what: &str,
    check: impl Fn(&str) -> Result<(), &'static str>,
) {
    if values.is_empty() {
        c.fail(path, format!("list at least one {what}"));
    }
    for (i, value) in values.iter().enumerate() {
        if let Err(problem) = check(value) {
            c.fail(&path.index(i), format!("{value:?}: {problem}"));
        } else if values[..i].contains(value) {
            c.fail(&path.index(i), format!("{value:?} is listed twice"));
        }
    }
}

/// A count or a percentage, never both (CloudFormation takes one).
fn amount(
    c: &mut Checker,
    path: &KeyPath,
    (count_key, count): (&str, Option<u32>),
    (percentage_key, percentage): (&str, Option<u32>),
    min: u32,
) -> Option<Amount> {
    match (count, percentage) {
        (Some(_), Some(_)) => {
            c.fail(
                &path.key(percentage_key),
                format!("give `{count_key}` or `{percentage_key}`, not both"),
            );
            None
        }
        (Some(n), None) => {
            if n < min {
                c.fail(&path.key(count_key), format!("expected at least {min}"));
            }
            Some(Amount::Count(n))
        }
        (None, Some(p)) => {
            if !(min..=100).contains(&p) {
                c.fail(
                    &path.key(percentage_key),
                    format!("expected a percentage from {min} to 100, got {p}"),
                );
            }
            Some(Amount::Percentage(p))
        }
        (None, None) => None,
    }
}

/// `stacks`: the environment's stacks that also deploy to every target as
/// StackSets. Each must be a known stack, listed once, with every stack it
/// imports from listed too (an instance imports from the instances of the
/// same account and region), and fit for other accounts: nothing in it may
/// be specific to the environment's own account beyond what the StackSet
/// template generalises.
#[allow(clippy::too_many_arguments)]
pub(super) fn validate_stacks(
    c: &mut Checker,
    raw: &RawTargets,
    path: &KeyPath,
    fleet: &Fleet,
    own: (&str, &str),
    training: &[TrainingJob],
    network: bool,
) -> Vec<Layer> {
    let Some(names) = &raw.stacks else {
        return Vec::new();
    };
    let targets = path;
    let path = path.key("stacks");
    let mut listed: Vec<(usize, Layer)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let at = path.index(i);
        let Some(layer) = Layer::ALL.into_iter().find(|l| l.as_str() == name) else {
            c.fail(
                &at,
                format!(
                    "unknown stack {name:?}; expected one of data, iam, training, serving (the \
                     bootstrap stack is always part of the fleet)"
                ),
            );
            continue;
        };
        if listed.iter().any(|(_, l)| *l == layer) {
            c.fail(&at, format!("{name:?} is listed twice"));
            continue;
        }
        listed.push((i, layer));
    }
    let has = |layer: Layer| listed.iter().any(|(_, l)| *l == layer);
    for &(i, layer) in &listed {
        let at = path.index(i);
        for dep in layer.depends_on() {
            if !has(*dep) {
                c.fail(
                    &at,
                    format!(
                        "the {layer} stack imports the {dep} stack's exports; its StackSet instances \
                         import them from the {dep} instance of their own account and region: list \
                         \"{dep}\" too"
                    ),
                );
            }
        }
        if layer == Layer::Training
            && let Some(job) = training.iter().find(|j| j.code.is_some())
        {
            c.fail(
                &at,
                format!(
                    "training job {:?} runs a code package that mlinfra uploads to the environment's \
                     own models bucket only: the training StackSet would point every target at a \
                     package it does not have; deploy training per account instead",
                    job.name
                ),
            );
        }
        if network && layer != Layer::Data {
            c.fail(
                &at,
                format!(
                    "the {layer} stack uses the subnets and security groups of `[network]`, which \
                     exist only in the environment's own account and region"
                ),
            );
        }
    }
    if let Targets::Accounts(accounts) = &fleet.targets
        && !listed.is_empty()
        && fleet.regions.iter().any(|r| r == own.1)
        && let Some(i) = accounts.iter().position(|a| a == own.0)
    {
        c.fail(
            &targets.key("accounts").index(i),
            format!(
                "the environment's own account {} in its own region {} holds the environment's \
                 stacks already: StackSet instances of them there would collide with them (bucket \
                 names, exports); target other accounts or regions",
                own.0, own.1
            ),
        );
    }
    // Names global to an account carry no region in a one-region fleet:
    // in the environment's own account they are the environment's own.
    let global = listed
        .iter()
        .find(|(_, l)| matches!(l, Layer::Iam | Layer::Serving));
    if let (Targets::Accounts(accounts), Some((_, layer))) = (&fleet.targets, global)
        && !fleet.multi_region()
        && !fleet.regions.iter().any(|r| r == own.1)
        && let Some(i) = accounts.iter().position(|a| a == own.0)
    {
        c.fail(
            &targets.key("accounts").index(i),
            format!(
                "the {layer} StackSet creates names global to an account (IAM roles, the dashboard) \
                 that the environment's own stacks hold in account {} already, and a fleet of one \
                 region does not append the region to them: target other accounts, or more regions",
                own.0
            ),
        );
    }
    if c.errors.is_empty() {
        listed.sort_by_key(|(_, l)| Layer::ALL.iter().position(|a| a == l));
        listed.into_iter().map(|(_, l)| l).collect()
    } else {
        Vec::new()
    }
}

/// Names global to an account (IAM roles, CloudWatch dashboards) get the
/// region appended in a fleet of several regions; each must still fit
/// AWS's limit. Checked on the validated environment, whose roles are known.
pub(super) fn global_name_problems(env: &Env) -> Vec<String> {
    let Some(fleet) = &env.fleet else {
        return Vec::new();
    };
    if !fleet.multi_region() {
        return Vec::new();
    }
    let longest = fleet
        .regions
        .iter()
        .max_by_key(|r| r.len())
        .cloned()
        .unwrap_or_default();
    let mut problems = Vec::new();
    if fleet.stacks.contains(&Layer::Iam) {
        for role in env.iam_role_names() {
            let suffixed = format!("{role}-{longest}");
            if let Some(problem) = rules::iam_role_name_problem(&suffixed) {
                problems.push(format!(
                    "role {role:?} of the iam StackSet gets its region appended in a fleet of several \
                     regions (IAM names are global to an account): {suffixed:?} {problem}"
                ));
            }
        }
    }
    if fleet.stacks.contains(&Layer::Serving) && !env.endpoints.is_empty() {
        let dashboard = format!("{}-{longest}", env.names().dashboard());
        if dashboard.len() > rules::MAX_DASHBOARD_NAME {
            problems.push(format!(
                "dashboard {dashboard:?} of the serving StackSet (dashboards are global to an account, \
                 so it gets its region appended) is {} characters; CloudWatch allows {}",
                dashboard.len(),
                rules::MAX_DASHBOARD_NAME
            ));
        }
    }
    problems
}

/// Images of the shared training and serving stacks, whose templates name
/// them with `${AWS::Region}` in place of the environment's region. AWS's
/// framework images sit in another account in some regions, and Model
/// Monitor's analyzer in another account in every region: in those target
/// regions the StackSet would name an image that does not exist.
pub(super) fn image_problems(env: &Env) -> Vec<String> {
    let Some(fleet) = &env.fleet else {
        return Vec::new();
    };
    let elsewhere: Vec<&String> = fleet.regions.iter().filter(|r| **r != env.region).collect();
    if elsewhere.is_empty() {
        return Vec::new();
    }
    let mut images: Vec<(String, &ImageUri)> = Vec::new();
    if fleet.stacks.contains(&Layer::Training) {
        images.extend(
            env.training
                .iter()
                .map(|job| (format!("training job {:?}", job.name), &job.image)),
        );
    }
    let mut problems = Vec::new();
    if fleet.stacks.contains(&Layer::Serving) {
        for endpoint in &env.endpoints {
            for variant in endpoint.variants.iter().chain(&endpoint.shadow_variants) {
                images.push((
                    format!("endpoint {:?} variant {:?}", endpoint.name, variant.name),
                    &variant.image,
                ));
            }
            if endpoint.monitor.is_some() {
                problems.push(format!(
                    "endpoint {:?} has a monitor: Model Monitor's analyzer image is served from a \
                     different account in every region, so the serving StackSet cannot name it for \
                     {}; deploy serving per account, or drop those regions",
                    endpoint.name,
                    join(&elsewhere)
                ));
            }
        }
    }
    for (what, image) in images {
        if !crate::config::images::is_framework_account(&image.registry_account) {
            continue;
        }
        let missing: Vec<String> = elsewhere
            .iter()
            .filter(|r| {
                crate::config::images::framework_account(r) != Some(image.registry_account.as_str())
            })
            .map(|r| r.to_string())
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{what} runs AWS's image {:?} from account {}; AWS serves its framework images \
                 from other accounts in {}, so the StackSet would name an image that does not \
                 exist there: copy the image to a repository of your own, or drop those regions",
                image.uri,
                image.registry_account,
                missing.join(", ")
            ));
        }
    }
    problems
}

fn join(regions: &[&String]) -> String {
    regions
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
