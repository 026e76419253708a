//! The `[network]` table against EC2's id shapes and SageMaker's `VpcConfig`
//! limits (botocore: 1–16 subnets, 1–5 security groups).

use std::collections::BTreeSet;

use super::super::locate::KeyPath;
use super::super::network::{Network, S3Access, id_problem};
use super::super::raw::RawNetwork;
use super::Checker;

const MAX_SUBNETS: usize = 16;
const MAX_SECURITY_GROUPS: usize = 5;

/// A list of ids with a prefix and a count limit; duplicates are errors
/// (SageMaker would attach one interface per listed subnet).
fn ids(
    c: &mut Checker,
    path: &KeyPath,
    list: Option<&Vec<String>>,
    prefix: &str,
    max: usize,
    what: &str,
) -> Vec<String> {
    let Some(list) = c.required(&list.cloned(), path) else {
        return Vec::new();
    };
    if list.is_empty() || list.len() > max {
        c.fail(
            path,
            format!("expected 1 to {max} {what}, got {}", list.len()),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, id) in list.iter().enumerate() {
        if let Some(problem) = id_problem(id, prefix) {
            c.fail(&path.index(i), problem);
        } else if !seen.insert(id.as_str()) {
            c.fail(&path.index(i), format!("{id:?} is listed twice"));
        }
    }
    list
}

pub(super) fn network(c: &mut Checker, raw: Option<&RawNetwork>) -> Option<Network> {
    let raw = raw?;
    let path = KeyPath::root().key("network");
    let before = c.errors.len();
    let subnets = ids(
        c,
        &path.key("subnets"),
        raw.subnets.as_ref(),
        "subnet-",
        MAX_SUBNETS,
        "subnets",
    );
    let security_groups = ids(
        c,
        &path.key("security_groups"),
        raw.security_groups.as_ref(),
        "sg-",
        MAX_SECURITY_GROUPS,
        "security groups",
    );
    let s3 = match (&raw.s3_endpoint, &raw.s3_route) {
        (Some(_), Some(_)) => {
            c.fail(
                &path.key("s3_route"),
                "write either s3_endpoint (the VPC's S3 gateway endpoint) or s3_route = \"nat\", not both",
            );
            None
        }
        (Some(id), None) => match id_problem(id, "vpce-") {
            Some(problem) => {
                c.fail(&path.key("s3_endpoint"), problem);
                None
            }
            None => Some(S3Access::Endpoint(id.clone())),
        },
        (None, Some(route)) if route == "nat" => Some(S3Access::Nat),
        (None, Some(route)) => {
            c.fail(
                &path.key("s3_route"),
                format!("expected \"nat\" (the subnets reach S3 through a NAT or internet gateway), got {route:?}"),
            );
            None
        }
        (None, None) => None,
    };
    (c.errors.len() == before).then_some(Network {
        subnets,
        security_groups,
        s3,
    })
}
