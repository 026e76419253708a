//! AWS naming rules and catalogues: each check returns what is wrong, in words
//! a user can act on, or `None`.

/// Commercial-partition regions (`arn:aws:`); other partitions are not supported.
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// S3 general purpose bucket naming rules.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    let len = name.len();
    if !(3..=63).contains(&len) {
        return Some(format!("is {len} characters; bucket names must be 3 to 63"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(format!(
            "contains {c:?}; bucket names use only lowercase letters, digits, '-' and '.'"
        ));
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !name.starts_with(alnum) || !name.ends_with(alnum) {
        return Some("must begin and end with a lowercase letter or digit".into());
    }
    if name.contains("..") {
        return Some("must not contain two adjacent periods".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("must not be formatted as an IP address".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Some(format!(
                "must not start with the reserved prefix {prefix:?}"
            ));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return Some(format!("must not end with the reserved suffix {suffix:?}"));
        }
    }
    None
}

/// SageMaker endpoint and pipeline names: `^[a-zA-Z0-9](-*[a-zA-Z0-9])*`, at most 63.
pub fn sagemaker_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 63 {
        return Some(format!(
            "is {} characters; SageMaker names must be 1 to 63",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Some(format!(
            "contains {c:?}; SageMaker names use only letters, digits and '-'"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must begin and end with a letter or digit".into());
    }
    None
}

/// IAM role names: at most 64 of `[A-Za-z0-9+=,.@_-]`.
/// CloudWatch's limit for a dashboard name.
pub const MAX_DASHBOARD_NAME: usize = 255;

pub fn iam_role_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 64 {
        return Some(format!(
            "is {} characters; IAM role names must be 1 to 64",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        return Some(format!("contains {c:?}, which IAM role names do not allow"));
    }
    None
}

/// Why `arn` is not the ARN of an IAM role in `account`, if it is not.
pub fn role_arn_problem(arn: &str, account: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, owner, resource] = parts[..] else {
        return Some("expected an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME".into());
    };
    if prefix != "arn"
        || !["aws", "aws-cn", "aws-us-gov"].contains(&partition)
        || service != "iam"
        || !region.is_empty()
    {
        return Some("expected an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME".into());
    }
    if owner != account {
        return Some(format!(
            "is in account {owner:?}, but the environment is account {account}: the role must be in the account it deploys to"
        ));
    }
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Some("expected an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME".into());
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    iam_role_name_problem(name).map(|p| format!("role name {name:?} {p}"))
}

/// STS's rule for an external id: 2 to 1,224 characters of `[\w+=,.@:/-]`.
pub fn external_id_problem(id: &str) -> Option<String> {
    if !(2..=1224).contains(&id.len()) {
        return Some(format!(
            "is {} characters; an external id must be 2 to 1224",
            id.len()
        ));
    }
    id.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(*c)))
        .map(|c| format!("contains {c:?}, which STS does not allow in an external id"))
}

/// A short identifier used inside derived names (project, environment, zone, job).
pub fn identifier_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("must start with a lowercase letter".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "contains {c:?}; use lowercase letters, digits and '-'"
        ));
    }
    if name.ends_with('-') || name.contains("--") {
        return Some("must not end with '-' or contain '--'".into());
    }
    None
}

/// AWS's limit on tags per resource.
pub const MAX_TAGS: usize = 50;
/// `mlinfra:env`, `mlinfra:project` and `mlinfra:stack` on every resource.
pub const MLINFRA_TAGS: usize = 3;
pub const MAX_USER_TAGS: usize = MAX_TAGS - MLINFRA_TAGS;

/// SageMaker's limits on a training job's hyperparameters.
pub const MAX_HYPERPARAMETERS: usize = 100;
pub const MAX_HYPERPARAMETER_KEY: usize = 256;
pub const MAX_HYPERPARAMETER_VALUE: usize = 2500;

/// Instance counts are 32-bit signed integers in SageMaker (`InitialInstanceCount`)
/// and Application Auto Scaling (`MinCapacity`/`MaxCapacity`).
pub const MAX_VARIANT_INSTANCES: u32 = i32::MAX as u32;

/// SageMaker's limits on an endpoint config's variants: at most ten
/// production variants; a shadow variant (at most one) only beside exactly
/// one production variant.
pub const MAX_PRODUCTION_VARIANTS: usize = 10;
pub const MAX_SHADOW_VARIANTS: usize = 1;

/// The bounds of an endpoint's `DeploymentConfig` (SageMaker API reference:
/// BlueGreenUpdatePolicy, TrafficRoutingConfig, AutoRollbackConfig).
pub const MAX_DEPLOYMENT_WAIT_SECONDS: u64 = 3600;
pub const MIN_DEPLOYMENT_TIMEOUT_SECONDS: u64 = 600;
pub const MAX_DEPLOYMENT_TIMEOUT_SECONDS: u64 = 28_800;
/// A canary is at most half the variant's capacity; a linear step 10–50 %.
pub const MAX_CANARY_PERCENT: u32 = 50;
pub const LINEAR_STEP_PERCENT: std::ops::RangeInclusive<u32> = 10..=50;
pub const MAX_ROLLBACK_ALARMS: usize = 10;

/// CloudWatch alarm periods: 10, 20, 30 or any multiple of 60 seconds; the
/// evaluation window (period × periods) at most one day.
pub fn alarm_period_problem(seconds: u64, periods: u32) -> Option<String> {
    if !(matches!(seconds, 10 | 20 | 30) || (seconds >= 60 && seconds.is_multiple_of(60))) {
        return Some(format!(
            "{seconds} s is not a CloudWatch alarm period (10, 20, 30 s or a multiple of 60 s)"
        ));
    }
    if periods == 0 {
        return Some("evaluation_periods must be at least 1".into());
    }
    if seconds * u64::from(periods) > 86_400 {
        return Some(format!(
            "{periods} periods of {seconds} s are more than CloudWatch's one day of evaluation"
        ));
    }
    None
}

/// A tag AWS accepts: key 1–128 and value 0–256 characters of letters,
/// digits, spaces and `_ . : / = + - @`; `aws:` is AWS's own and `mlinfra:`
/// this tool's.
pub fn tag_problem(key: &str, value: &str) -> Option<String> {
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    let lower = key.to_ascii_lowercase();
    if lower.starts_with("aws:") || lower.starts_with("mlinfra:") {
        return Some("tag keys starting with aws: or mlinfra: are reserved".into());
    }
    let key_chars = key.chars().count();
    if key_chars == 0 || key_chars > 128 {
        return Some(format!(
            "tag keys must be 1 to 128 characters, this one has {key_chars}"
        ));
    }
    let value_chars = value.chars().count();
    if value_chars > 256 {
        return Some(format!(
            "tag values must be at most 256 characters, this one has {value_chars}"
        ));
    }
    if let Some(c) = key.chars().find(|c| !allowed(*c)) {
        return Some(format!(
            "the key contains {c:?}; AWS tags allow letters, digits, spaces and _ . : / = + - @"
        ));
    }
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        return Some(format!(
            "the value contains {c:?}; AWS tags allow letters, digits, spaces and _ . : / = + - @"
        ));
    }
    None
}

/// A location inside the data lake becomes an S3 key and, in the execution
/// role's policies, part of an IAM resource ARN, where `*` and `?` are
/// wildcards and `${…}` a policy variable: `models/*` would grant the whole
/// bucket. Control characters are not valid in either.
pub fn s3_location_problem(text: &str) -> Option<String> {
    if let Some(c) = text.chars().find(|c| *c == '*' || *c == '?') {
        return Some(format!(
            "contains {c:?}, which IAM reads as a wildcard (granting more than this location); write the exact prefix or object"
        ));
    }
    if text.contains("${") {
        return Some(
            "contains \"${\", which IAM reads as a policy variable; write the exact prefix or object"
                .into(),
        );
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Some(format!(
            "contains the control character {c:?}; S3 locations are single-line text"
        ));
    }
    None
}

/// An AWS service principal: `name.amazonaws.com`, with DNS labels of
/// lowercase letters, digits and `-` (no wildcards, no account or ARN).
pub fn is_service_principal(principal: &str) -> bool {
    let Some(service) = principal.strip_suffix(".amazonaws.com") else {
        return false;
    };
    !service.is_empty()
        && service.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rules() {
        assert_eq!(bucket_name_problem("ok-bucket.name"), None);
        assert!(bucket_name_problem("ab").is_some());
        assert!(bucket_name_problem("Upper").is_some());
        assert!(bucket_name_problem("a..b").is_some());
        assert!(bucket_name_problem("192.168.5.4").is_some());
        assert!(bucket_name_problem("xn--bucket").is_some());
        assert!(bucket_name_problem("bucket-s3alias").is_some());
        assert!(bucket_name_problem(&"a".repeat(64)).is_some());
    }

    #[test]
    fn tags_follow_aws_rules() {
        assert_eq!(tag_problem("cost-center", "cc-1234"), None);
        assert_eq!(tag_problem("Team Name", "ML platform: é/ü @ 1+1=2"), None);
        assert!(tag_problem("aws:x", "v").unwrap().contains("reserved"));
        assert!(tag_problem("k", "a\"}").unwrap().contains("'\"'"));
        assert!(tag_problem("k", "line\nbreak").is_some());
        assert!(tag_problem("a*", "v").is_some());
        assert!(tag_problem(&"k".repeat(129), "v").unwrap().contains("129"));
        assert!(tag_problem("k", &"v".repeat(257)).unwrap().contains("257"));
    }

    #[test]
    fn s3_locations_carry_no_wildcards_or_variables() {
        assert_eq!(s3_location_problem("models/dogbreed/model.tar.gz"), None);
        assert!(
            s3_location_problem("models/*")
                .unwrap()
                .contains("wildcard")
        );
        assert!(s3_location_problem("raw/a?b/").is_some());
        assert!(
            s3_location_problem("raw/${aws:username}/")
                .unwrap()
                .contains("variable")
        );
        assert!(s3_location_problem("raw/a\nb/").is_some());
    }

    #[test]
    fn service_principals_have_the_aws_shape() {
        assert!(is_service_principal("lambda.amazonaws.com"));
        assert!(is_service_principal("states.us-east-1.amazonaws.com"));
        for bad in [
            "*.amazonaws.com",
            ".amazonaws.com",
            "amazonaws.com",
            "lambda.amazonaws.com.evil.com",
            "arn:aws:iam::123456789012:root",
            "Lambda.amazonaws.com",
            "a..b.amazonaws.com",
        ] {
            assert!(!is_service_principal(bad), "{bad}");
        }
    }

    #[test]
    fn sagemaker_and_iam_rules() {
        assert_eq!(sagemaker_name_problem("dogbreed-prod-x1"), None);
        assert!(sagemaker_name_problem("bad_name").is_some());
        assert!(sagemaker_name_problem("-bad").is_some());
        assert!(iam_role_name_problem(&"r".repeat(65)).is_some());
        assert_eq!(iam_role_name_problem("a+b=c,d.e@f_g-h"), None);
    }
}
