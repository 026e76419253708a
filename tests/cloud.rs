//! `plan` and `apply` against AWS: end to end against moto's server, and
//! fault injection with aws-smithy-mocks. One test binary, so the AWS SDK is
//! linked once for all of them.

mod common;

#[path = "common/moto.rs"]
mod moto;

#[path = "cloud/support.rs"]
mod support;

#[path = "cloud/emulator.rs"]
mod emulator;

#[path = "cloud/faults.rs"]
mod faults;
