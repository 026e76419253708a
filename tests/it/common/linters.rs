//! The linters the suite holds every rendered shape to. cfn-lint and
//! checkov each run once per test binary over every template set: checkov's
//! start-up alone is two seconds of imports, paid once instead of once per
//! set. The sets are written once; each linter runs when a test first asks
//! for its findings, so the two run side by side on the test threads. Each
//! set's test reads and asserts only its own findings.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mlinfra::config;
use mlinfra::project::Project;
use mlinfra::render::{self, Engine};
use serde_json::Value;

use super::venv_tool;

/// Writes a set's templates into the given (empty) folder; returns the files.
type WriteSet = fn(&Path) -> Vec<PathBuf>;

/// The template sets both linters cover, each written by the test module
/// that owns it.
const SETS: &[(&str, WriteSet)] = &[
    ("examples", |dir| {
        write_rendered(&Project::Dir(super::repo_root()), dir)
    }),
    ("corners", crate::check::linters::render_corners),
    ("bootstrap", crate::delivery::write_bootstraps),
    ("delivery", crate::delivery::write_delivery_stack),
    ("stacksets", crate::delivery::write_stacksets),
];

/// Renders every deployable environment of `project` into `dir`, laid out
/// as `render --out` lays it out; returns the files written.
pub fn write_rendered(project: &Project, dir: &Path) -> Vec<PathBuf> {
    let engine = Engine::new(project).expect("the templates load");
    let mut files = Vec::new();
    for name in config::deployable_environments(project).expect("the environments load") {
        let env = config::load_env(project, &name)
            .unwrap_or_else(|e| panic!("{name} must validate:\n{e}"));
        for stack in render::render_env(&engine, &env).expect("the templates render") {
            let path = render::engine::output_path(dir, &name, &stack.spec.name);
            std::fs::create_dir_all(path.parent().expect("a folder per environment"))
                .expect("the environment's folder");
            std::fs::write(&path, &stack.template.text).expect("write template");
            files.push(path);
        }
    }
    files
}

/// The templates of one set, as written for the linters.
pub struct TemplateSet {
    name: &'static str,
    pub files: Vec<PathBuf>,
}

/// Every set, each in its own folder of one temporary folder.
struct Written {
    sets: Vec<TemplateSet>,
    dir: tempfile::TempDir,
}

fn written() -> &'static Written {
    static WRITTEN: OnceLock<Written> = OnceLock::new();
    WRITTEN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir for the linted templates");
        let sets = SETS
            .iter()
            .map(|(name, write)| {
                let folder = dir.path().join(name);
                std::fs::create_dir(&folder).expect("a folder per set");
                let files = write(&folder);
                assert!(!files.is_empty(), "the {name} set wrote no template");
                TemplateSet { name, files }
            })
            .collect();
        Written { sets, dir }
    })
}

/// A set by name (see `SETS`).
pub fn template_set(name: &str) -> &'static TemplateSet {
    written()
        .sets
        .iter()
        .find(|set| set.name == name)
        .unwrap_or_else(|| panic!("no template set {name}"))
}

impl Written {
    /// The set whose folder holds `path`, as a linter printed it: cfn-lint
    /// names files as it was given them (absolute), checkov relative to the
    /// folder it scanned, with a leading `/`.
    fn set_of(&self, path: &str) -> &'static str {
        let path = Path::new(path);
        let relative = path
            .strip_prefix(self.dir.path())
            .or_else(|_| path.strip_prefix("/"))
            .unwrap_or(path);
        let first = relative.components().next().map(|c| c.as_os_str());
        SETS.iter()
            .map(|(name, _)| *name)
            .find(|name| first == Some(OsStr::new(name)))
            .unwrap_or_else(|| panic!("a linter reported a file of no set: {}", path.display()))
    }
}

/// cfn-lint's findings per set, and what it printed on stderr.
struct CfnLint {
    findings: BTreeMap<&'static str, Vec<Value>>,
    stderr: String,
}

fn cfn_lint() -> &'static CfnLint {
    static CFN_LINT: OnceLock<CfnLint> = OnceLock::new();
    CFN_LINT.get_or_init(|| {
        let written = written();
        let files = written.sets.iter().flat_map(|set| &set.files);
        let out = Command::new(venv_tool("cfn-lint"))
            .args(["--format", "json", "--"])
            .args(files)
            .output()
            .expect("cfn-lint runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let all: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "cfn-lint (exit {:?}) printed no JSON list ({e}):\n{text}\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let mut findings: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
        for finding in all {
            let set = written.set_of(finding["Filename"].as_str().unwrap_or_default());
            findings.entry(set).or_default().push(finding);
        }
        CfnLint {
            findings,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
}

/// checkov's results for one set's files.
#[derive(Default)]
pub struct Checkov {
    pub passed: Vec<Value>,
    pub failed: Vec<Value>,
    pub skipped: Vec<Value>,
    pub parsing_errors: Vec<Value>,
}

impl Checkov {
    /// The resources checkov looked at: a scan that parsed nothing has none.
    pub fn resource_count(&self) -> usize {
        [&self.passed, &self.failed, &self.skipped]
            .into_iter()
            .flatten()
            .map(|check| (check["file_path"].as_str(), check["resource"].as_str()))
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// Where a kind of checkov result goes in a set's `Checkov`.
type ResultList = fn(&mut Checkov) -> &mut Vec<Value>;

fn checkov() -> &'static BTreeMap<&'static str, Checkov> {
    static CHECKOV: OnceLock<BTreeMap<&'static str, Checkov>> = OnceLock::new();
    CHECKOV.get_or_init(|| {
        let written = written();
        let out = Command::new(venv_tool("checkov"))
            .env("BC_SKIP_MAPPING", "TRUE")
            .args([
                "--skip-download",
                "--framework",
                "cloudformation",
                "--compact",
                "--output",
                "json",
                "-d",
            ])
            .arg(written.dir.path())
            .output()
            .expect("checkov runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "checkov JSON ({e}):\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let mut per_set: BTreeMap<&'static str, Checkov> = SETS
            .iter()
            .map(|(name, _)| (*name, Checkov::default()))
            .collect();
        let results = &report["results"];
        let kinds: [(&str, ResultList); 3] = [
            ("passed_checks", |c| &mut c.passed),
            ("failed_checks", |c| &mut c.failed),
            ("skipped_checks", |c| &mut c.skipped),
        ];
        for (kind, list) in kinds {
            for check in results[kind].as_array().into_iter().flatten() {
                let set = written.set_of(check["file_path"].as_str().unwrap_or_default());
                list(per_set.get_mut(set).expect("a known set")).push(check.clone());
            }
        }
        for error in results["parsing_errors"].as_array().into_iter().flatten() {
            let set = written.set_of(error.as_str().unwrap_or_default());
            let set = per_set.get_mut(set).expect("a known set");
            set.parsing_errors.push(error.clone());
        }
        // Its exit code agrees with its report: 0 exactly when no check failed.
        let failed = per_set.values().any(|set| !set.failed.is_empty());
        assert_eq!(
            out.status.code() == Some(0),
            !failed,
            "checkov exited {:?} with failed checks: {failed}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        per_set
    })
}

impl TemplateSet {
    /// cfn-lint found nothing in this set's files (and printed no warning).
    #[track_caller]
    pub fn assert_cfn_lint_clean(&self) {
        let cfn_lint = cfn_lint();
        let findings = cfn_lint
            .findings
            .get(self.name)
            .cloned()
            .unwrap_or_default();
        assert!(
            findings.is_empty() && cfn_lint.stderr.trim().is_empty(),
            "cfn-lint findings in the {} templates:\n{:#}\n{}",
            self.name,
            Value::from(findings),
            cfn_lint.stderr
        );
    }

    /// checkov failed no check in this set's files; its results for them.
    #[track_caller]
    pub fn checkov_without_failures(&self) -> &'static Checkov {
        let checkov = &checkov()[self.name];
        assert!(
            checkov.failed.is_empty(),
            "checkov failed checks in the {} templates:\n{:#}",
            self.name,
            Value::from(checkov.failed.clone())
        );
        checkov
    }
}

/// policy_sentry's `resource_arn_format` of each IAM action (`*` when the
/// action has no resource-level permissions; empty when policy_sentry does
/// not know the action). One process for all of them: each start of
/// policy_sentry costs half a second of imports. The query is the one
/// `policy_sentry query action-table --service S --name A` prints.
pub fn resource_arn_formats(actions: &[&str]) -> BTreeMap<String, String> {
    const QUERY: &str = "\
import json, sys
from policy_sentry.querying.actions import get_action_data
formats = {}
for action in sys.argv[1:]:
    service, name = action.split(':', 1)
    rows = (get_action_data(service, name) or {}).get(service) or [{}]
    formats[action] = rows[0].get('resource_arn_format') or ''
print(json.dumps(formats))
";
    // Fails loudly when the venv lacks policy_sentry, as its command would.
    venv_tool("policy_sentry");
    let out = Command::new(venv_tool("python"))
        .args(["-c", QUERY])
        .args(actions)
        .output()
        .expect("policy_sentry's query runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let formats: BTreeMap<String, String> =
        serde_json::from_slice(&out.stdout).expect("the query prints a JSON object");
    assert_eq!(
        formats.len(),
        actions.len(),
        "an answer per action: {formats:?}"
    );
    formats
}
