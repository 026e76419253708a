//! `plan` and `apply` against AWS: end to end against moto's server, and
//! fault injection with aws-smithy-mocks. One test binary, so the AWS SDK is
//! linked once for all of them.

mod support;

mod door;

mod emulator;

mod faults;

mod accounts;
mod guards;

mod buildspec;

mod fleet;
mod lifecycle;
mod pipeline;
