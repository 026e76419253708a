//! One model of a rendered (or deployed) CloudFormation template, for every
//! step that reads one — check, plan, drift, diff and cost:
//!
//! - `resource`: the template and its resources by type;
//! - `refs`: references between resources (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::ImportValue`);
//! - `intrinsic`: what a value is before deployment (`Fn::Join`, `Fn::Sub`,
//!   `Fn::Select`, `Fn::Split` evaluated, `Fn::If` read as both branches);
//! - `iam`: the one IAM `Statement` type and its documents;
//! - `catalogue`: create-only properties and stateful resource types;
//! - `ids`: the variant resource id, names from ARNs, the pipeline definition;
//! - `diff`: the structural differ;
//! - `canonical`: the canonical form and its hash (`Canonical`): sorted keys, 2-space indent.

pub mod catalogue;
pub mod diff;
pub mod iam;
pub mod ids;
pub mod intrinsic;
pub mod refs;
mod resource;
pub mod value;

pub mod canonical;
pub use canonical::{Canonical, sort_keys};
pub use resource::{Resource, Template};
