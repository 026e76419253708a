//! S3 writes of mlinfra itself: training code packages.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::AwsError;

/// Puts `bytes` at `bucket/key` encrypted with `kms_key` unless an object is
/// already there: a package's key carries its content hash, so an existing
/// object is this package. Returns whether it uploaded.
#[tracing::instrument(level = "debug", skip(s3, bytes, kms_key), fields(size = bytes.len()))]
pub async fn put_once(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    kms_key: &str,
) -> Result<bool, AwsError> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => return Ok(false),
        Err(e) => {
            let missing = e.as_service_error().is_some_and(|s| s.is_not_found());
            if !missing {
                return Err(AwsError::from_sdk("HeadObject", e));
            }
        }
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes.to_vec()))
        .content_type("application/gzip")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(kms_key)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("PutObject", e))?;
    Ok(true)
}
