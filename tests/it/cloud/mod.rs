//! `plan` and `apply` against AWS: end to end against moto's server, and
//! fault injection with aws-smithy-mocks. One test binary, so the AWS SDK is
//! linked once for all of them.

use crate::common;

use crate::common::moto;

mod support;

mod emulator;

mod faults;
