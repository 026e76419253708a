//! The one way mlinfra waits for an asynchronous AWS operation (a change set
//! being computed, a stack operation, drift detection, a pipeline execution):
//! ask, sleep a growing interval, give up at a deadline.

use std::future::Future;
use std::time::Duration;

/// How long to wait between polls, and for how long at most.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    pub first: Duration,
    pub max: Duration,
    pub timeout: Duration,
}

impl Default for Poll {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(5),
            timeout: Duration::from_secs(3 * 3600),
        }
    }
}

impl Poll {
    /// The next interval: grows by half up to `max`, so short operations answer
    /// fast and long ones do not flood the API.
    pub fn next(&self, current: Duration) -> Duration {
        (current + current / 2).min(self.max)
    }
}

/// How a wait ended without an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Waited<T> {
    Ready(T),
    /// The deadline passed first; how long was waited.
    TimedOut(Duration),
}

/// Calls `check` until it answers `Some`, sleeping between calls; `check`
/// reports progress itself. An error from `check` ends the wait at once.
pub async fn until<T, E, F, Fut>(poll: &Poll, mut check: F) -> Result<Waited<T>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    let started = tokio::time::Instant::now();
    let mut interval = poll.first;
    loop {
        if let Some(done) = check().await? {
            return Ok(Waited::Ready(done));
        }
        let elapsed = started.elapsed();
        if elapsed >= poll.timeout {
            return Ok(Waited::TimedOut(elapsed));
        }
        tokio::time::sleep(interval.min(poll.timeout - elapsed)).await;
        interval = poll.next(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn answers_as_soon_as_ready_and_gives_up_at_the_deadline() {
        let poll = Poll {
            first: Duration::from_secs(1),
            max: Duration::from_secs(4),
            timeout: Duration::from_secs(10),
        };
        let mut calls = 0;
        let ready: Result<_, ()> = until(&poll, || {
            calls += 1;
            let answer = (calls == 3).then_some(calls);
            async move { Ok(answer) }
        })
        .await;
        assert_eq!(ready, Ok(Waited::Ready(3)));

        let mut calls = 0;
        let never: Result<Waited<()>, ()> = until(&poll, || {
            calls += 1;
            async { Ok(None) }
        })
        .await;
        // At 0, 1, 2.5, 4.75, 8.125 s, and last at the deadline, 10 s.
        assert_eq!(never, Ok(Waited::TimedOut(Duration::from_secs(10))));
        assert_eq!(calls, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_ends_the_wait() {
        let result: Result<Waited<()>, &str> =
            until(&Poll::default(), || async { Err("AccessDenied") }).await;
        assert_eq!(result, Err("AccessDenied"));
    }
}
