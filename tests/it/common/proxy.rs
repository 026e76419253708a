//! A fault-injecting HTTP proxy in front of the emulator: requests pass to
//! moto unchanged unless a rule matches their AWS operation, and then the
//! proxy answers for AWS — throttling, a server error — or drops the
//! connection, or holds the request as an outage would. Rules can wait to
//! be armed until another operation went through (an outage that starts
//! once `ExecuteChangeSet` was sent), so a fault lands mid-follow.
//!
//! One request per connection (`Connection: close` both ways), plain
//! threads: a test harness needs no more, and the SDK opens a connection
//! again as a real client would after a dropped one.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 with AWS's `Throttling` error: retried with backoff by the SDK.
    Throttle,
    /// HTTP 503 `ServiceUnavailable`: a transient server error.
    ServerError,
    /// The connection is closed without an answer.
    Drop,
    /// No answer until the proxy is dropped (or two minutes pass).
    Hang,
    /// HTTP 400 with this AWS error code and message (a refusal no retry
    /// changes, such as a change set made obsolete by another operation).
    Refuse(&'static str, &'static str),
}

#[derive(Debug, Clone)]
pub struct Rule {
    /// The AWS operation (`DescribeStacks`), as the request names it.
    pub operation: String,
    pub fault: Fault,
    /// How many matching requests get the fault; `None`: every one.
    pub times: Option<usize>,
    /// Only once a request of this operation has been forwarded.
    pub armed_by: Option<String>,
}

impl Rule {
    pub fn new(operation: &str, fault: Fault) -> Self {
        Self {
            operation: operation.to_string(),
            fault,
            times: None,
            armed_by: None,
        }
    }

    pub fn times(mut self, times: usize) -> Self {
        self.times = Some(times);
        self
    }

    pub fn after(mut self, operation: &str) -> Self {
        self.armed_by = Some(operation.to_string());
        self
    }
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    /// Every operation seen, with what happened to it.
    log: Vec<(String, Option<Fault>)>,
}

pub struct Proxy {
    pub port: u16,
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// A proxy in front of `upstream_port` on the loopback interface.
    pub fn start(upstream_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_state, accept_stop) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (state, stop) = (accept_state.clone(), accept_stop.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, upstream_port, &state, &stop);
                });
            }
        });
        Self {
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            state,
            stop,
        }
    }

    pub fn add(&self, rule: Rule) {
        self.state.lock().unwrap().rules.push(rule);
    }

    /// Every rule removed: requests pass again (a held one stays held).
    pub fn heal(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// How many requests of `operation` got `fault` (`None`: forwarded).
    pub fn count(&self, operation: &str, fault: Option<Fault>) -> usize {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|(op, f)| op == operation && *f == fault)
            .count()
    }

    /// Waits until a request of `operation` met `fault`; panics after `timeout`.
    pub fn wait_for(&self, operation: &str, fault: Option<Fault>, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.count(operation, fault) == 0 {
            assert!(
                Instant::now() < deadline,
                "no {operation} request met {fault:?} within {timeout:?}; seen: {:?}",
                self.state.lock().unwrap().log
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }

    /// The AWS operation: `Action=` of the query protocol (CloudFormation,
    /// STS, IAM), `X-Amz-Target` of the JSON protocol, else method and path.
    fn operation(&self) -> String {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().unwrap_or(target).to_string();
        }
        let body = String::from_utf8_lossy(&self.body);
        body.split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .map(str::to_string)
            .unwrap_or_else(|| self.head[0].clone())
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in &self.head {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
                continue;
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let mut request = Request {
        head,
        body: Vec::new(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    request.body = vec![0; length];
    reader.read_exact(&mut request.body)?;
    Ok(Some(request))
}

fn decide(state: &Mutex<State>, operation: &str) -> Option<Fault> {
    let mut state = state.lock().unwrap();
    let seen: Vec<String> = state
        .log
        .iter()
        .filter(|(_, f)| f.is_none())
        .map(|(op, _)| op.clone())
        .collect();
    let fault = state.rules.iter_mut().find_map(|rule| {
        let armed = rule.armed_by.as_ref().is_none_or(|by| seen.contains(by));
        if rule.operation != operation || !armed || rule.times == Some(0) {
            return None;
        }
        if let Some(times) = &mut rule.times {
            *times -= 1;
        }
        Some(rule.fault)
    });
    state.log.push((operation.to_string(), fault));
    fault
}

fn error_response(status: &str, code: &str, message: &str) -> Vec<u8> {
    let body = format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error>\
         <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>fault-proxy</RequestId></ErrorResponse>"
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn serve(
    client: TcpStream,
    upstream_port: u16,
    state: &Mutex<State>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    match decide(state, &request.operation()) {
        Some(Fault::Throttle) => {
            client.write_all(&error_response(
                "400 Bad Request",
                "Throttling",
                "Rate exceeded",
            ))?;
        }
        Some(Fault::ServerError) => {
            client.write_all(&error_response(
                "503 Service Unavailable",
                "ServiceUnavailable",
                "Service is unavailable",
            ))?;
        }
        Some(Fault::Refuse(code, message)) => {
            client.write_all(&error_response("400 Bad Request", code, message))?;
        }
        Some(Fault::Drop) => {}
        Some(Fault::Hang) => {
            let until = Instant::now() + Duration::from_secs(120);
            while !stop.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        None => {
            let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
            upstream.write_all(&request.bytes())?;
            let mut response = Vec::new();
            upstream.read_to_end(&mut response)?;
            client.write_all(&close_after(response))?;
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// The upstream response with `Connection: close`: the client opens a new
/// connection for its next request.
fn close_after(response: Vec<u8>) -> Vec<u8> {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response;
    };
    let head = String::from_utf8_lossy(&response[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response[end + 4..]);
    bytes
}
