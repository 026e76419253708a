//! AWS naming rules and catalogues: each check returns what is wrong, in words
//! a user can act on, or `None`.

use aws_sdk_sagemaker::types::{ProductionVariantInstanceType, TrainingInstanceType};

/// Commercial-partition regions (`arn:aws:`); other partitions are not supported.
pub const REGIONS: &[&str] = &[
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1",
    "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
    "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
    "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
];

const GPU_FAMILIES: &[&str] = &["g4dn", "g5", "g6", "g6e", "g7", "g7e"];

/// `ml.g4dn.xlarge` → `g4dn`.
pub fn instance_family(instance_type: &str) -> &str {
    instance_type.split('.').nth(1).unwrap_or("")
}

/// GPU families: g4dn, g5, g6, g6e, g7, g7e and the p2–p6 lines.
pub fn is_gpu_instance(instance_type: &str) -> bool {
    let family = instance_family(instance_type);
    GPU_FAMILIES.contains(&family)
        || (family.starts_with('p') && family[1..].starts_with(|c: char| c.is_ascii_digit()))
}

pub fn is_training_instance(instance_type: &str) -> bool {
    TrainingInstanceType::values().contains(&instance_type)
}

pub fn is_serving_instance(instance_type: &str) -> bool {
    ProductionVariantInstanceType::values().contains(&instance_type)
}

/// Training instance types close to a mistyped one, to suggest in the error.
pub fn similar_training_instances(instance_type: &str) -> Vec<&'static str> {
    let family = instance_family(instance_type);
    TrainingInstanceType::values()
        .iter()
        .copied()
        .filter(|t| !family.is_empty() && instance_family(t) == family)
        .take(6)
        .collect()
}

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
            return Some(format!("must not start with the reserved prefix {prefix:?}"));
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
        return Some(format!("is {} characters; SageMaker names must be 1 to 63", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return Some(format!("contains {c:?}; SageMaker names use only letters, digits and '-'"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must begin and end with a letter or digit".into());
    }
    None
}

/// IAM role names: at most 64 of `[A-Za-z0-9+=,.@_-]`.
pub fn iam_role_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 64 {
        return Some(format!("is {} characters; IAM role names must be 1 to 64", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        return Some(format!("contains {c:?}, which IAM role names do not allow"));
    }
    None
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
        return Some(format!("contains {c:?}; use lowercase letters, digits and '-'"));
    }
    if name.ends_with('-') || name.contains("--") {
        return Some("must not end with '-' or contain '--'".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_families_are_recognised() {
        for t in ["ml.g4dn.xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge", "ml.p4d.24xlarge", "ml.g6e.xlarge"] {
            assert!(is_gpu_instance(t), "{t}");
        }
        for t in ["ml.m5.large", "ml.c5.xlarge", "ml.trn1.2xlarge", "ml.inf2.xlarge"] {
            assert!(!is_gpu_instance(t), "{t}");
        }
    }

    #[test]
    fn the_sdk_catalogue_knows_common_types() {
        assert!(is_training_instance("ml.g4dn.xlarge"));
        assert!(!is_training_instance("ml.g4dn.huge"));
        assert!(is_serving_instance("ml.m5.large"));
    }

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
    fn sagemaker_and_iam_rules() {
        assert_eq!(sagemaker_name_problem("dogbreed-prod-x1"), None);
        assert!(sagemaker_name_problem("bad_name").is_some());
        assert!(sagemaker_name_problem("-bad").is_some());
        assert!(iam_role_name_problem(&"r".repeat(65)).is_some());
        assert_eq!(iam_role_name_problem("a+b=c,d.e@f_g-h"), None);
    }
}

/// Instance types with local NVMe storage, on which SageMaker rejects a volume
/// KMS key (the storage is hardware-encrypted instead).
pub fn has_instance_storage(instance_type: &str) -> bool {
    let family = instance_family(instance_type);
    family.ends_with('d')
        || family.ends_with("dn")
        || family.ends_with("de")
        || matches!(family, "g5" | "g6" | "g6e" | "g7" | "g7e" | "p5" | "p5e" | "p5en" | "p6" | "trn1" | "trn1n" | "trn2")
}
