//! Where AWS serves its own framework images (the Deep Learning Containers
//! SageMaker's training and inference images come from): one account in the
//! long-standing regions, an account of its own in each later one. The
//! SageMaker Python SDK resolves `image_uris.retrieve` with the same map.

const FRAMEWORK_ACCOUNTS: &[(&str, &str)] = &[
    ("af-south-1", "626614931356"),
    ("ap-east-1", "871362719292"),
    ("ap-east-2", "975050140332"),
    ("ap-northeast-1", "763104351884"),
    ("ap-northeast-2", "763104351884"),
    ("ap-northeast-3", "364406365360"),
    ("ap-south-1", "763104351884"),
    ("ap-south-2", "772153158452"),
    ("ap-southeast-1", "763104351884"),
    ("ap-southeast-2", "763104351884"),
    ("ap-southeast-3", "907027046896"),
    ("ap-southeast-4", "457447274322"),
    ("ap-southeast-5", "550225433462"),
    ("ap-southeast-7", "590183813437"),
    ("ca-central-1", "763104351884"),
    ("ca-west-1", "204538143572"),
    ("cn-north-1", "727897471807"),
    ("cn-northwest-1", "727897471807"),
    ("eu-central-1", "763104351884"),
    ("eu-central-2", "380420809688"),
    ("eu-north-1", "763104351884"),
    ("eu-south-1", "692866216735"),
    ("eu-south-2", "503227376785"),
    ("eu-west-1", "763104351884"),
    ("eu-west-2", "763104351884"),
    ("eu-west-3", "763104351884"),
    ("il-central-1", "780543022126"),
    ("me-central-1", "914824155844"),
    ("me-south-1", "217643126080"),
    ("mx-central-1", "637423239942"),
    ("sa-east-1", "763104351884"),
    ("us-east-1", "763104351884"),
    ("us-east-2", "763104351884"),
    ("us-west-1", "763104351884"),
    ("us-west-2", "763104351884"),
];

/// The account serving AWS's framework images in `region`, where known.
pub fn framework_account(region: &str) -> Option<&'static str> {
    FRAMEWORK_ACCOUNTS
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, account)| *account)
}

/// Whether `account` is one AWS serves framework images from.
pub fn is_framework_account(account: &str) -> bool {
    FRAMEWORK_ACCOUNTS.iter().any(|(_, a)| *a == account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_regions_serve_framework_images_from_accounts_of_their_own() {
        assert_eq!(framework_account("eu-west-1"), Some("763104351884"));
        assert_eq!(framework_account("af-south-1"), Some("626614931356"));
        assert_eq!(framework_account("nowhere-1"), None);
        assert!(is_framework_account("217643126080"));
        assert!(!is_framework_account("123456789012"));
    }
}
