//! One error type for every failed AWS call: the operation, AWS's error code
//! and message, nothing of the SDK's generic types.

use std::fmt::Debug;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, thiserror::Error)]
#[error("AWS {operation} failed{}: {message}{}",
    code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
    self.advice().map(|a| format!("; {a}")).unwrap_or_default())]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

/// Codes AWS uses for throttling; the SDK has retried these already.
const THROTTLING: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

impl AwsError {
    pub fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: Debug + 'static,
    {
        let code = error.code().map(str::to_string);
        let message = match error.message() {
            Some(message) => message.to_string(),
            // Transport failures carry no AWS message: say what failed, in
            // words (each cause's Display), never the SDK's Debug dump.
            None => causes(&error),
        };
        Self {
            operation,
            code,
            message,
        }
    }

    /// What to do about a failure no retry got past, where that is known.
    fn advice(&self) -> Option<&'static str> {
        if self.has_code(&THROTTLING) {
            Some(
                "AWS kept throttling the calls through every retry; run the command again in a few minutes",
            )
        } else if self.code.is_none() {
            Some(
                "AWS could not be reached or did not answer through every retry; check the network (and --endpoint-url) and run the command again",
            )
        } else if self.code.as_deref().is_some_and(|c| {
            c.starts_with("ServiceUnavailable") || c == "InternalFailure" || c == "InternalError"
        }) {
            Some(
                "AWS answered with a server error through every retry; run the command again later",
            )
        } else {
            None
        }
    }

    /// Whether AWS answered with one of these error codes.
    pub fn has_code(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }

    /// CloudFormation answers a lookup of an unknown stack with a plain
    /// `ValidationError` "Stack with id X does not exist".
    pub fn is_stack_not_found(&self) -> bool {
        self.code.as_deref() == Some("ValidationError") && self.message.contains("does not exist")
    }
}

/// An error and its causes in words, each once: "dispatch failure: io error:
/// connection refused".
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Io;
    impl std::fmt::Display for Io {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connection refused")
        }
    }
    impl std::error::Error for Io {}

    #[derive(Debug)]
    struct Dispatch(Io);
    impl std::fmt::Display for Dispatch {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("dispatch failure")
        }
    }
    impl std::error::Error for Dispatch {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_failure_reads_as_operation_code_message_and_what_to_do() {
        let unreachable = AwsError {
            operation: "DescribeStacks",
            code: None,
            message: causes(&Dispatch(Io)),
        };
        assert_eq!(
            unreachable.to_string(),
            "AWS DescribeStacks failed: dispatch failure: connection refused; AWS could not be reached or did \
             not answer through every retry; check the network (and --endpoint-url) and run the command again"
        );
        let throttled = AwsError {
            operation: "DescribeStackEvents",
            code: Some("Throttling".into()),
            message: "Rate exceeded".into(),
        };
        assert!(throttled.to_string().starts_with(
            "AWS DescribeStackEvents failed (Throttling): Rate exceeded; AWS kept throttling"
        ));
        let denied = AwsError {
            operation: "GetTemplate",
            code: Some("AccessDenied".into()),
            message: "no".into(),
        };
        assert_eq!(
            denied.to_string(),
            "AWS GetTemplate failed (AccessDenied): no"
        );
    }
}
