//! A moto server (the AWS emulator pinned in the project's venv) of its own
//! for a test: started on a free loopback port, waited for until it answers,
//! stopped when dropped. Missing tools fail the test loudly, never skip it.
//!
//! It runs `scripts/moto-server.py`: moto's own server with its
//! CloudFormation gaps filled through moto's own service code (see that
//! file); everything else is stock moto. A stock `moto_server` is refused
//! before any test runs against it: without the launcher's fixes the stacks
//! fail to deploy with misleading errors ("No export named …") and drift
//! reports the emulator's gaps. The launcher answers `GET /mlinfra-emulator`
//! and marks every response with the `x-mlinfra-emulator` header.
//!
//! Each server is forked, with moto's empty state, from one launcher per
//! test binary started with `--fork-server`: the imports and fixes take over
//! a second of CPU, paid once instead of once per test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::common::{Cli, repo_root, venv_tool};

pub const ACCOUNT: &str = "123456789012";
/// The launcher, as it names itself in its marker.
pub const LAUNCHER: &str = "scripts/moto-server.py";
const MARKER_PATH: &str = "/mlinfra-emulator";
const MARKER_HEADER: &str = "x-mlinfra-emulator";
pub const REGION: &str = "us-east-1";

pub struct Moto {
    process: Process,
    pub port: u16,
    pub endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A bare HTTP/1.0 request: the harness needs no HTTP client of its own.
fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, response))
}

/// The SDK's loader for an emulator (or a proxy in front of one) at
/// `endpoint`, in `region`, with test credentials.
pub fn sdk_loader(endpoint: &str, region: &str) -> aws_config::ConfigLoader {
    mlinfra::cloud::sdk_defaults()
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
}

/// Whether the server on `port` is the project's launcher: its marker
/// endpoint answers and names it, with the marker header. The error says
/// what to run instead.
pub fn check_launcher(port: u16) -> Result<(), String> {
    match http(port, "GET", MARKER_PATH) {
        Some((200, response))
            if response.contains(LAUNCHER)
                && response
                    .lines()
                    .any(|l| l.to_ascii_lowercase().starts_with(MARKER_HEADER)) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "the AWS emulator on 127.0.0.1:{port} is not the project's launcher {LAUNCHER} \
             (GET {MARKER_PATH} does not answer): a stock moto_server lacks the CloudFormation \
             fixes mlinfra's stacks need. Start `.venv/bin/python {LAUNCHER} -p PORT` instead"
        )),
    }
}

impl Moto {
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// `env`: extra settings of the server, such as
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES=true` for AWS managed policies. The
    /// server comes from the launcher's fork server: the same launcher,
    /// started in milliseconds instead of a second of imports.
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the moto log");
        let log = dir.path().join("moto.log");
        let port = free_port();
        let pid = ForkServer::shared().start(port, env, &log);
        let moto = Self::ready(Process::Forked(pid), port, log, dir);
        if let Err(message) = check_launcher(moto.port) {
            panic!("{message}\n{}", moto.log_text());
        }
        moto
    }

    /// Plain `moto_server`, without the launcher: only to show that the
    /// harness refuses it.
    pub fn start_stock() -> Self {
        Self::spawn(&mut Command::new(venv_tool("moto_server")))
    }

    fn spawn(command: &mut Command) -> Self {
        // Fails loudly when the venv is missing.
        venv_tool("moto_server");
        let dir = tempfile::tempdir().expect("temp dir for the moto log");
        let log = dir.path().join("moto.log");
        let port = free_port();
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ACCOUNT_ID", ACCOUNT)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("moto log file"))
            .spawn()
            .expect("start moto_server from the venv");
        Self::ready(Process::Own(child), port, log, dir)
    }

    /// Waits until the server on `port` answers; fails when it exits first.
    fn ready(process: Process, port: u16, log: PathBuf, dir: tempfile::TempDir) -> Self {
        let mut moto = Moto {
            process,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some((200, _)) = http(port, "GET", "/moto-api/") {
                return moto;
            }
            if let Some(status) = moto.process.exited() {
                panic!(
                    "moto_server exited ({status}) before answering:\n{}",
                    moto.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port} within 60 s:\n{}",
                moto.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An SDK configuration pointed at this server, with test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        self.sdk_loader(REGION).load().await
    }

    /// The SDK's loader for this server in `region`, with test credentials,
    /// for a test to add its own settings before loading.
    pub fn sdk_loader(&self, region: &str) -> aws_config::ConfigLoader {
        sdk_loader(&self.endpoint, region)
    }

    /// An S3 client of this server: path-style, since `127.0.0.1:port` has
    /// no per-bucket host names.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fake credentials and the emulator's endpoint, for a child process.
    /// Profile files point nowhere so the machine's own AWS setup cannot leak in.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_SESSION_TOKEN", "testing".into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials".into(),
            ),
            ("NO_COLOR", "1".into()),
        ]
    }

    /// The `mlinfra` binary, set up to talk to this server with test
    /// credentials only, on `project`.
    pub fn cli(&self, project: &std::path::Path) -> Cli {
        Cli::new()
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_REGION")
            .envs(self.env())
            .args([std::ffi::OsStr::new("--project"), project.as_os_str()])
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        match &mut self.process {
            Process::Own(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Process::Forked(pid) => ForkServer::shared().stop(*pid),
        }
    }
}

/// A server process: started for the test alone, or by the fork server.
enum Process {
    Own(Child),
    Forked(u32),
}

impl Process {
    /// How it ended, once it has.
    fn exited(&mut self) -> Option<String> {
        match self {
            Process::Own(child) => child.try_wait().ok().flatten().map(|s| s.to_string()),
            Process::Forked(pid) => {
                let status = ForkServer::shared().ask(&format!("status {pid}"));
                status.starts_with("exited").then_some(status)
            }
        }
    }
}

/// The launcher run once per test binary with `--fork-server`: it imports
/// moto and applies its fixes once, then forks a fresh server per test
/// (see the launcher). It stops every server it started when this process
/// exits and its standard input closes.
struct ForkServer {
    requests: ChildStdin,
    answers: BufReader<ChildStdout>,
    _process: Child,
}

impl ForkServer {
    fn shared() -> std::sync::MutexGuard<'static, ForkServer> {
        static SHARED: OnceLock<Mutex<ForkServer>> = OnceLock::new();
        SHARED
            .get_or_init(|| Mutex::new(ForkServer::spawn()))
            .lock()
            // A test that panicked mid-request leaves nothing half-sent.
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn spawn() -> Self {
        venv_tool("moto_server");
        let mut process = Command::new(venv_tool("python"))
            .arg(repo_root().join(LAUNCHER))
            .arg("--fork-server")
            .env("MOTO_ACCOUNT_ID", ACCOUNT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the launcher's fork server from the venv");
        ForkServer {
            requests: process.stdin.take().expect("piped stdin"),
            answers: BufReader::new(process.stdout.take().expect("piped stdout")),
            _process: process,
        }
    }

    /// The answer to one request; `None` when the fork server is gone.
    fn try_ask(&mut self, request: &str) -> Option<String> {
        writeln!(self.requests, "{request}").ok()?;
        let mut answer = String::new();
        match self.answers.read_line(&mut answer) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(answer.trim_end().to_string()),
        }
    }

    fn ask(&mut self, request: &str) -> String {
        self.try_ask(request)
            .unwrap_or_else(|| panic!("the fork server exited before answering {request:?}"))
    }

    fn start(&mut self, port: u16, env: &[(&str, &str)], log: &Path) -> u32 {
        let settings = if env.is_empty() {
            "-".to_string()
        } else {
            env.iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let answer = self.ask(&format!("start {port} {settings} {}", log.display()));
        answer
            .parse()
            .unwrap_or_else(|_| panic!("the fork server did not start a server: {answer}"))
    }

    /// Stops a server; quietly, since it runs while a failed test unwinds.
    fn stop(&mut self, pid: u32) {
        let _ = self.try_ask(&format!("stop {pid}"));
    }
}
