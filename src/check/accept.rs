//! Accepted findings: `[accepted_findings]` in an environment's config maps
//! `RULE` (every finding of the rule) or `RULE@LogicalId` (one resource) to a
//! written reason. Accepted findings stay in the report, with their reason,
//! but never fail the run. A key that matches nothing is itself a finding
//! (ACC001), so acceptances cannot outlive the problem they excused.

use serde::Serialize;

use super::Finding;
use super::rule::{RuleId, UnknownRule};
use crate::config::Env;

/// A finding and, when the configuration accepts it, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reviewed {
    #[serde(flatten)]
    pub finding: Finding,
    pub accepted: Option<Accepted>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// The `[accepted_findings]` key that matched.
    pub key: String,
    pub reason: String,
}

/// One parsed `[accepted_findings]` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptanceKey {
    pub rule: RuleId,
    pub logical_id: Option<String>,
}

impl AcceptanceKey {
    pub fn parse(key: &str) -> Result<Self, UnknownRule> {
        let (rule, logical_id) = match key.split_once('@') {
            Some((rule, id)) => (rule, Some(id.to_string())),
            None => (key, None),
        };
        Ok(Self {
            rule: rule.trim().parse()?,
            logical_id,
        })
    }

    fn matches(&self, finding: &Finding) -> bool {
        self.rule == finding.rule
            && self
                .logical_id
                .as_ref()
                .is_none_or(|id| finding.logical_id.as_ref() == Some(id))
    }
}

/// Applies the environment's acceptances to its findings and adds an ACC001
/// finding for every key that matched none. The most specific key wins
/// (`RULE@LogicalId` over `RULE`); ACC001 itself cannot be accepted.
pub fn review(env: &Env, findings: Vec<Finding>) -> Vec<Reviewed> {
    let keys: Vec<(&String, &String, Result<AcceptanceKey, UnknownRule>)> = env
        .accepted_findings
        .iter()
        .map(|(key, reason)| (key, reason, AcceptanceKey::parse(key)))
        .collect();
    let mut used = vec![false; keys.len()];
    let mut reviewed: Vec<Reviewed> = findings
        .into_iter()
        .map(|finding| {
            let best = keys
                .iter()
                .enumerate()
                .filter(|(_, (_, _, parsed))| {
                    parsed
                        .as_ref()
                        .is_ok_and(|k| finding.rule != RuleId::Acc001 && k.matches(&finding))
                })
                .max_by_key(|(_, (_, _, parsed))| {
                    parsed.as_ref().is_ok_and(|k| k.logical_id.is_some())
                });
            let accepted = best.map(|(i, (key, reason, _))| {
                used[i] = true;
                Accepted {
                    key: (*key).clone(),
                    reason: (*reason).clone(),
                }
            });
            // A broader key that also matches is in use too: it is not stale.
            for (i, (_, _, parsed)) in keys.iter().enumerate() {
                if parsed
                    .as_ref()
                    .is_ok_and(|k| finding.rule != RuleId::Acc001 && k.matches(&finding))
                {
                    used[i] = true;
                }
            }
            Reviewed { finding, accepted }
        })
        .collect();
    for ((key, _, parsed), used) in keys.iter().zip(used) {
        if used {
            continue;
        }
        let message = match parsed {
            Err(unknown) => format!("accepted finding {key:?} names {unknown}"),
            Ok(k) if k.rule == RuleId::Acc001 => {
                format!("accepted finding {key:?}: ACC001 cannot be accepted")
            }
            Ok(_) => format!("accepted finding {key:?} matches no finding of this environment"),
        };
        reviewed.push(Reviewed {
            finding: Finding::new(RuleId::Acc001, env, None, None, message),
            accepted: None,
        });
    }
    reviewed
}
