//! `--debug` and `MLINFRA_LOG`: `tracing` output on stderr — mlinfra's own
//! spans and events and the AWS SDK's (requests, retries, credentials,
//! endpoint resolution). Off by default: with no subscriber installed every
//! `tracing` call site is a disabled-callsite check and nothing more.

use tracing_subscriber::EnvFilter;

/// Read when set, whether or not `--debug` is given: a filter in the
/// `RUST_LOG` syntax (`aws_smithy_runtime=trace,mlinfra=debug`).
pub const FILTER_VAR: &str = "MLINFRA_LOG";

/// `--debug` alone: everything at debug level, except the HTTP and TLS
/// layers under the SDK, whose per-frame lines bury the requests themselves.
pub const DEBUG_FILTER: &str = "debug,hyper=info,hyper_util=info,h2=info,rustls=info,tower=info";

#[derive(Debug, thiserror::Error)]
#[error(
    "{FILTER_VAR}: {source} (expected a filter such as `debug` or `mlinfra=debug,aws_smithy_runtime=trace`)"
)]
pub struct FilterError {
    source: tracing_subscriber::filter::ParseError,
}

/// Which filter this run uses, if any: `MLINFRA_LOG` wins over `--debug`.
pub fn filter(debug: bool, var: Option<&str>) -> Result<Option<EnvFilter>, FilterError> {
    match var.filter(|v| !v.trim().is_empty()) {
        Some(spec) => EnvFilter::try_new(spec)
            .map(Some)
            .map_err(|source| FilterError { source }),
        None if debug => Ok(Some(EnvFilter::new(DEBUG_FILTER))),
        None => Ok(None),
    }
}

/// Installs the stderr subscriber when `filter` asks for one. Reports keep
/// stdout to themselves: tracing lines never go there.
pub fn install(filter: Option<EnvFilter>) {
    let Some(filter) = filter else { return };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_asked_and_the_variable_wins() {
        assert!(filter(false, None).unwrap().is_none());
        assert!(filter(false, Some("  ")).unwrap().is_none());
        assert_eq!(
            filter(true, None).unwrap().unwrap().to_string(),
            EnvFilter::new(DEBUG_FILTER).to_string()
        );
        assert_eq!(
            filter(true, Some("mlinfra=trace"))
                .unwrap()
                .unwrap()
                .to_string(),
            "mlinfra=trace"
        );
        let error = filter(false, Some("mlinfra=loud")).unwrap_err().to_string();
        assert!(error.starts_with("MLINFRA_LOG: "), "{error}");
    }
}
