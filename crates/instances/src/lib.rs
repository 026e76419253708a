//! What mlinfra knows about SageMaker instance types: which ones SageMaker
//! accepts for training and for endpoints (the SDK's enums), their families,
//! and per type its vCPUs (SageMaker's endpoint `CPUUtilization` is summed
//! over them, so a per-instance percentage is multiplied by this count) and
//! local storage (NVMe-only types get no EBS volume, so their storage size is
//! fixed and a volume KMS key is refused).
//!
//! The figures are EC2's for the same instance size (SageMaker's `ml.` types
//! run on them). A test checks that every type of the SDK's
//! `ProductionVariantInstanceType` and `TrainingInstanceType` enums is here,
//! so an SDK update that adds types fails until they are described.
//!
//! A crate of its own, pure data over the SDK's enums: see the workspace
//! manifest for why.

use std::fmt;

use aws_sdk_sagemaker::types::{ProductionVariantInstanceType, TrainingInstanceType};

/// The storage an instance brings with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalStorage {
    /// No instance storage: SageMaker attaches an EBS volume of the requested size.
    Ebs,
    /// Local NVMe SSDs of this total size; SageMaker attaches no EBS volume.
    Nvme { gb: u32 },
    /// Local NVMe whose size EC2 does not publish in its instance-type catalogue.
    NvmeUnlisted,
}

impl LocalStorage {
    pub fn is_local(self) -> bool {
        !matches!(self, LocalStorage::Ebs)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceSpec {
    pub name: &'static str,
    pub vcpus: u32,
    pub storage: LocalStorage,
}

impl fmt::Display for InstanceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} vCPUs)", self.name, self.vcpus)
    }
}

const fn spec(name: &'static str, vcpus: u32, storage: LocalStorage) -> InstanceSpec {
    InstanceSpec {
        name,
        vcpus,
        storage,
    }
}

/// The spec of an instance type, if mlinfra knows it.
pub fn lookup(instance_type: &str) -> Option<&'static InstanceSpec> {
    CATALOGUE
        .binary_search_by(|s| s.name.cmp(instance_type))
        .ok()
        .map(|i| &CATALOGUE[i])
}

/// vCPUs of a known instance type.
pub fn vcpus(instance_type: &str) -> Option<u32> {
    lookup(instance_type).map(|s| s.vcpus)
}

/// The instance's own storage, `Ebs` for types mlinfra does not know
/// (validation has rejected those before anything is rendered).
pub fn local_storage(instance_type: &str) -> LocalStorage {
    lookup(instance_type).map_or(LocalStorage::Ebs, |s| s.storage)
}

use LocalStorage::{Ebs, Nvme, NvmeUnlisted};

/// Sorted by name (binary search). Types EC2's catalogue lacks are filled in
/// from their launch announcements: dl1.24xlarge (96 vCPUs, 4 × 1,000 GB
/// NVMe), p2 and p3 (EBS only), p6e-gb200.36xlarge (144 vCPUs, NVMe).
pub static CATALOGUE: &[InstanceSpec] = &[
    spec("ml.c4.2xlarge", 8, Ebs),
    spec("ml.c4.4xlarge", 16, Ebs),
    spec("ml.c4.8xlarge", 36, Ebs),
    spec("ml.c4.large", 2, Ebs),
    spec("ml.c4.xlarge", 4, Ebs),
    spec("ml.c5.18xlarge", 72, Ebs),
    spec("ml.c5.2xlarge", 8, Ebs),
    spec("ml.c5.4xlarge", 16, Ebs),
    spec("ml.c5.9xlarge", 36, Ebs),
    spec("ml.c5.large", 2, Ebs),
    spec("ml.c5.xlarge", 4, Ebs),
    spec("ml.c5d.18xlarge", 72, Nvme { gb: 1800 }),
    spec("ml.c5d.2xlarge", 8, Nvme { gb: 200 }),
    spec("ml.c5d.4xlarge", 16, Nvme { gb: 400 }),
    spec("ml.c5d.9xlarge", 36, Nvme { gb: 900 }),
    spec("ml.c5d.large", 2, Nvme { gb: 50 }),
    spec("ml.c5d.xlarge", 4, Nvme { gb: 100 }),
    spec("ml.c5n.18xlarge", 72, Ebs),
    spec("ml.c5n.2xlarge", 8, Ebs),
    spec("ml.c5n.4xlarge", 16, Ebs),
    spec("ml.c5n.9xlarge", 36, Ebs),
    spec("ml.c5n.xlarge", 4, Ebs),
    spec("ml.c6g.12xlarge", 48, Ebs),
    spec("ml.c6g.16xlarge", 64, Ebs),
    spec("ml.c6g.2xlarge", 8, Ebs),
    spec("ml.c6g.4xlarge", 16, Ebs),
    spec("ml.c6g.8xlarge", 32, Ebs),
    spec("ml.c6g.large", 2, Ebs),
    spec("ml.c6g.xlarge", 4, Ebs),
    spec("ml.c6gd.12xlarge", 48, Nvme { gb: 2850 }),
    spec("ml.c6gd.16xlarge", 64, Nvme { gb: 3800 }),
    spec("ml.c6gd.2xlarge", 8, Nvme { gb: 474 }),
    spec("ml.c6gd.4xlarge", 16, Nvme { gb: 950 }),
    spec("ml.c6gd.8xlarge", 32, Nvme { gb: 1900 }),
    spec("ml.c6gd.large", 2, Nvme { gb: 118 }),
    spec("ml.c6gd.xlarge", 4, Nvme { gb: 237 }),
    spec("ml.c6gn.12xlarge", 48, Ebs),
    spec("ml.c6gn.16xlarge", 64, Ebs),
    spec("ml.c6gn.2xlarge", 8, Ebs),
    spec("ml.c6gn.4xlarge", 16, Ebs),
    spec("ml.c6gn.8xlarge", 32, Ebs),
    spec("ml.c6gn.large", 2, Ebs),
    spec("ml.c6gn.xlarge", 4, Ebs),
    spec("ml.c6i.12xlarge", 48, Ebs),
    spec("ml.c6i.16xlarge", 64, Ebs),
    spec("ml.c6i.24xlarge", 96, Ebs),
    spec("ml.c6i.2xlarge", 8, Ebs),
    spec("ml.c6i.32xlarge", 128, Ebs),
    spec("ml.c6i.4xlarge", 16, Ebs),
    spec("ml.c6i.8xlarge", 32, Ebs),
    spec("ml.c6i.large", 2, Ebs),
    spec("ml.c6i.xlarge", 4, Ebs),
    spec("ml.c6in.12xlarge", 48, Ebs),
    spec("ml.c6in.16xlarge", 64, Ebs),
    spec("ml.c6in.24xlarge", 96, Ebs),
    spec("ml.c6in.2xlarge", 8, Ebs),
    spec("ml.c6in.32xlarge", 128, Ebs),
    spec("ml.c6in.4xlarge", 16, Ebs),
    spec("ml.c6in.8xlarge", 32, Ebs),
    spec("ml.c6in.large", 2, Ebs),
    spec("ml.c6in.xlarge", 4, Ebs),
    spec("ml.c7g.12xlarge", 48, Ebs),
    spec("ml.c7g.16xlarge", 64, Ebs),
    spec("ml.c7g.2xlarge", 8, Ebs),
    spec("ml.c7g.4xlarge", 16, Ebs),
    spec("ml.c7g.8xlarge", 32, Ebs),
    spec("ml.c7g.large", 2, Ebs),
    spec("ml.c7g.xlarge", 4, Ebs),
    spec("ml.c7i-flex.12xlarge", 48, Ebs),
    spec("ml.c7i-flex.16xlarge", 64, Ebs),
    spec("ml.c7i-flex.2xlarge", 8, Ebs),
    spec("ml.c7i-flex.4xlarge", 16, Ebs),
    spec("ml.c7i-flex.8xlarge", 32, Ebs),
    spec("ml.c7i-flex.xlarge", 4, Ebs),
    spec("ml.c7i.12xlarge", 48, Ebs),
    spec("ml.c7i.16xlarge", 64, Ebs),
    spec("ml.c7i.24xlarge", 96, Ebs),
    spec("ml.c7i.2xlarge", 8, Ebs),
    spec("ml.c7i.48xlarge", 192, Ebs),
    spec("ml.c7i.4xlarge", 16, Ebs),
    spec("ml.c7i.8xlarge", 32, Ebs),
    spec("ml.c7i.large", 2, Ebs),
    spec("ml.c7i.xlarge", 4, Ebs),
    spec("ml.c8g.12xlarge", 48, Ebs),
    spec("ml.c8g.16xlarge", 64, Ebs),
    spec("ml.c8g.24xlarge", 96, Ebs),
    spec("ml.c8g.2xlarge", 8, Ebs),
    spec("ml.c8g.48xlarge", 192, Ebs),
    spec("ml.c8g.4xlarge", 16, Ebs),
    spec("ml.c8g.8xlarge", 32, Ebs),
    spec("ml.c8g.large", 2, Ebs),
    spec("ml.c8g.medium", 1, Ebs),
    spec("ml.c8g.xlarge", 4, Ebs),
    spec("ml.c8i-flex.12xlarge", 48, Ebs),
    spec("ml.c8i-flex.16xlarge", 64, Ebs),
    spec("ml.c8i-flex.2xlarge", 8, Ebs),
    spec("ml.c8i-flex.4xlarge", 16, Ebs),
    spec("ml.c8i-flex.8xlarge", 32, Ebs),
    spec("ml.c8i-flex.xlarge", 4, Ebs),
    spec("ml.c8i.12xlarge", 48, Ebs),
    spec("ml.c8i.16xlarge", 64, Ebs),
    spec("ml.c8i.24xlarge", 96, Ebs),
    spec("ml.c8i.2xlarge", 8, Ebs),
    spec("ml.c8i.32xlarge", 128, Ebs),
    spec("ml.c8i.48xlarge", 192, Ebs),
    spec("ml.c8i.4xlarge", 16, Ebs),
    spec("ml.c8i.8xlarge", 32, Ebs),
    spec("ml.c8i.96xlarge", 384, Ebs),
    spec("ml.c8i.xlarge", 4, Ebs),
    spec("ml.dl1.24xlarge", 96, Nvme { gb: 4000 }),
    spec("ml.g4dn.12xlarge", 48, Nvme { gb: 900 }),
    spec("ml.g4dn.16xlarge", 64, Nvme { gb: 900 }),
    spec("ml.g4dn.2xlarge", 8, Nvme { gb: 225 }),
    spec("ml.g4dn.4xlarge", 16, Nvme { gb: 225 }),
    spec("ml.g4dn.8xlarge", 32, Nvme { gb: 900 }),
    spec("ml.g4dn.xlarge", 4, Nvme { gb: 125 }),
    spec("ml.g5.12xlarge", 48, Nvme { gb: 3800 }),
    spec("ml.g5.16xlarge", 64, Nvme { gb: 1900 }),
    spec("ml.g5.24xlarge", 96, Nvme { gb: 3800 }),
    spec("ml.g5.2xlarge", 8, Nvme { gb: 450 }),
    spec("ml.g5.48xlarge", 192, Nvme { gb: 7600 }),
    spec("ml.g5.4xlarge", 16, Nvme { gb: 600 }),
    spec("ml.g5.8xlarge", 32, Nvme { gb: 900 }),
    spec("ml.g5.xlarge", 4, Nvme { gb: 250 }),
    spec("ml.g6.12xlarge", 48, Nvme { gb: 3760 }),
    spec("ml.g6.16xlarge", 64, Nvme { gb: 1880 }),
    spec("ml.g6.24xlarge", 96, Nvme { gb: 3760 }),
    spec("ml.g6.2xlarge", 8, Nvme { gb: 450 }),
    spec("ml.g6.48xlarge", 192, Nvme { gb: 7520 }),
    spec("ml.g6.4xlarge", 16, Nvme { gb: 600 }),
    spec("ml.g6.8xlarge", 32, Nvme { gb: 900 }),
    spec("ml.g6.xlarge", 4, Nvme { gb: 250 }),
    spec("ml.g6e.12xlarge", 48, Nvme { gb: 3800 }),
    spec("ml.g6e.16xlarge", 64, Nvme { gb: 1900 }),
    spec("ml.g6e.24xlarge", 96, Nvme { gb: 3800 }),
    spec("ml.g6e.2xlarge", 8, Nvme { gb: 450 }),
    spec("ml.g6e.48xlarge", 192, Nvme { gb: 7600 }),
    spec("ml.g6e.4xlarge", 16, Nvme { gb: 600 }),
    spec("ml.g6e.8xlarge", 32, Nvme { gb: 900 }),
    spec("ml.g6e.xlarge", 4, Nvme { gb: 250 }),
    spec("ml.g7.12xlarge", 48, Nvme { gb: 1900 }),
    spec("ml.g7.24xlarge", 96, Nvme { gb: 3800 }),
    spec("ml.g7.2xlarge", 8, Nvme { gb: 440 }),
    spec("ml.g7.48xlarge", 192, Nvme { gb: 7600 }),
    spec("ml.g7.4xlarge", 16, Nvme { gb: 875 }),
    spec("ml.g7.8xlarge", 32, Nvme { gb: 930 }),
    spec("ml.g7e.12xlarge", 48, Nvme { gb: 3800 }),
    spec("ml.g7e.24xlarge", 96, Nvme { gb: 7600 }),
    spec("ml.g7e.2xlarge", 8, Nvme { gb: 1900 }),
    spec("ml.g7e.48xlarge", 192, Nvme { gb: 15200 }),
    spec("ml.g7e.4xlarge", 16, Nvme { gb: 1900 }),
    spec("ml.g7e.8xlarge", 32, Nvme { gb: 1900 }),
    spec("ml.inf1.24xlarge", 96, Ebs),
    spec("ml.inf1.2xlarge", 8, Ebs),
    spec("ml.inf1.6xlarge", 24, Ebs),
    spec("ml.inf1.xlarge", 4, Ebs),
    spec("ml.inf2.24xlarge", 96, Ebs),
    spec("ml.inf2.48xlarge", 192, Ebs),
    spec("ml.inf2.8xlarge", 32, Ebs),
    spec("ml.inf2.xlarge", 4, Ebs),
    spec("ml.m4.10xlarge", 40, Ebs),
    spec("ml.m4.16xlarge", 64, Ebs),
    spec("ml.m4.2xlarge", 8, Ebs),
    spec("ml.m4.4xlarge", 16, Ebs),
    spec("ml.m4.xlarge", 4, Ebs),
    spec("ml.m5.12xlarge", 48, Ebs),
    spec("ml.m5.24xlarge", 96, Ebs),
    spec("ml.m5.2xlarge", 8, Ebs),
    spec("ml.m5.4xlarge", 16, Ebs),
    spec("ml.m5.large", 2, Ebs),
    spec("ml.m5.xlarge", 4, Ebs),
    spec("ml.m5d.12xlarge", 48, Nvme { gb: 1800 }),
    spec("ml.m5d.24xlarge", 96, Nvme { gb: 3600 }),
    spec("ml.m5d.2xlarge", 8, Nvme { gb: 300 }),
    spec("ml.m5d.4xlarge", 16, Nvme { gb: 600 }),
    spec("ml.m5d.large", 2, Nvme { gb: 75 }),
    spec("ml.m5d.xlarge", 4, Nvme { gb: 150 }),
    spec("ml.m6g.12xlarge", 48, Ebs),
    spec("ml.m6g.16xlarge", 64, Ebs),
    spec("ml.m6g.2xlarge", 8, Ebs),
    spec("ml.m6g.4xlarge", 16, Ebs),
    spec("ml.m6g.8xlarge", 32, Ebs),
    spec("ml.m6g.large", 2, Ebs),
    spec("ml.m6g.xlarge", 4, Ebs),
    spec("ml.m6gd.12xlarge", 48, Nvme { gb: 2850 }),
    spec("ml.m6gd.16xlarge", 64, Nvme { gb: 3800 }),
    spec("ml.m6gd.2xlarge", 8, Nvme { gb: 474 }),
    spec("ml.m6gd.4xlarge", 16, Nvme { gb: 950 }),
    spec("ml.m6gd.8xlarge", 32, Nvme { gb: 1900 }),
    spec("ml.m6gd.large", 2, Nvme { gb: 118 }),
    spec("ml.m6gd.xlarge", 4, Nvme { gb: 237 }),
    spec("ml.m6i.12xlarge", 48, Ebs),
    spec("ml.m6i.16xlarge", 64, Ebs),
    spec("ml.m6i.24xlarge", 96, Ebs),
    spec("ml.m6i.2xlarge", 8, Ebs),
    spec("ml.m6i.32xlarge", 128, Ebs),
    spec("ml.m6i.4xlarge", 16, Ebs),
    spec("ml.m6i.8xlarge", 32, Ebs),
    spec("ml.m6i.large", 2, Ebs),
    spec("ml.m6i.xlarge", 4, Ebs),
    spec("ml.m7i-flex.12xlarge", 48, Ebs),
    spec("ml.m7i-flex.16xlarge", 64, Ebs),
    spec("ml.m7i-flex.2xlarge", 8, Ebs),
    spec("ml.m7i-flex.4xlarge", 16, Ebs),
    spec("ml.m7i-flex.8xlarge", 32, Ebs),
    spec("ml.m7i-flex.large", 2, Ebs),
    spec("ml.m7i-flex.xlarge", 4, Ebs),
    spec("ml.m7i.12xlarge", 48, Ebs),
    spec("ml.m7i.16xlarge", 64, Ebs),
    spec("ml.m7i.24xlarge", 96, Ebs),
    spec("ml.m7i.2xlarge", 8, Ebs),
    spec("ml.m7i.48xlarge", 192, Ebs),
    spec("ml.m7i.4xlarge", 16, Ebs),
    spec("ml.m7i.8xlarge", 32, Ebs),
    spec("ml.m7i.large", 2, Ebs),
    spec("ml.m7i.xlarge", 4, Ebs),
    spec("ml.m8g.12xlarge", 48, Ebs),
    spec("ml.m8g.16xlarge", 64, Ebs),
    spec("ml.m8g.24xlarge", 96, Ebs),
    spec("ml.m8g.2xlarge", 8, Ebs),
    spec("ml.m8g.48xlarge", 192, Ebs),
    spec("ml.m8g.4xlarge", 16, Ebs),
    spec("ml.m8g.8xlarge", 32, Ebs),
    spec("ml.m8g.large", 2, Ebs),
    spec("ml.m8g.medium", 1, Ebs),
    spec("ml.m8g.xlarge", 4, Ebs),
    spec("ml.m8i-flex.12xlarge", 48, Ebs),
    spec("ml.m8i-flex.16xlarge", 64, Ebs),
    spec("ml.m8i-flex.2xlarge", 8, Ebs),
    spec("ml.m8i-flex.4xlarge", 16, Ebs),
    spec("ml.m8i-flex.8xlarge", 32, Ebs),
    spec("ml.m8i-flex.large", 2, Ebs),
    spec("ml.m8i-flex.xlarge", 4, Ebs),
    spec("ml.m8i.12xlarge", 48, Ebs),
    spec("ml.m8i.16xlarge", 64, Ebs),
    spec("ml.m8i.24xlarge", 96, Ebs),
    spec("ml.m8i.2xlarge", 8, Ebs),
    spec("ml.m8i.32xlarge", 128, Ebs),
    spec("ml.m8i.48xlarge", 192, Ebs),
    spec("ml.m8i.4xlarge", 16, Ebs),
    spec("ml.m8i.8xlarge", 32, Ebs),
    spec("ml.m8i.96xlarge", 384, Ebs),
    spec("ml.m8i.large", 2, Ebs),
    spec("ml.m8i.xlarge", 4, Ebs),
    spec("ml.p2.16xlarge", 64, Ebs),
    spec("ml.p2.8xlarge", 32, Ebs),
    spec("ml.p2.xlarge", 4, Ebs),
    spec("ml.p3.16xlarge", 64, Ebs),
    spec("ml.p3.2xlarge", 8, Ebs),
    spec("ml.p3.8xlarge", 32, Ebs),
    spec("ml.p3dn.24xlarge", 96, Nvme { gb: 1800 }),
    spec("ml.p4d.24xlarge", 96, Nvme { gb: 8000 }),
    spec("ml.p4de.24xlarge", 96, Nvme { gb: 8000 }),
    spec("ml.p5.48xlarge", 192, Nvme { gb: 30400 }),
    spec("ml.p5.4xlarge", 16, Nvme { gb: 3800 }),
    spec("ml.p5e.48xlarge", 192, Nvme { gb: 30400 }),
    spec("ml.p5en.48xlarge", 192, Nvme { gb: 30400 }),
    spec("ml.p6-b200.48xlarge", 192, Nvme { gb: 30400 }),
    spec("ml.p6-b300.48xlarge", 192, Nvme { gb: 30400 }),
    spec("ml.p6e-gb200.36xlarge", 144, NvmeUnlisted),
    spec("ml.r5.12xlarge", 48, Ebs),
    spec("ml.r5.16xlarge", 64, Ebs),
    spec("ml.r5.24xlarge", 96, Ebs),
    spec("ml.r5.2xlarge", 8, Ebs),
    spec("ml.r5.4xlarge", 16, Ebs),
    spec("ml.r5.8xlarge", 32, Ebs),
    spec("ml.r5.large", 2, Ebs),
    spec("ml.r5.xlarge", 4, Ebs),
    spec("ml.r5d.12xlarge", 48, Nvme { gb: 1800 }),
    spec("ml.r5d.16xlarge", 64, Nvme { gb: 2400 }),
    spec("ml.r5d.24xlarge", 96, Nvme { gb: 3600 }),
    spec("ml.r5d.2xlarge", 8, Nvme { gb: 300 }),
    spec("ml.r5d.4xlarge", 16, Nvme { gb: 600 }),
    spec("ml.r5d.8xlarge", 32, Nvme { gb: 1200 }),
    spec("ml.r5d.large", 2, Nvme { gb: 75 }),
    spec("ml.r5d.xlarge", 4, Nvme { gb: 150 }),
    spec("ml.r6g.12xlarge", 48, Ebs),
    spec("ml.r6g.16xlarge", 64, Ebs),
    spec("ml.r6g.2xlarge", 8, Ebs),
    spec("ml.r6g.4xlarge", 16, Ebs),
    spec("ml.r6g.8xlarge", 32, Ebs),
    spec("ml.r6g.large", 2, Ebs),
    spec("ml.r6g.xlarge", 4, Ebs),
    spec("ml.r6gd.12xlarge", 48, Nvme { gb: 2850 }),
    spec("ml.r6gd.16xlarge", 64, Nvme { gb: 3800 }),
    spec("ml.r6gd.2xlarge", 8, Nvme { gb: 474 }),
    spec("ml.r6gd.4xlarge", 16, Nvme { gb: 950 }),
    spec("ml.r6gd.8xlarge", 32, Nvme { gb: 1900 }),
    spec("ml.r6gd.large", 2, Nvme { gb: 118 }),
    spec("ml.r6gd.xlarge", 4, Nvme { gb: 237 }),
    spec("ml.r6i.12xlarge", 48, Ebs),
    spec("ml.r6i.16xlarge", 64, Ebs),
    spec("ml.r6i.24xlarge", 96, Ebs),
    spec("ml.r6i.2xlarge", 8, Ebs),
    spec("ml.r6i.32xlarge", 128, Ebs),
    spec("ml.r6i.4xlarge", 16, Ebs),
    spec("ml.r6i.8xlarge", 32, Ebs),
    spec("ml.r6i.large", 2, Ebs),
    spec("ml.r6i.xlarge", 4, Ebs),
    spec("ml.r7gd.12xlarge", 48, Nvme { gb: 2850 }),
    spec("ml.r7gd.16xlarge", 64, Nvme { gb: 3800 }),
    spec("ml.r7gd.2xlarge", 8, Nvme { gb: 474 }),
    spec("ml.r7gd.4xlarge", 16, Nvme { gb: 950 }),
    spec("ml.r7gd.8xlarge", 32, Nvme { gb: 1900 }),
    spec("ml.r7gd.large", 2, Nvme { gb: 118 }),
    spec("ml.r7gd.medium", 1, Nvme { gb: 59 }),
    spec("ml.r7gd.xlarge", 4, Nvme { gb: 237 }),
    spec("ml.r7i.12xlarge", 48, Ebs),
    spec("ml.r7i.16xlarge", 64, Ebs),
    spec("ml.r7i.24xlarge", 96, Ebs),
    spec("ml.r7i.2xlarge", 8, Ebs),
    spec("ml.r7i.48xlarge", 192, Ebs),
    spec("ml.r7i.4xlarge", 16, Ebs),
    spec("ml.r7i.8xlarge", 32, Ebs),
    spec("ml.r7i.large", 2, Ebs),
    spec("ml.r7i.xlarge", 4, Ebs),
    spec("ml.r8g.12xlarge", 48, Ebs),
    spec("ml.r8g.16xlarge", 64, Ebs),
    spec("ml.r8g.24xlarge", 96, Ebs),
    spec("ml.r8g.2xlarge", 8, Ebs),
    spec("ml.r8g.48xlarge", 192, Ebs),
    spec("ml.r8g.4xlarge", 16, Ebs),
    spec("ml.r8g.8xlarge", 32, Ebs),
    spec("ml.r8g.large", 2, Ebs),
    spec("ml.r8g.medium", 1, Ebs),
    spec("ml.r8g.xlarge", 4, Ebs),
    spec("ml.r8i-flex.12xlarge", 48, Ebs),
    spec("ml.r8i-flex.16xlarge", 64, Ebs),
    spec("ml.r8i-flex.2xlarge", 8, Ebs),
    spec("ml.r8i-flex.4xlarge", 16, Ebs),
    spec("ml.r8i-flex.8xlarge", 32, Ebs),
    spec("ml.r8i-flex.large", 2, Ebs),
    spec("ml.r8i-flex.xlarge", 4, Ebs),
    spec("ml.r8i.12xlarge", 48, Ebs),
    spec("ml.r8i.16xlarge", 64, Ebs),
    spec("ml.r8i.24xlarge", 96, Ebs),
    spec("ml.r8i.2xlarge", 8, Ebs),
    spec("ml.r8i.32xlarge", 128, Ebs),
    spec("ml.r8i.48xlarge", 192, Ebs),
    spec("ml.r8i.4xlarge", 16, Ebs),
    spec("ml.r8i.8xlarge", 32, Ebs),
    spec("ml.r8i.96xlarge", 384, Ebs),
    spec("ml.r8i.large", 2, Ebs),
    spec("ml.r8i.xlarge", 4, Ebs),
    spec("ml.t2.2xlarge", 8, Ebs),
    spec("ml.t2.large", 2, Ebs),
    spec("ml.t2.medium", 2, Ebs),
    spec("ml.t2.xlarge", 4, Ebs),
    spec("ml.t3.2xlarge", 8, Ebs),
    spec("ml.t3.large", 2, Ebs),
    spec("ml.t3.medium", 2, Ebs),
    spec("ml.t3.xlarge", 4, Ebs),
    spec("ml.trn1.2xlarge", 8, Nvme { gb: 474 }),
    spec("ml.trn1.32xlarge", 128, Nvme { gb: 7600 }),
    spec("ml.trn1n.32xlarge", 128, Nvme { gb: 7600 }),
    spec("ml.trn2.48xlarge", 192, Nvme { gb: 7600 }),
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

/// Every SageMaker training instance type, as the SDK lists them.
pub fn training_instances() -> impl Iterator<Item = &'static str> {
    TrainingInstanceType::values().iter().copied()
}

/// Every SageMaker endpoint instance type, as the SDK lists them.
pub fn serving_instances() -> impl Iterator<Item = &'static str> {
    ProductionVariantInstanceType::values().iter().copied()
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

/// Instance types with local NVMe storage, on which SageMaker rejects a volume
/// KMS key (the storage is hardware-encrypted instead).
pub fn has_instance_storage(instance_type: &str) -> bool {
    local_storage(instance_type).is_local()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_and_has_no_duplicates() {
        for pair in CATALOGUE.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} / {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn every_accepted_endpoint_and_training_type_is_described() {
        let missing: Vec<&str> = ProductionVariantInstanceType::values()
            .iter()
            .chain(TrainingInstanceType::values())
            .copied()
            .filter(|t| lookup(t).is_none())
            .collect();
        assert_eq!(missing, Vec::<&str>::new());
    }

    #[test]
    fn every_described_type_is_one_the_sdk_accepts() {
        for spec in CATALOGUE {
            assert!(
                ProductionVariantInstanceType::values().contains(&spec.name)
                    || TrainingInstanceType::values().contains(&spec.name),
                "{} is described but not accepted",
                spec.name
            );
        }
    }

    #[test]
    fn vcpus_follow_the_ec2_sizes_and_their_exceptions() {
        let cases = [
            ("ml.t2.medium", 2),
            ("ml.c8g.medium", 1),
            ("ml.m5.large", 2),
            ("ml.c5.xlarge", 4),
            ("ml.g4dn.xlarge", 4),
            ("ml.p3.2xlarge", 8),
            ("ml.inf1.6xlarge", 24),
            ("ml.c5.9xlarge", 36),
            ("ml.m4.10xlarge", 40),
            ("ml.trn1.32xlarge", 128),
            ("ml.p5.48xlarge", 192),
        ];
        for (name, want) in cases {
            assert_eq!(vcpus(name), Some(want), "{name}");
        }
        assert_eq!(vcpus("ml.m5.huge"), None);
    }

    #[test]
    fn local_nvme_is_known_per_type() {
        assert_eq!(local_storage("ml.g4dn.xlarge"), Nvme { gb: 125 });
        assert_eq!(local_storage("ml.m5d.large"), Nvme { gb: 75 });
        assert_eq!(local_storage("ml.c5d.xlarge"), Nvme { gb: 100 });
        assert_eq!(local_storage("ml.p3dn.24xlarge"), Nvme { gb: 1800 });
        assert_eq!(local_storage("ml.g5.2xlarge"), Nvme { gb: 450 });
        assert_eq!(local_storage("ml.m5.large"), Ebs);
        assert_eq!(local_storage("ml.p3.2xlarge"), Ebs);
        assert_eq!(local_storage("ml.inf2.xlarge"), Ebs);
        assert!(local_storage("ml.p6e-gb200.36xlarge").is_local());
    }

    #[test]
    fn gpu_families_are_recognised() {
        for t in [
            "ml.g4dn.xlarge",
            "ml.g5.2xlarge",
            "ml.p3.2xlarge",
            "ml.p4d.24xlarge",
            "ml.g6e.xlarge",
        ] {
            assert!(is_gpu_instance(t), "{t}");
        }
        for t in [
            "ml.m5.large",
            "ml.c5.xlarge",
            "ml.trn1.2xlarge",
            "ml.inf2.xlarge",
        ] {
            assert!(!is_gpu_instance(t), "{t}");
        }
    }

    #[test]
    fn the_sdk_catalogue_knows_common_types() {
        assert!(is_training_instance("ml.g4dn.xlarge"));
        assert!(!is_training_instance("ml.g4dn.huge"));
        assert!(is_serving_instance("ml.m5.large"));
    }
}
