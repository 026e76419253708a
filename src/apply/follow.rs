//! Following one stack operation to its end: its events as they come (only
//! this operation's, by client request token and by the event marker taken
//! before it started), then its final status and, on failure, the first
//! resource that failed and why.

use super::progress::Progress;
use crate::cloud::Cfn;
use crate::cloud::cfn::{EventInfo, WaitError, status};
use crate::cloud::poll::{self, Waited};

/// Which events belong to the operation being followed.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    /// The `ClientRequestToken` given to the call that started it.
    pub token: Option<String>,
    /// The newest event before it started: only later events are shown.
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: String,
    pub status_reason: Option<String>,
    pub events: Vec<EventInfo>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        !status::failed(&self.status) && !status::in_progress(&self.status)
    }

    /// The first resource that failed, skipping the stack itself and the
    /// resources CloudFormation merely cancelled because of it.
    pub fn first_failure(&self, stack: &str) -> Option<&EventInfo> {
        let cancelled =
            |e: &&EventInfo| e.reason.as_deref().is_some_and(|r| r.contains("cancelled"));
        self.events
            .iter()
            .filter(|e| e.is_failure() && e.logical_id != stack)
            .find(|e| !cancelled(e))
            .or_else(|| {
                self.events
                    .iter()
                    .find(|e| e.is_failure() && e.logical_id != stack)
            })
    }
}

/// Polls events and status until the stack leaves every `*_IN_PROGRESS`
/// status. `lookup` is the stack's name, or its id for a stack being deleted
/// (deleted stacks are found by id only).
pub async fn follow(
    cfn: &Cfn,
    stack: &str,
    lookup: &str,
    operation: &Operation,
    progress: &Progress,
) -> Result<Outcome, WaitError> {
    let after = std::cell::RefCell::new(operation.after.clone());
    let seen = std::cell::RefCell::new(Vec::new());
    let current = std::cell::RefCell::new(String::new());
    let waited = poll::until(&cfn.poll(), || async {
        let info = cfn.describe_stack(lookup).await?;
        // Events after the status: none of this operation's can be missed.
        let marker = after.borrow().clone();
        for event in cfn.events_after(lookup, marker.as_deref()).await? {
            *after.borrow_mut() = Some(event.id.clone());
            // Without tokens on events (as from an emulator), the marker alone decides.
            let ours = match (&operation.token, &event.client_request_token) {
                (Some(mine), Some(theirs)) => mine == theirs,
                _ => true,
            };
            if ours {
                progress.event(stack, &event);
                seen.borrow_mut().push(event);
            }
        }
        let (status, reason) = match info {
            Some(info) => (info.status, info.status_reason),
            None => ("DELETE_COMPLETE".to_string(), None),
        };
        // REVIEW_IN_PROGRESS: a create change set was executed and has not started yet.
        let done = !status::in_progress(&status) && status != "REVIEW_IN_PROGRESS";
        *current.borrow_mut() = status.clone();
        Ok::<_, WaitError>(done.then_some((status, reason)))
    })
    .await?;
    match waited {
        Waited::Ready((status, status_reason)) => Ok(Outcome {
            status,
            status_reason,
            events: seen.into_inner(),
        }),
        Waited::TimedOut(waited) => Err(WaitError::TimedOut {
            what: format!("stack {stack} ({})", current.borrow()),
            waited,
        }),
    }
}
