//! A location inside the data lake, shared by the environment and the parts
//! of it that name data (training channels, serving's captured data, the
//! policies that grant access to them).

use serde::{Deserialize, Serialize};

/// A location inside the data lake: `curated/dog-images/` → zone `curated`, prefix `dog-images/`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct S3Location {
    pub zone: String,
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}
