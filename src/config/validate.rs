//! Semantic checks on the merged configuration, turning it into an `Env`.
//! Every problem is collected (not just the first) and located in its file.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::env::*;
use super::error::{ConfigError, ConfigErrors};
use super::instances::{self, LocalStorage};
use super::load::Loaded;
use super::locate::{KeyPath, Locator};
use super::names::{self, EndpointIds, InvokerIds, JobIds, Names, Scope, ZoneIds};
use super::policies;
use super::raw::*;
use super::rules;
use super::suggest;
use super::training::CODE_CHANNEL;
use crate::code::Packager;

mod network;
mod training;

mod endpoint;

mod fleet;
mod serving;

/// SageMaker's hard limit for a training job's runtime and spot wait.
const MAX_TRAINING_SECONDS: u64 = 28 * 24 * 3600;
/// Application Auto Scaling's upper bound for cooldowns (one day here; longer is a typo).
const MAX_COOLDOWN_SECONDS: u64 = 24 * 3600;

const DEFAULT_NONCURRENT_EXPIRE_DAYS: u32 = 90;
const DEFAULT_ABORT_UPLOAD_DAYS: u32 = 7;
const DEFAULT_ACCESS_LOG_EXPIRE_DAYS: u32 = 365;
const DEFAULT_MAX_RUNTIME: &str = "24h";
const DEFAULT_COOLDOWN_SECONDS: u64 = 300;

struct Checker<'a> {
    locator: Locator<'a>,
    errors: Vec<ConfigError>,
    /// Project, account and region are valid, so names derived from them are
    /// worth checking; otherwise every derived name would repeat their error.
    names_known: bool,
    /// Every derived name and the entry it comes from, checked for collisions at the end.
    claims: Vec<Claim>,
}

/// A configuration entry that derives names: where it is and how to call it.
#[derive(Debug, Clone, PartialEq)]
struct Owner {
    path: KeyPath,
    what: String,
}

/// Who a derived name belongs to: a configuration entry, or mlinfra itself.
#[derive(Debug, Clone, PartialEq)]
enum Claimant {
    Entry(Owner),
    Reserved(&'static str),
}

/// An entry that derives names another claimant has too: one error each.
struct Collision {
    owner: Owner,
    other: Claimant,
    /// The shared names with their scopes, in scope order.
    shared: Vec<(Scope, String)>,
}

#[derive(Debug, Clone)]
struct Claim {
    scope: Scope,
    /// mlinfra's own names are borrowed: every environment reserves them.
    name: Cow<'static, str>,
    claimant: Claimant,
}

impl Checker<'_> {
    fn claim(&mut self, scope: Scope, name: &str, owner: &Owner) {
        self.claims.push(Claim {
            scope,
            name: Cow::Owned(name.to_string()),
            claimant: Claimant::Entry(owner.clone()),
        });
    }

    fn claim_all(&mut self, claims: Vec<(Scope, &str)>, owner: &Owner) {
        for (scope, name) in claims {
            self.claim(scope, name, owner);
        }
    }

    fn reserve(&mut self, scope: Scope, name: impl Into<Cow<'static, str>>, what: &'static str) {
        self.claims.push(Claim {
            scope,
            name: name.into(),
            claimant: Claimant::Reserved(what),
        });
    }

    /// Two entries deriving one name would silently become one resource (the
    /// later overwriting the earlier in the template) or fail at deploy time;
    /// an entry deriving one of mlinfra's own names would replace it. Each
    /// colliding pair is reported once at each of its two places.
    fn check_collisions(&mut self) {
        // Claims sorted by name, then grouped: runs of one name are the
        // collisions. Every environment has dozens of claims and almost never
        // a collision, so this allocates once.
        let mut sorted: Vec<(Scope, Cow<'_, str>, usize)> = self
            .claims
            .iter()
            .enumerate()
            .map(|(i, claim)| (claim.scope, claim.scope.normalise(&claim.name), i))
            .collect();
        sorted.sort_unstable();
        let groups: Vec<Vec<usize>> = sorted
            .chunk_by(|a, b| (a.0, &a.1) == (b.0, &b.1))
            .filter(|run| run.len() > 1)
            .map(|run| run.iter().map(|&(_, _, i)| i).collect())
            .collect();
        drop(sorted);
        // (entry, other) → the names they share, in claim order.
        let mut pairs: Vec<Collision> = Vec::new();
        for indices in &groups {
            for &i in indices {
                let Claimant::Entry(owner) = &self.claims[i].claimant else {
                    continue;
                };
                for &j in indices {
                    let other = &self.claims[j].claimant;
                    if other == &self.claims[i].claimant {
                        continue;
                    }
                    let (scope, name) = (self.claims[i].scope, &self.claims[i].name);
                    // mlinfra's own names are one claimant: one error lists them all.
                    let (other, shared) = match other {
                        Claimant::Reserved(what) => (
                            Claimant::Reserved(""),
                            (scope, format!("{name:?} ({what})")),
                        ),
                        Claimant::Entry(_) => (other.clone(), (scope, format!("{name:?}"))),
                    };
                    match pairs
                        .iter_mut()
                        .find(|p| &p.owner == owner && p.other == other)
                    {
                        Some(pair) => pair.shared.push(shared),
                        None => pairs.push(Collision {
                            owner: owner.clone(),
                            other,
                            shared: vec![shared],
                        }),
                    }
                }
            }
        }
        for Collision {
            owner,
            other,
            shared,
        } in pairs
        {
            // `logical ids in the serving stack "A", "B"; outputs of the serving stack "C"`
            let mut by_scope: Vec<(Scope, Vec<String>)> = Vec::new();
            for (scope, name) in shared {
                match by_scope.iter_mut().find(|(s, _)| *s == scope) {
                    Some((_, names)) => names.push(name),
                    None => by_scope.push((scope, vec![name])),
                }
            }
            let names: Vec<String> = by_scope
                .iter()
                .map(|(scope, names)| format!("{} {}", scope.noun(names.len()), names.join(", ")))
                .collect();
            let message = match other {
                Claimant::Reserved(_) => format!(
                    "{} derives names mlinfra uses itself: {}; choose another name",
                    owner.what,
                    names.join("; ")
                ),
                Claimant::Entry(other) => {
                    let at = self.locator.locate(&other.path);
                    format!(
                        "{} derives the same {} as {} ({} at {}:{}:{}); rename one of them",
                        owner.what,
                        names.join("; "),
                        other.what,
                        other.path,
                        at.file.display(),
                        at.line,
                        at.column
                    )
                }
            };
            self.fail(&owner.path, message);
        }
    }

    fn fail(&mut self, path: &KeyPath, message: impl Into<String>) {
        let location = self.locator.locate(path);
        self.errors
            .push(ConfigError::located(location, path.clone(), message.into()));
    }

    fn required<T: Clone>(&mut self, value: &Option<T>, path: &KeyPath) -> Option<T> {
        if value.is_none() {
            self.fail(path, "required key is missing");
        }
        value.clone()
    }

    fn identifier(&mut self, value: &str, path: &KeyPath) {
        if let Some(problem) = rules::identifier_problem(value) {
            self.fail(path, format!("{value:?} {problem}"));
        }
    }

    fn duration(&mut self, text: &str, path: &KeyPath) -> Option<u64> {
        match humantime::parse_duration(text) {
            Ok(d) if d >= Duration::from_secs(1) => Some(d.as_secs()),
            Ok(_) => {
                self.fail(path, format!("{text:?} is shorter than one second"));
                None
            }
            Err(_) => {
                // humantime's own message lists its unit names; people write 90m, 2h or 1h30m.
                let iso = text.trim().to_ascii_uppercase();
                let plain = iso
                    .strip_prefix('P')
                    .map(|rest| rest.strip_prefix('T').unwrap_or(rest).to_ascii_lowercase())
                    .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
                let hint = if let Some(plain) = plain {
                    format!(" (ISO 8601 durations are not read here: write {plain:?} for {text:?})")
                } else {
                    String::new()
                };
                self.fail(
                    path,
                    format!("expected a duration: use 90m, 2h or 1h30m; got {text:?}{hint}"),
                );
                None
            }
        }
    }

    /// Network isolation is on unless switched off with a written reason.
    fn isolation(
        &mut self,
        flag: Option<bool>,
        reason: &Option<String>,
        path: &KeyPath,
    ) -> (bool, Option<String>) {
        let on = flag.unwrap_or(true);
        let reason = reason.clone().filter(|r| !r.trim().is_empty());
        if !on && reason.is_none() {
            self.fail(
                &path.key("network_isolation"),
                "turning network isolation off needs network_isolation_reason = \"...\"",
            );
        }
        (on, reason)
    }

    fn image(&mut self, uri: &str, path: &KeyPath, region: &str) -> Option<ImageUri> {
        let Some(parsed) = parse_ecr_image(uri) else {
            self.fail(
                path,
                format!("expected an ECR image URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG or REPO@sha256:DIGEST), got {uri:?}"),
            );
            return None;
        };
        if !rules::REGIONS.contains(&parsed.registry_region.as_str()) {
            self.fail(
                path,
                format!(
                    "{:?} in {uri:?} is not a known AWS region",
                    parsed.registry_region
                ),
            );
            return None;
        }
        if self.names_known && parsed.registry_region != region {
            self.fail(
                path,
                format!(
                    "the image is in {} but the environment is in {region}: SageMaker pulls images only from ECR in its own region (copy the image to {region})",
                    parsed.registry_region
                ),
            );
            return None;
        }
        Some(parsed)
    }

    fn location(
        &mut self,
        env: &PartialEnv,
        text: &str,
        path: &KeyPath,
        object: bool,
    ) -> Option<S3Location> {
        if let Some(problem) = rules::s3_location_problem(text) {
            self.fail(path, format!("{text:?} {problem}"));
            return None;
        }
        let Some((zone, key)) = text.split_once('/') else {
            self.fail(
                path,
                format!("expected ZONE/PREFIX inside the data lake, got {text:?}"),
            );
            return None;
        };
        let Some(zone_def) = env.zones.iter().find(|z| z.name == zone) else {
            let known: Vec<&str> = env.zones.iter().map(|z| z.name.as_str()).collect();
            self.fail(
                path,
                format!(
                    "zone {zone:?} is not declared in data_lake.zones (declared: {})",
                    known.join(", ")
                ),
            );
            return None;
        };
        if key.is_empty() || key.starts_with('/') || key.contains("//") {
            self.fail(
                path,
                format!("{text:?} needs a non-empty key after the zone, without empty segments"),
            );
            return None;
        }
        if object && key.ends_with('/') {
            self.fail(
                path,
                format!("{text:?} must name an object (for example model.tar.gz), not a prefix"),
            );
            return None;
        }
        let key = if object || key.ends_with('/') {
            key.to_string()
        } else {
            format!("{key}/")
        };
        Some(S3Location {
            zone: zone.to_string(),
            bucket: zone_def.bucket.clone(),
            key,
        })
    }
}

/// The values later checks build on: names, and the zones that locations point into.
struct PartialEnv<'a> {
    names: Names<'a>,
    zones: Vec<Zone>,
}

/// Splits `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@DIGEST]`.
pub fn parse_ecr_image(uri: &str) -> Option<ImageUri> {
    let (host, rest) = uri.split_once('/')?;
    let mut parts = host.split('.');
    let account = parts.next()?;
    if parts.next()? != "dkr" || parts.next()? != "ecr" {
        return None;
    }
    let region = parts.next()?;
    let domain: Vec<&str> = parts.collect();
    if !(domain == ["amazonaws", "com"] || domain == ["amazonaws", "com", "cn"]) {
        return None;
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let repository = rest.split(['@', ':']).next()?;
    let valid_repo = !repository.is_empty()
        && repository
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c));
    if !valid_repo || rest.len() == repository.len() {
        return None;
    }
    // Docker's grammar: a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, a digest `sha256:<64 hex>`.
    let reference = &rest[repository.len()..];
    let valid_reference = if let Some(tag) = reference.strip_prefix(':') {
        (1..=128).contains(&tag.len())
            && !tag.starts_with(['.', '-'])
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    } else if let Some(digest) = reference.strip_prefix("@sha256:") {
        digest.len() == 64
            && digest
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    } else {
        false
    };
    if !valid_reference {
        return None;
    }
    Some(ImageUri {
        uri: uri.to_string(),
        registry_account: account.to_string(),
        registry_region: region.to_string(),
        repository: repository.to_string(),
    })
}

pub fn validate(loaded: &Loaded, packager: &mut Packager) -> Result<Env, ConfigErrors> {
    let mut c = Checker {
        locator: Locator::new(&loaded.files),
        errors: Vec::new(),
        names_known: false,
        claims: Vec::new(),
    };
    let raw = &loaded.raw;
    let root = KeyPath::root();
    let env_path = root.key("env");

    let project = c
        .required(&raw.env.project, &env_path.key("project"))
        .unwrap_or_default();
    if raw.env.project.is_some() {
        c.identifier(&project, &env_path.key("project"));
    }
    if rules::identifier_problem(&loaded.name).is_some() {
        c.fail(
            &root,
            format!(
                "environment file name {:?} must be a lowercase identifier",
                loaded.name
            ),
        );
    }

    let account_id = c
        .required(&raw.env.account_id, &env_path.key("account_id"))
        .unwrap_or_default();
    if raw.env.account_id.is_some()
        && (account_id.len() != 12 || !account_id.chars().all(|ch| ch.is_ascii_digit()))
    {
        c.fail(
            &env_path.key("account_id"),
            format!("expected 12 digits, got {account_id:?}"),
        );
    }
    let region = c
        .required(&raw.env.region, &env_path.key("region"))
        .unwrap_or_default();
    if raw.env.region.is_some() && !rules::REGIONS.contains(&region.as_str()) {
        c.fail(
            &env_path.key("region"),
            match suggest::closest(&region, rules::REGIONS.iter().copied()) {
                Some(near) => {
                    format!("{region:?} is not a known AWS region; did you mean `{near}`?")
                }
                None => format!(
                    "{region:?} is not a known AWS region (for example us-east-1, eu-west-1)"
                ),
            },
        );
    }
    c.names_known = c.errors.is_empty();
    let tags_path = env_path.key("tags");
    if raw.env.tags.len() > rules::MAX_USER_TAGS {
        c.fail(
            &tags_path,
            format!(
                "{} tags: AWS allows 50 per resource and mlinfra adds {} of its own, so at most {} here",
                raw.env.tags.len(),
                rules::MLINFRA_TAGS,
                rules::MAX_USER_TAGS
            ),
        );
    }
    for (key, value) in &raw.env.tags {
        let path = tags_path.key(key);
        if let Some(problem) = rules::tag_problem(key, value) {
            c.fail(&path, problem);
        }
    }
    if let Some(bucket) = &raw.env.artifacts_bucket
        && let Some(problem) = rules::bucket_name_problem(bucket)
    {
        c.fail(
            &env_path.key("artifacts_bucket"),
            format!("{bucket:?} {problem}"),
        );
    }

    let access = validate_access(&mut c, &raw.env, &env_path, &account_id);

    let names = Names {
        project: &project,
        env: &loaded.name,
        account: &account_id,
        region: &region,
    };
    for (scope, name, what) in names::reserved_logical_ids() {
        c.reserve(scope, name, what);
    }
    c.reserve(Scope::Bucket, names.log_bucket(), "the access-log bucket");
    c.reserve(
        Scope::Role,
        names.execution_role(),
        "the SageMaker execution role",
    );
    c.reserve(
        Scope::Role,
        names.pipeline_role(),
        "the training pipeline role",
    );
    if let Some(bucket) = &raw.env.artifacts_bucket {
        let owner = Owner {
            path: env_path.key("artifacts_bucket"),
            what: "the artifacts bucket".into(),
        };
        c.claim(Scope::Bucket, bucket, &owner);
    }
    let data_lake = validate_data_lake(&mut c, &raw.data_lake, &names);
    let fleet = raw.env.targets.as_ref().and_then(|targets| {
        let role_name = |arn: &Option<String>, derived: String| {
            arn.as_deref()
                .and_then(|a| a.rsplit('/').next())
                .map_or(derived, str::to_string)
        };
        let role_names = [
            role_name(&raw.env.deploy_role_arn, names.deploy_role()),
            role_name(
                &raw.env.cloudformation_role_arn,
                names.cloudformation_role(),
            ),
        ];
        fleet::validate_targets(
            &mut c,
            targets,
            &env_path.key("targets"),
            &account_id,
            &role_names,
        )
    });
    let partial = PartialEnv {
        names,
        zones: data_lake.zones.clone(),
    };
    let training: Vec<TrainingJob> = raw
        .training
        .iter()
        .filter_map(|(name, job)| validate_training(&mut c, &partial, packager, name, job))
        .collect();
    let endpoints: Vec<Endpoint> = raw
        .endpoints
        .iter()
        .filter_map(|(name, endpoint)| {
            endpoint::validate_endpoint(&mut c, &partial, &training, &raw.training, name, endpoint)
        })
        .collect();
    serving::capture_beside_models(&mut c, &endpoints, &training);
    let invokers = validate_invokers(&mut c, &partial, &raw.invokers, &raw.endpoints);
    let network = network::network(&mut c, raw.network.as_ref());
    let fleet = match (fleet, &raw.env.targets) {
        (Some(mut f), Some(targets)) => {
            f.stacks = fleet::validate_stacks(
                &mut c,
                targets,
                &env_path.key("targets"),
                &f,
                (&account_id, &region),
                &training,
                network.is_some(),
            );
            Some(f)
        }
        (f, _) => f,
    };

    for (id, reason) in &raw.accepted_findings {
        if reason.trim().len() < 10 {
            c.fail(
                &root.key("accepted_findings").key(id),
                "an accepted finding needs a written reason (at least 10 characters)",
            );
        }
    }

    for (instance_type, price) in &raw.prices {
        let path = root.key("prices").key(instance_type);
        if !instances::is_training_instance(instance_type)
            && !instances::is_serving_instance(instance_type)
        {
            c.fail(
                &path,
                format!("{instance_type:?} is not a SageMaker instance type"),
            );
        } else if !price.is_finite() || *price <= 0.0 {
            c.fail(
                &path,
                format!("expected a price in USD per hour above 0, got {price}"),
            );
        }
    }

    // Role names derived from the prefix: checked once, where the prefix comes from.
    for role in [names.execution_role(), names.pipeline_role()] {
        if c.names_known
            && let Some(problem) = rules::iam_role_name_problem(&role)
        {
            c.fail(
                &env_path.key("project"),
                format!("derived role name {role:?} {problem}"),
            );
        }
    }

    c.check_collisions();

    if !c.errors.is_empty() {
        let mut errors = c.errors;
        // Report the environment's own file first (its layers follow in
        // `extends` order), each in reading order.
        let layer = |e: &ConfigError| {
            e.location.as_ref().map(|l| {
                let index = loaded.files.iter().position(|f| f.display_path == l.file);
                (index, l.line, l.column)
            })
        };
        errors.sort_by_key(layer);
        errors.dedup();
        return Err(ConfigErrors(errors));
    }
    let env = Env {
        name: loaded.name.clone(),
        project,
        account_id,
        region,
        tags: raw.env.tags.clone(),
        termination_protection: raw.env.termination_protection.unwrap_or(true),
        artifacts_bucket: raw.env.artifacts_bucket.clone(),
        access,
        data_lake,
        training,
        endpoints,
        invokers,
        notifications: validate_notifications(&mut c, raw.notifications.as_ref()),
        accepted_findings: raw.accepted_findings.clone(),
        prices: raw.prices.clone(),
        network,
        fleet,
        execution_policies: Default::default(),
    };
    let mut global = fleet::global_name_problems(&env);
    global.extend(fleet::image_problems(&env));
    if !global.is_empty() {
        let key = env_path.key("targets").key("regions");
        let at = Locator::new(&loaded.files).locate(&key);
        return Err(ConfigErrors(
            global
                .into_iter()
                .map(|problem| ConfigError::located(at.clone(), key.clone(), problem))
                .collect(),
        ));
    }
    let size = policies::inline_policy_size(&env, env.execution_policies());
    if size > policies::ROLE_INLINE_POLICY_LIMIT {
        // The locations of jobs and endpoints are what make the documents grow.
        let key = if raw.training.is_empty() {
            root.key("endpoints")
        } else {
            root.key("training")
        };
        let at = Locator::new(&loaded.files).locate(&key);
        return Err(ConfigErrors::one(ConfigError::located(
            at,
            key,
            format!(
                "the execution role's inline policies would be {size} characters (without whitespace); \
                 IAM allows {} per role: use fewer distinct input, output and model locations, or split the environment",
                policies::ROLE_INLINE_POLICY_LIMIT
            ),
        )));
    }
    Ok(env)
}

/// The deploy and CloudFormation roles: IAM role ARNs in the environment's
/// own account (a role elsewhere could not deploy here), and an external id
/// only with a role that asks for it.
fn validate_access(c: &mut Checker, raw: &RawEnv, env_path: &KeyPath, account: &str) -> Access {
    for (value, key) in [
        (&raw.deploy_role_arn, "deploy_role_arn"),
        (&raw.cloudformation_role_arn, "cloudformation_role_arn"),
    ] {
        if let Some(arn) = value
            && c.names_known
            && let Some(problem) = rules::role_arn_problem(arn, account)
        {
            c.fail(&env_path.key(key), format!("{arn:?} {problem}"));
        }
    }
    if let Some(id) = &raw.deploy_role_external_id {
        let path = env_path.key("deploy_role_external_id");
        if raw.deploy_role_arn.is_none() {
            c.fail(
                &path,
                "an external id is sent only when assuming `deploy_role_arn`; set that too",
            );
        } else if let Some(problem) = rules::external_id_problem(id) {
            c.fail(&path, problem);
        }
    }
    if let Some(id) = &raw.delivery_account_id
        && (id.len() != 12 || !id.chars().all(|ch| ch.is_ascii_digit()))
    {
        c.fail(
            &env_path.key("delivery_account_id"),
            format!("expected 12 digits, got {id:?}"),
        );
    }
    Access {
        deploy_role_arn: raw.deploy_role_arn.clone(),
        external_id: raw.deploy_role_external_id.clone(),
        cloudformation_role_arn: raw.cloudformation_role_arn.clone(),
        delivery_account_id: raw
            .delivery_account_id
            .clone()
            .unwrap_or_else(|| account.to_string()),
    }
}

fn validate_data_lake(c: &mut Checker, raw: &RawDataLake, derived: &Names) -> DataLake {
    let path = KeyPath::root().key("data_lake");
    let names = c
        .required(&raw.zones, &path.key("zones"))
        .unwrap_or_default();
    if raw.zones.is_some() && names.is_empty() {
        c.fail(
            &path.key("zones"),
            "declare at least one zone, for example [\"raw\", \"curated\", \"models\"]",
        );
    }
    let mut seen = BTreeSet::new();
    let mut zones = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let zone_path = path.key("zones").index(i);
        if !seen.insert(name.clone()) {
            c.fail(&zone_path, format!("zone {name:?} is declared twice"));
            continue;
        }
        if name == names::RESERVED_LOG_ZONE {
            c.fail(
                &zone_path,
                "\"access-logs\" is reserved for the access-log bucket",
            );
            continue;
        }
        c.identifier(name, &zone_path);
        let bucket = derived.zone_bucket(name);
        if c.names_known
            && let Some(problem) = rules::bucket_name_problem(&bucket)
        {
            c.fail(
                &zone_path,
                format!("derived bucket name {bucket:?} {problem}"),
            );
        }
        let ids = ZoneIds::of(name);
        let owner = Owner {
            path: zone_path.clone(),
            what: format!("zone {name:?}"),
        };
        c.claim_all(ids.claims(), &owner);
        c.claim(Scope::Bucket, &bucket, &owner);
        zones.push(Zone {
            name: name.clone(),
            ids,
            bucket,
            glacier_after_days: raw.glacier_after_days.get(name).copied(),
        });
    }
    for (zone, days) in &raw.glacier_after_days {
        let p = path.key("glacier_after_days").key(zone);
        if !names.contains(zone) {
            c.fail(
                &p,
                format!("zone {zone:?} is not declared in data_lake.zones"),
            );
        } else if *days == 0 {
            c.fail(&p, "a Glacier transition needs at least 1 day");
        }
    }
    let log_bucket = derived.log_bucket();
    if c.names_known
        && let Some(problem) = rules::bucket_name_problem(&log_bucket)
    {
        c.fail(
            &KeyPath::root().key("env").key("project"),
            format!("derived bucket name {log_bucket:?} {problem}"),
        );
    }
    let positive = |c: &mut Checker, value: Option<u32>, key: &str, default: u32| {
        let v = value.unwrap_or(default);
        if v == 0 {
            c.fail(&path.key(key), "must be at least 1 day");
        }
        v
    };
    DataLake {
        noncurrent_versions_expire_days: positive(
            c,
            raw.noncurrent_versions_expire_days,
            "noncurrent_versions_expire_days",
            DEFAULT_NONCURRENT_EXPIRE_DAYS,
        ),
        abort_incomplete_upload_days: positive(
            c,
            raw.abort_incomplete_upload_days,
            "abort_incomplete_upload_days",
            DEFAULT_ABORT_UPLOAD_DAYS,
        ),
        access_logs_expire_days: positive(
            c,
            raw.access_logs_expire_days,
            "access_logs_expire_days",
            DEFAULT_ACCESS_LOG_EXPIRE_DAYS,
        ),
        zones,
        log_bucket,
        key_alias: derived.key_alias(),
    }
}

fn validate_training(
    c: &mut Checker,
    env: &PartialEnv,
    packager: &mut Packager,
    name: &str,
    raw: &RawTraining,
) -> Option<TrainingJob> {
    let path = KeyPath::root().key("training").key(name);
    let before = c.errors.len();
    c.identifier(name, &path);
    let pipeline_name = env.names.pipeline(name);
    if c.names_known
        && let Some(problem) = rules::sagemaker_name_problem(&pipeline_name)
    {
        c.fail(
            &path,
            format!("derived pipeline name {pipeline_name:?} {problem}"),
        );
    }
    let image = c
        .required(&raw.image, &path.key("image"))
        .and_then(|i| c.image(&i, &path.key("image"), env.names.region));
    let gpu = raw.gpu.unwrap_or(true);
    let instance_type = c
        .required(&raw.instance_type, &path.key("instance_type"))
        .unwrap_or_default();
    if raw.instance_type.is_some() {
        let itp = path.key("instance_type");
        if !instances::is_training_instance(&instance_type) {
            let hint = match suggest::closest(&instance_type, instances::training_instances()) {
                Some(near) => format!("; did you mean `{near}`?"),
                None => {
                    let similar = instances::similar_training_instances(&instance_type);
                    if similar.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (the {} family has: {})",
                            instances::instance_family(&instance_type),
                            similar.join(", ")
                        )
                    }
                }
            };
            c.fail(
                &itp,
                format!("{instance_type:?} is not a SageMaker training instance type{hint}"),
            );
        } else if gpu && !instances::is_gpu_instance(&instance_type) {
            c.fail(&itp, format!("{instance_type:?} has no GPU but the job needs one (GPU families: g4dn, g5, g6, g6e, g7, g7e, p2–p6; set gpu = false for a CPU job)"));
        }
    }
    let instance_count = raw.instance_count.unwrap_or(1);
    if instance_count == 0 || instance_count > 100 {
        c.fail(
            &path.key("instance_count"),
            format!("expected 1 to 100 instances, got {instance_count}"),
        );
    }
    let volume_gb = raw.volume_gb.unwrap_or(50);
    if !(1..=16384).contains(&volume_gb) {
        c.fail(
            &path.key("volume_gb"),
            format!("expected 1 to 16384 GB, got {volume_gb}"),
        );
    } else if let LocalStorage::Nvme { gb } = instances::local_storage(&instance_type)
        && volume_gb > gb
    {
        // Such types get no EBS volume: the job has the local disks and nothing more.
        c.fail(
            &path.key("volume_gb"),
            format!(
                "{volume_gb} GB is more than {instance_type}'s {gb} GB of local NVMe storage; \
                 SageMaker attaches no EBS volume to it (choose at most {gb} or another instance type)"
            ),
        );
    }
    let runtime_text = raw
        .max_runtime
        .clone()
        .unwrap_or_else(|| DEFAULT_MAX_RUNTIME.to_string());
    let max_runtime_seconds = c
        .duration(&runtime_text, &path.key("max_runtime"))
        .unwrap_or(0);
    if max_runtime_seconds > MAX_TRAINING_SECONDS {
        c.fail(
            &path.key("max_runtime"),
            format!("{runtime_text:?} exceeds SageMaker's limit of 28 days"),
        );
    }
    let spot = match &raw.spot {
        Some(spot) if spot.enabled.unwrap_or(true) => {
            let wait_path = path.key("spot").key("max_wait");
            let wait = match &spot.max_wait {
                Some(text) => c.duration(text, &wait_path).unwrap_or(0),
                None => (max_runtime_seconds * 2).min(MAX_TRAINING_SECONDS),
            };
            if wait > MAX_TRAINING_SECONDS {
                c.fail(&wait_path, "max_wait exceeds SageMaker's limit of 28 days");
            } else if wait != 0 && max_runtime_seconds != 0 && wait < max_runtime_seconds {
                let wait_text = spot.max_wait.as_deref().unwrap_or_default();
                c.fail(&wait_path, format!("max_wait {wait_text:?} must be at least max_runtime {runtime_text:?}: SageMaker rejects the job otherwise"));
            }
            Some(Spot {
                max_wait_seconds: wait,
            })
        }
        _ => None,
    };
    let channels = training::channels(c, env, &path, raw);
    let output = c
        .required(&raw.output, &path.key("output"))
        .and_then(|t| c.location(env, &t, &path.key("output"), false));
    let code = training::code(c, packager, &path, name, raw, output.as_ref());
    let (network_isolation, network_isolation_reason) =
        c.isolation(raw.network_isolation, &raw.network_isolation_reason, &path);
    if code.is_some() && network_isolation && raw.channels.contains_key(CODE_CHANNEL) {
        c.fail(
            &path.key("channels").key(CODE_CHANNEL),
            "under network isolation the code package arrives in a channel called \"code\"; rename this channel",
        );
    }
    training::hyperparameter_names(c, &path, &raw.hyperparameters, code.is_some());
    let added = if code.is_some() {
        training::SDK_HYPERPARAMETERS.len()
    } else {
        0
    };
    if raw.hyperparameters.len() + added > rules::MAX_HYPERPARAMETERS {
        c.fail(
            &path.key("hyperparameters"),
            format!(
                "{} hyperparameters{}: SageMaker accepts at most {}",
                raw.hyperparameters.len() + added,
                if added > 0 {
                    format!(" (with the {added} that entry_point adds)")
                } else {
                    String::new()
                },
                rules::MAX_HYPERPARAMETERS
            ),
        );
    }
    let metrics = training::metrics(c, &path, raw);
    let tuning = raw
        .tuning
        .as_ref()
        .and_then(|t| training::tuning(c, &path.key("tuning"), t, &metrics, &raw.metrics));
    for (key, value) in &raw.hyperparameters {
        let hp = path.key("hyperparameters").key(key);
        let (key_chars, value_chars) = (key.chars().count(), value.chars().count());
        if key_chars == 0 || key_chars > rules::MAX_HYPERPARAMETER_KEY {
            c.fail(
                &hp,
                format!(
                    "hyperparameter names must be 1 to {} characters, this one has {key_chars}",
                    rules::MAX_HYPERPARAMETER_KEY
                ),
            );
        }
        if value_chars > rules::MAX_HYPERPARAMETER_VALUE {
            c.fail(
                &hp,
                format!(
                    "hyperparameter values must be at most {} characters, this one has {value_chars}",
                    rules::MAX_HYPERPARAMETER_VALUE
                ),
            );
        }
    }
    if c.errors.len() > before {
        return None;
    }
    let output = output?;
    let ids = JobIds::of(name);
    let owner = Owner {
        path: path.clone(),
        what: format!("training job {name:?}"),
    };
    c.claim_all(ids.claims(), &owner);
    c.claim(Scope::Pipeline, &pipeline_name, &owner);
    let checkpoints = S3Location {
        zone: output.zone.clone(),
        bucket: output.bucket.clone(),
        key: format!("checkpoints/{name}/"),
    };
    Some(TrainingJob {
        name: name.to_string(),
        pipeline_name,
        logical_id: ids.pipeline,
        name_output: ids.name_output,
        image: image?,
        instance_type,
        gpu,
        instance_count,
        volume_gb,
        max_runtime_seconds,
        channels,
        code,
        metrics,
        tuning,
        output,
        checkpoints,
        hyperparameters: raw.hyperparameters.clone(),
        spot,
        network_isolation,
        network_isolation_reason,
    })
}

/// Subscriptions of the alarm topic: e-mail addresses and HTTPS URLs.
fn validate_notifications(c: &mut Checker, raw: Option<&RawNotifications>) -> Notifications {
    let Some(raw) = raw else {
        return Notifications::default();
    };
    let path = KeyPath::root().key("notifications");
    for (i, email) in raw.email.iter().enumerate() {
        let ok = email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        if !ok || email.chars().any(char::is_whitespace) {
            c.fail(
                &path.key("email").index(i),
                format!("expected an e-mail address, got {email:?}"),
            );
        }
    }
    for (i, url) in raw.https.iter().enumerate() {
        if !url.starts_with("https://") || url.len() <= "https://".len() {
            c.fail(
                &path.key("https").index(i),
                format!(
                    "expected an https:// URL (SNS delivers alarms over TLS only here), got {url:?}"
                ),
            );
        }
    }
    Notifications {
        email: raw.email.clone(),
        https: raw.https.clone(),
    }
}

fn validate_invokers(
    c: &mut Checker,
    env: &PartialEnv,
    raw: &[RawInvoker],
    endpoints: &BTreeMap<String, RawEndpoint>,
) -> Vec<Invoker> {
    let mut seen = BTreeSet::new();
    let mut invokers = Vec::new();
    for (i, invoker) in raw.iter().enumerate() {
        let path = KeyPath::root().key("invokers").index(i);
        let before = c.errors.len();
        let name = c
            .required(&invoker.name, &path.key("name"))
            .unwrap_or_default();
        if invoker.name.is_some() {
            c.identifier(&name, &path.key("name"));
            if !seen.insert(name.clone()) {
                c.fail(
                    &path.key("name"),
                    format!("invoker {name:?} is declared twice"),
                );
            }
        }
        let role_name = env.names.invoker_role(&name);
        if c.names_known
            && let Some(problem) = rules::iam_role_name_problem(&role_name)
        {
            c.fail(
                &path.key("name"),
                format!("derived role name {role_name:?} {problem}"),
            );
        }
        let service = c
            .required(&invoker.service, &path.key("service"))
            .unwrap_or_default();
        if invoker.service.is_some() && !rules::is_service_principal(&service) {
            c.fail(&path.key("service"), format!("expected an AWS service principal such as \"lambda.amazonaws.com\", got {service:?}"));
        }
        if invoker.endpoints.is_empty() {
            c.fail(
                &path.key("endpoints"),
                "name at least one endpoint this invoker may call",
            );
        }
        for (j, endpoint) in invoker.endpoints.iter().enumerate() {
            if !endpoints.contains_key(endpoint) {
                let known: Vec<&str> = endpoints.keys().map(String::as_str).collect();
                c.fail(
                    &path.key("endpoints").index(j),
                    format!(
                        "no endpoint named {endpoint:?} (declared: {})",
                        known.join(", ")
                    ),
                );
            }
        }
        if c.errors.len() == before {
            let ids = InvokerIds::of(&name);
            let owner = Owner {
                path: path.key("name"),
                what: format!("invoker {name:?}"),
            };
            c.claim_all(ids.claims(), &owner);
            c.claim(Scope::Role, &role_name, &owner);
            invokers.push(Invoker {
                logical_id: ids.role,
                arn_output: ids.arn_output,
                name,
                role_name,
                service,
                endpoints: invoker.endpoints.clone(),
            });
        }
    }
    invokers
}

#[cfg(test)]
mod tests {
    use super::parse_ecr_image;

    #[test]
    fn ecr_uris_are_split() {
        let image = parse_ecr_image(
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-gpu-py310",
        )
        .unwrap();
        assert_eq!(image.repository, "pytorch-training");
        assert_eq!(
            image.repository_arn(),
            "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training"
        );
        assert!(parse_ecr_image("docker.io/library/python:3").is_none());
        assert!(parse_ecr_image("763104351884.dkr.ecr.us-east-1.amazonaws.com/repo").is_none());
    }
}
