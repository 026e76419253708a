//! The data stack: the environment's KMS key and its S3 data lake, as
//! `templates/data.json.tera` arranges them. Everything here is stateful, so
//! every resource is retained when deleted or replaced.

use super::{Obj, Stack, StackParts, checkov_skip, deny_insecure_transport, header};
use crate::render::model::ZoneModel;

pub(super) fn write(stack: &Stack<'_>, o: &mut Obj<'_>) {
    let model = stack.model;
    let env = model.env;
    let lake = &env.data_lake;
    header(stack, o);
    o.obj("Outputs", |o| {
        o.obj("AccessLogBucketName", |o| {
            o.str("Description", "Bucket receiving S3 server access logs")
                .reference("Value", "AccessLogBucket");
        })
        .obj("KeyAlias", |o| {
            o.str("Description", "Alias of the data key")
                .reference("Value", "DataKeyAlias");
        })
        .obj("KeyArn", |o| {
            o.str("Description", "ARN of the data key")
                .obj("Export", |o| {
                    o.str("Name", &model.exports.key_arn);
                })
                .get_att("Value", "DataKey", "Arn");
        });
        for zone in &lake.zones {
            o.obj(&zone.ids.name_output, |o| {
                o.str("Description", &format!("Bucket of the {} zone", zone.name))
                    .reference("Value", &zone.ids.bucket);
            });
        }
    });
    o.obj("Resources", |o| {
        o.obj("AccessLogBucket", |o| {
            retained(o);
            o.obj("Metadata", |o| {
                checkov_skip(
                    o,
                    "CKV_AWS_18",
                    "This bucket receives the access logs of the data-lake buckets; logging it into itself would loop.",
                );
            })
            .obj("Properties", |o| {
                aes256_encryption(o);
                o.str("BucketName", &lake.log_bucket)
                    .obj("LifecycleConfiguration", |o| {
                        o.arr("Rules", |a| {
                            a.obj(|o| {
                                o.obj("AbortIncompleteMultipartUpload", |o| {
                                    o.int("DaysAfterInitiation", lake.abort_incomplete_upload_days);
                                })
                                .int("ExpirationInDays", lake.access_logs_expire_days)
                                .str("Id", "ExpireAccessLogs")
                                .obj("NoncurrentVersionExpiration", |o| {
                                    o.int("NoncurrentDays", lake.noncurrent_versions_expire_days);
                                })
                                .str("Status", "Enabled");
                            });
                        });
                    });
                owner_enforced_and_private(o);
                o.tags(&stack.fields.tags);
                versioned(o);
            })
            .str("Type", "AWS::S3::Bucket")
            .str("UpdateReplacePolicy", "Retain");
        });
        o.obj("AccessLogBucketPolicy", |o| {
            o.obj("Properties", |o| {
                o.reference("Bucket", "AccessLogBucket")
                    .policy_document("PolicyDocument", |a| {
                        deny_insecure_transport(a, "s3:*", |o| {
                            o.strs(
                                "Resource",
                                &[&model.data.log_bucket_arn, &model.data.log_objects_arn],
                            );
                        });
                        a.obj(|o| {
                            o.str("Action", "s3:PutObject")
                                .source_account(&env.account_id, |o| {
                                    o.obj("ArnLike", |o| {
                                        o.arr("aws:SourceArn", |a| {
                                            for zone in &model.data.zones {
                                                a.str(&zone.bucket_arn);
                                            }
                                        });
                                    });
                                })
                                .str("Effect", "Allow")
                                .obj("Principal", |o| {
                                    o.str("Service", "logging.s3.amazonaws.com");
                                })
                                .str("Resource", &model.data.log_objects_arn)
                                .str("Sid", "AllowS3ServerAccessLogs");
                        });
                    });
            })
            .str("Type", "AWS::S3::BucketPolicy");
        });
        o.obj("DataKey", |o| {
            retained(o);
            o.obj("Properties", |o| {
                o.str(
                    "Description",
                    &format!(
                        "Encrypts the {} data lake, training volumes and endpoint storage",
                        model.prefix
                    ),
                )
                .bool("EnableKeyRotation", true)
                .policy_document("KeyPolicy", |a| {
                    a.obj(|o| {
                        o.str("Action", "kms:*")
                            .str("Effect", "Allow")
                            .obj("Principal", |o| {
                                o.str("AWS", &model.data.account_root_arn);
                            })
                            .str("Resource", "*")
                            .str("Sid", "AccountAdministersKeyThroughIam");
                    });
                    if model.alarm_topic.is_some() {
                        a.obj(|o| {
                            o.strs("Action", &["kms:Decrypt", "kms:GenerateDataKey"])
                                .source_account(&env.account_id, |_| {})
                                .str("Effect", "Allow")
                                .obj("Principal", |o| {
                                    o.str("Service", "cloudwatch.amazonaws.com");
                                })
                                .str("Resource", "*")
                                .str("Sid", "CloudWatchAlarmsPublishToTheEncryptedTopic");
                        });
                    }
                })
                .int("PendingWindowInDays", 30)
                .tags(&stack.fields.tags);
            })
            .str("Type", "AWS::KMS::Key")
            .str("UpdateReplacePolicy", "Retain");
        });
        o.obj("DataKeyAlias", |o| {
            retained(o);
            o.obj("Properties", |o| {
                o.str("AliasName", &lake.key_alias)
                    .reference("TargetKeyId", "DataKey");
            })
            .str("Type", "AWS::KMS::Alias")
            .str("UpdateReplacePolicy", "Retain");
        });
        for item in &model.data.zones {
            zone_bucket(stack, item, o);
            zone_policy(item, o);
        }
    });
}

fn zone_bucket(stack: &Stack<'_>, item: &ZoneModel<'_>, o: &mut Obj<'_>) {
    let lake = &stack.model.env.data_lake;
    let zone = item.zone;
    o.obj(&zone.ids.bucket, |o| {
        retained(o);
        o.str("DependsOn", "AccessLogBucketPolicy")
            .obj("Properties", |o| {
                o.obj("BucketEncryption", |o| {
                    o.arr("ServerSideEncryptionConfiguration", |a| {
                        a.obj(|o| {
                            o.bool("BucketKeyEnabled", true).obj(
                                "ServerSideEncryptionByDefault",
                                |o| {
                                    o.get_att("KMSMasterKeyID", "DataKey", "Arn")
                                        .str("SSEAlgorithm", "aws:kms");
                                },
                            );
                        });
                    });
                })
                .str("BucketName", &zone.bucket)
                .obj("LifecycleConfiguration", |o| {
                    o.arr("Rules", |a| {
                        // tera reads a zero as false: no tiering rule then.
                        if let Some(days) = zone.glacier_after_days.filter(|d| *d != 0) {
                            a.obj(|o| {
                                o.str("Id", "TierToGlacier").str("Status", "Enabled").arr(
                                    "Transitions",
                                    |a| {
                                        a.obj(|o| {
                                            o.str("StorageClass", "GLACIER")
                                                .int("TransitionInDays", days);
                                        });
                                    },
                                );
                            });
                        }
                        a.obj(|o| {
                            o.obj("AbortIncompleteMultipartUpload", |o| {
                                o.int("DaysAfterInitiation", lake.abort_incomplete_upload_days);
                            })
                            .str("Id", "ExpireNoncurrentVersions")
                            .obj("NoncurrentVersionExpiration", |o| {
                                o.int("NoncurrentDays", lake.noncurrent_versions_expire_days);
                            })
                            .str("Status", "Enabled");
                        });
                    });
                })
                .obj("LoggingConfiguration", |o| {
                    o.reference("DestinationBucketName", "AccessLogBucket")
                        .str("LogFilePrefix", &item.log_prefix);
                });
                owner_enforced_and_private(o);
                o.tags(&stack.fields.tags);
                versioned(o);
            })
            .str("Type", "AWS::S3::Bucket")
            .str("UpdateReplacePolicy", "Retain");
    });
}

fn zone_policy(item: &ZoneModel<'_>, o: &mut Obj<'_>) {
    o.obj(&item.zone.ids.policy, |o| {
        o.obj("Properties", |o| {
            o.reference("Bucket", &item.zone.ids.bucket)
                .policy_document("PolicyDocument", |a| {
                    deny_insecure_transport(a, "s3:*", |o| {
                        o.strs("Resource", &[&item.bucket_arn, &item.objects_arn]);
                    });
                });
        })
        .str("Type", "AWS::S3::BucketPolicy");
    });
}

/// The first half of a retained resource's policies (`UpdateReplacePolicy`
/// follows `Type`).
fn retained(o: &mut Obj<'_>) {
    o.str("DeletionPolicy", "Retain");
}

fn aes256_encryption(o: &mut Obj<'_>) {
    o.obj("BucketEncryption", |o| {
        o.arr("ServerSideEncryptionConfiguration", |a| {
            a.obj(|o| {
                o.obj("ServerSideEncryptionByDefault", |o| {
                    o.str("SSEAlgorithm", "AES256");
                });
            });
        });
    });
}

fn owner_enforced_and_private(o: &mut Obj<'_>) {
    o.obj("OwnershipControls", |o| {
        o.arr("Rules", |a| {
            a.obj(|o| {
                o.str("ObjectOwnership", "BucketOwnerEnforced");
            });
        });
    })
    .obj("PublicAccessBlockConfiguration", |o| {
        o.bool("BlockPublicAcls", true)
            .bool("BlockPublicPolicy", true)
            .bool("IgnorePublicAcls", true)
            .bool("RestrictPublicBuckets", true);
    });
}

fn versioned(o: &mut Obj<'_>) {
    o.obj("VersioningConfiguration", |o| {
        o.str("Status", "Enabled");
    });
}
