//! Shell completion: the registration script each shell sources, and the
//! candidates mlinfra answers with when the shell calls it back on Tab.

use crate::common::{Cli, scaffolded, stdout};

/// The deployable environments as `list` shows them.
fn listed(dir: &std::path::Path) -> Vec<String> {
    let output = Cli::new()
        .args(["--project"])
        .args([dir])
        .args(["list", "--format", "json"])
        .run();
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["env"].as_str().unwrap().to_string())
        .collect()
}

/// What `shell` is offered for the last of `words`, as its script asks.
fn candidates(shell: &str, words: &[&str], current_dir: &std::path::Path) -> Vec<String> {
    let index = (words.len() - 1).to_string();
    let output = Cli::new()
        .current_dir(current_dir)
        .env("COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", &index)
        .env("_CLAP_IFS", "\n")
        .args(["--"])
        .args(words)
        .run();
    assert!(output.status.success(), "{output:?}");
    let mut names: Vec<String> = stdout(&output)
        .lines()
        .map(|l| l.split(['\t', ':']).next().unwrap().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    names.sort();
    names
}

#[test]
fn env_completes_to_the_deployable_environments_in_bash_zsh_and_fish() {
    let dir = scaffolded();
    let path = dir.path().to_str().unwrap();
    let deployable = listed(dir.path());
    assert_eq!(deployable, ["dev", "prod"], "init's project");
    std::fs::write(
        dir.path().join("environments/staging.toml"),
        std::fs::read_to_string(dir.path().join("environments/dev.toml")).unwrap(),
    )
    .unwrap();
    let deployable = listed(dir.path());
    assert_eq!(deployable, ["dev", "prod", "staging"]);
    for shell in ["bash", "zsh", "fish"] {
        for words in [
            vec!["mlinfra", "--project", path, "plan", "--env", ""],
            vec!["mlinfra", "--project", path, "validate", "-e", ""],
            vec!["mlinfra", "cost", "--project", path, "--env", ""],
        ] {
            assert_eq!(
                candidates(shell, &words, std::path::Path::new("/")),
                deployable,
                "{shell}: {words:?}"
            );
        }
        // No --project: the project in the current directory.
        assert_eq!(
            candidates(shell, &["mlinfra", "drift", "--env", ""], dir.path()),
            deployable,
            "{shell}: current directory"
        );
        // The base file is not offered, even when its name is being typed.
        assert_eq!(
            candidates(
                shell,
                &["mlinfra", "--project", path, "plan", "--env", "ba"],
                dir.path()
            ),
            Vec::<String>::new(),
            "{shell}: base"
        );
    }
    // The example project's environments, with --example.
    assert_eq!(
        candidates(
            "fish",
            &["mlinfra", "--example", "status", "--env", ""],
            dir.path()
        ),
        ["dev", "prod", "staging"]
    );
}

#[test]
fn completions_prints_a_script_that_calls_mlinfra_back() {
    for (shell, marker) in [
        ("bash", "COMPLETE=\"bash\""),
        ("zsh", "COMPLETE=\"zsh\""),
        ("fish", "COMPLETE=fish"),
    ] {
        let output = Cli::new().args(["completions", shell]).run();
        assert!(output.status.success(), "{output:?}");
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}:\n{script}");
        assert!(script.contains("mlinfra"), "{shell}:\n{script}");
    }
}
