//! Whether the AWS endpoint answers at all, asked once before the first call:
//! the SDK retries a refused connection with backoff for most of a minute,
//! silently, before it gives up.

use std::time::Duration;

/// How long a TCP connection may take to open.
const CONNECT: Duration = Duration::from_secs(3);

/// The endpoint the first call goes to: `--endpoint-url`, `AWS_ENDPOINT_URL`,
/// else the regional STS endpoint.
pub fn first_endpoint(endpoint_url: Option<&str>, region: &str) -> String {
    endpoint_url
        .map(str::to_string)
        .or_else(|| {
            std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|u| !u.is_empty())
        })
        .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"))
}

/// `host:port` of an `http(s)://host[:port][/path]` URL.
fn authority(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host_port = rest.split(['/', '?', '#']).next()?;
    let host_port = host_port.rsplit('@').next()?;
    if host_port.is_empty() {
        return None;
    }
    let has_port = match host_port.rfind(':') {
        Some(i) => !host_port[i..].contains(']'),
        None => false,
    };
    Some(if has_port {
        host_port.to_string()
    } else {
        let port = if scheme.eq_ignore_ascii_case("http") {
            80
        } else {
            443
        };
        format!("{host_port}:{port}")
    })
}

/// The first endpoint did not answer (a refusal of the guard).
#[derive(Debug, thiserror::Error)]
#[error("cannot reach {url}: {reason}{hint}")]
pub struct Unreachable {
    pub url: String,
    pub reason: String,
    pub hint: &'static str,
}

/// Opens one TCP connection to the first endpoint and closes it.
pub async fn reachable(endpoint_url: Option<&str>, region: &str) -> Result<(), Unreachable> {
    let url = first_endpoint(endpoint_url, region);
    let Some(address) = authority(&url) else {
        return Err(Unreachable {
            url,
            reason: "not an http:// or https:// URL with a host".into(),
            hint: "",
        });
    };
    let custom = endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let hint = if custom {
        " (is the emulator or endpoint running? check --endpoint-url and AWS_ENDPOINT_URL)"
    } else {
        " (check the network, a proxy, or the region)"
    };
    match tokio::time::timeout(CONNECT, tokio::net::TcpStream::connect(&address)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Unreachable {
            url,
            reason: e.to_string(),
            hint,
        }),
        Err(_) => Err(Unreachable {
            url,
            reason: format!("no answer within {} s", CONNECT.as_secs()),
            hint,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_of_an_endpoint_url() {
        assert_eq!(
            authority("http://127.0.0.1:5000").as_deref(),
            Some("127.0.0.1:5000")
        );
        assert_eq!(
            authority("https://sts.us-east-1.amazonaws.com").as_deref(),
            Some("sts.us-east-1.amazonaws.com:443")
        );
        assert_eq!(
            authority("http://localhost/x").as_deref(),
            Some("localhost:80")
        );
        assert_eq!(
            authority("http://[::1]:4566").as_deref(),
            Some("[::1]:4566")
        );
        assert_eq!(authority("localhost:4566"), None);
    }
}
