//! What mlinfra knows about each SageMaker instance type: the
//! `mlinfra-instances` crate (`crates/instances`).

pub use mlinfra_instances::*;
