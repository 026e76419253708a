//! One error type for every failed AWS call: the operation, AWS's error code
//! and message, nothing of the SDK's generic types.

use std::fmt::Debug;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, thiserror::Error)]
#[error("AWS {operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    pub fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: Debug,
    {
        let code = error.code().map(str::to_string);
        let message = match error.message() {
            Some(message) => message.to_string(),
            // Transport failures carry no AWS message: show the whole chain.
            None => DisplayErrorContext(&error).to_string(),
        };
        Self {
            operation,
            code,
            message,
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
