//! S3 writes of mlinfra itself: training code packages, and the mlinfra
//! binary the delivery pipeline's builds run.

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
    put_object_once(
        s3,
        &Object {
            bucket,
            key,
            kms_key,
            content_type: "application/gzip",
            metadata: &[],
        },
        bytes,
    )
    .await
}

/// A template too large to send inline, for CloudFormation to read by URL.
/// Its key carries the template's hash, so a rewrite is the same content.
pub async fn put_template(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    text: &str,
) -> Result<(), AwsError> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(text.as_bytes().to_vec().into())
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("PutObject", e))?;
    Ok(())
}

/// Where and how an object is written.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    pub bucket: &'a str,
    /// Carries the content's hash: an existing object is this content.
    pub key: &'a str,
    pub kms_key: &'a str,
    pub content_type: &'a str,
    pub metadata: &'a [(&'a str, &'a str)],
}

/// Puts `bytes` as `object` unless an object is already at its key.
/// Returns whether it uploaded.
pub async fn put_object_once(
    s3: &aws_sdk_s3::Client,
    object: &Object<'_>,
    bytes: &[u8],
) -> Result<bool, AwsError> {
    let Object {
        bucket,
        key,
        kms_key,
        content_type,
        metadata,
    } = *object;
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
        .content_type(content_type)
        .set_metadata((!metadata.is_empty()).then(|| {
            metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(kms_key)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("PutObject", e))?;
    Ok(true)
}

/// Whether the bucket exists and this account may read it (`HeadBucket`):
/// `false` when S3 answers that there is no such bucket.
pub async fn bucket_exists(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<bool, AwsError> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) => Err(AwsError::from_sdk("HeadBucket", e)),
    }
}

/// A bucket's versioning state, for drift.
pub async fn versioning(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput, AwsError> {
    s3.get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("GetBucketVersioning", e))
}

/// A bucket's default encryption, for drift.
pub async fn encryption(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput, AwsError> {
    s3.get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("GetBucketEncryption", e))
}

/// A bucket's public access block, for drift.
pub async fn public_access_block(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput, AwsError> {
    s3.get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("GetPublicAccessBlock", e))
}
