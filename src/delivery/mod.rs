//! Delivery into an environment's account: the IAM policy a build or a
//! person needs to plan, apply and check drift (`policy`), and the bootstrap
//! stack that creates the deploy role and CloudFormation's execution role,
//! whose policy is generated from what mlinfra renders (`bootstrap`).
//! Synchronous and pure: the commands deploy what is built here.

pub mod bootstrap;
pub mod pipeline;
pub mod policy;
pub mod tools;
