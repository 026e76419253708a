//! Bad input files through the binary, in a throw-away project: each gives
//! exit 1, one clear message naming the file (and, where there is one, the
//! line, column and key), and nothing else — no output on stdout, no file
//! written, the project untouched, and no connection to an AWS endpoint.
//!
//! "Unreadable" is produced by means that hold for every user: these tests
//! may run as root, for whom `chmod 000` does not block a read. A directory
//! named like the file, a symbolic-link loop, a dangling link, a named pipe
//! and a character device each fail (or would hang) at the OS level instead.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::mlinfra_bin;

/// A valid environment, so a fault in another file is the only problem.
const VALID: &str = r#"
[env]
project = "faults"
account_id = "123456789012"
region = "us-east-1"

[data_lake]
zones = ["raw"]
"#;

struct Sandbox {
    dir: tempfile::TempDir,
    /// Stands in for AWS: every SDK client honours AWS_ENDPOINT_URL.
    aws: TcpListener,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        crate::common::copy_example_code(dir.path());
        std::fs::create_dir(dir.path().join("environments")).unwrap();
        let aws = TcpListener::bind("127.0.0.1:0").unwrap();
        aws.set_nonblocking(true).unwrap();
        Self { dir, aws }
    }

    fn env_file(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .join("environments")
            .join(format!("{name}.toml"))
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Self {
        std::fs::write(self.env_file(name), bytes).unwrap();
        self
    }

    /// Every path under the project with its size: what "untouched" compares.
    fn tree(&self) -> Vec<(PathBuf, u64)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for path in entries {
                let meta = std::fs::symlink_metadata(&path).unwrap();
                out.push((path.clone(), if meta.is_file() { meta.len() } else { 0 }));
                if meta.is_dir() {
                    walk(&path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }

    /// Runs `check` and `render --out` on `env` (or `--all`), asserting for both
    /// exit 1, `expected` on stderr, and no other effect. Returns stderr of check.
    fn fails_cleanly(&self, env: Option<&str>, expected: &str) -> String {
        let before = self.tree();
        let build = self.dir.path().join("build");
        let selection: Vec<&str> = match env {
            Some(name) => vec!["--env", name],
            None => vec!["--all"],
        };
        let mut first_stderr = None;
        for command in [
            vec!["check"],
            vec!["render", "--out", build.to_str().unwrap()],
        ] {
            let args: Vec<&str> = command
                .iter()
                .copied()
                .chain(selection.iter().copied())
                .collect();
            let (code, stdout, stderr) = self.run(&args);
            assert_eq!(
                code,
                Some(1),
                "{args:?}: exit {code:?}\nstdout: {stdout}\nstderr: {stderr}"
            );
            assert!(
                stderr.contains(expected),
                "{args:?}: expected {expected:?} in:\n{stderr}"
            );
            assert!(stderr.starts_with("error: "), "{stderr}");
            assert!(stdout.is_empty(), "{args:?} printed on stdout: {stdout}");
            first_stderr.get_or_insert(stderr);
        }
        assert!(
            !build.exists(),
            "render wrote output for an invalid configuration"
        );
        assert_eq!(self.tree(), before, "the project changed");
        match self.aws.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("something connected to the AWS endpoint: {other:?}"),
        }
        first_stderr.unwrap()
    }

    /// Runs the binary with a deadline: a read that blocks must not hang the suite.
    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut child = Command::new(mlinfra_bin())
            .arg("--project")
            .arg(self.dir.path())
            .args(args)
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://{}", self.aws.local_addr().unwrap()),
            )
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mlinfra starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("mlinfra {args:?} hung on its input");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn a_valid_sandbox_passes_so_each_fault_below_is_the_only_cause() {
    let sandbox = Sandbox::new();
    sandbox.write("prod", VALID);
    let (code, stdout, stderr) = sandbox.run(&["check", "--all"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
}

#[test]
fn a_directory_named_like_the_file_is_unreadable() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.env_file("prod")).unwrap();
    let stderr = sandbox.fails_cleanly(Some("prod"), "prod.toml: not a regular file");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_symbolic_link_loop_is_unreadable() {
    let sandbox = Sandbox::new();
    std::os::unix::fs::symlink(sandbox.env_file("b"), sandbox.env_file("a")).unwrap();
    std::os::unix::fs::symlink(sandbox.env_file("a"), sandbox.env_file("b")).unwrap();
    let stderr = sandbox.fails_cleanly(Some("a"), "a.toml: cannot read: ");
    assert!(stderr.contains("symbolic links"), "{stderr}");
}

#[test]
fn a_dangling_link_says_so_rather_than_not_found() {
    let sandbox = Sandbox::new();
    std::os::unix::fs::symlink("/nonexistent/prod.toml", sandbox.env_file("prod")).unwrap();
    let stderr = sandbox.fails_cleanly(
        Some("prod"),
        "prod.toml: symbolic link to a file that does not exist",
    );
    assert!(!stderr.contains("not found"), "{stderr}");
}

#[test]
fn a_named_pipe_is_refused_instead_of_blocking() {
    let sandbox = Sandbox::new();
    let status = Command::new("mkfifo")
        .arg(sandbox.env_file("prod"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    sandbox.fails_cleanly(Some("prod"), "prod.toml: not a regular file");
}

#[test]
fn an_endless_device_is_refused_instead_of_read() {
    let sandbox = Sandbox::new();
    std::os::unix::fs::symlink("/dev/zero", sandbox.env_file("prod")).unwrap();
    sandbox.fails_cleanly(Some("prod"), "prod.toml: not a regular file");
}

#[test]
fn an_empty_file_lists_the_missing_keys_at_line_1() {
    let sandbox = Sandbox::new();
    sandbox.write("prod", "");
    let stderr = sandbox.fails_cleanly(
        Some("prod"),
        "prod.toml:1:1: env.project: required key is missing",
    );
    for key in ["env.account_id", "env.region", "data_lake.zones"] {
        assert!(
            stderr.contains(&format!("prod.toml:1:1: {key}: required key is missing")),
            "{stderr}"
        );
    }
    // Only the missing keys: no echo of them through names derived from them.
    assert_eq!(stderr.lines().count(), 4, "{stderr}");
}

#[test]
fn a_10_mb_file_is_refused_before_it_is_read() {
    let sandbox = Sandbox::new();
    let mut text = VALID.to_string();
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(
            "# padding padding padding padding padding padding padding padding padding\n",
        );
    }
    sandbox.write("prod", &text);
    sandbox.fails_cleanly(
        Some("prod"),
        &format!(
            "prod.toml: file is {} bytes; environment files are limited to 1048576 bytes",
            text.len()
        ),
    );
}

#[test]
fn invalid_utf8_is_located() {
    let sandbox = Sandbox::new();
    sandbox.write("prod", b"[env]\nproject = \"a\xff\xfeb\"\n");
    sandbox.fails_cleanly(
        Some("prod"),
        "prod.toml:2:13: file is not valid UTF-8 (byte offset 18)",
    );
}

#[test]
fn deeply_nested_values_hit_the_parser_limit_not_the_stack() {
    let depth = 100_000;
    for (what, text, expected) in [
        (
            "arrays",
            format!("x = {}{}\n", "[".repeat(depth), "]".repeat(depth)),
            "cannot recurse further",
        ),
        (
            "inline tables",
            format!("x = {}1{}\n", "{a = ".repeat(depth), "}".repeat(depth)),
            "cannot recurse further",
        ),
        (
            "table headers",
            format!("[{}]\n", vec!["a"; depth].join(".")),
            "recursion limit",
        ),
        (
            "dotted keys",
            format!("{} = 1\n", vec!["a"; depth].join(".")),
            "recursion limit",
        ),
    ] {
        let sandbox = Sandbox::new();
        sandbox.write("prod", &text);
        let stderr = sandbox.fails_cleanly(Some("prod"), expected);
        assert!(stderr.contains("prod.toml:1:"), "{what}: {stderr}");
    }
}

#[test]
fn duplicate_keys_are_named_and_located() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "prod",
        format!("{VALID}\n[data_lake]\nzones = [\"curated\"]\n"),
    );
    sandbox.fails_cleanly(
        Some("prod"),
        "prod.toml:10:2: data_lake: duplicate key `data_lake`",
    );
    sandbox.write("prod", "[env]\nproject = \"a\"\nproject = \"b\"\n");
    sandbox.fails_cleanly(
        Some("prod"),
        "prod.toml:3:1: env.project: duplicate key `project`",
    );
}

#[test]
fn circular_extends_is_located_at_the_extends_that_closes_the_loop() {
    let sandbox = Sandbox::new();
    sandbox
        .write("a", "extends = \"b\"\n")
        .write("b", "extends = \"c\"\n")
        .write("c", "extends = \"a\"\n");
    sandbox.fails_cleanly(
        Some("a"),
        "c.toml:1:11: extends: circular `extends`: a → b → c → a",
    );
    sandbox.fails_cleanly(None, "circular `extends`");
    sandbox.write("a", "extends = \"a\"\n");
    sandbox.fails_cleanly(Some("a"), "a.toml:1:11: extends: circular `extends`: a → a");
}

#[test]
fn a_file_s_own_fault_comes_first_and_an_overridden_fault_in_a_base_still_counts() {
    let sandbox = Sandbox::new();
    // The file's unknown key before its missing parent.
    sandbox.write("prod", "bogus = 1\nextends = \"missing\"\n");
    sandbox.fails_cleanly(Some("prod"), "prod.toml:1:1: bogus: ");
    // `extends` and `abstract` of the wrong type, in the file that has them.
    sandbox.write("prod", format!("extends = 3\n{VALID}"));
    sandbox.fails_cleanly(Some("prod"), "prod.toml:1:11: extends: ");
    sandbox.write("prod", format!("abstract = \"yes\"\n{VALID}"));
    sandbox.fails_cleanly(Some("prod"), "prod.toml:1:12: abstract: ");
    // A base's wrong value is its fault even where an environment overrides it.
    sandbox
        .write(
            "base",
            VALID.replace("region = \"us-east-1\"", "region = 5"),
        )
        .write(
            "prod",
            "extends = \"base\"\n[env]\nregion = \"us-east-1\"\n",
        );
    sandbox.fails_cleanly(Some("prod"), "base.toml:5:10: env.region: ");
}

#[test]
fn a_fault_in_a_parent_file_is_reported_in_that_file() {
    let sandbox = Sandbox::new();
    sandbox
        .write("base", b"[env]\nregion = \"us-\xc3\"\n")
        .write("prod", "extends = \"base\"\n");
    sandbox.fails_cleanly(Some("prod"), "prod.toml:1:11: extends: ");
    let stderr = sandbox.fails_cleanly(Some("prod"), "base.toml:2:");
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
}
