//! `cloud/` is the only door to AWS: every request the program sends is
//! built and sent there, so the call counter, the account guard and the one
//! error type see every call.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_aws_request_is_sent_from_cloud() {
    let src = crate::common::repo_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let cloud = src.join("cloud");
    let mut outside = Vec::new();
    let mut inside = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // An SDK request ends in `.send()` (a paginator's too).
        let sends = text.matches(".send()").count();
        if file.starts_with(&cloud) {
            inside += sends;
        } else if sends > 0 {
            outside.push(format!("{}: {sends}", file.display()));
        }
    }
    assert!(
        outside.is_empty(),
        "AWS requests sent outside src/cloud/: {outside:?}"
    );
    // The scan reads the sources it means to: cloud/ sends them all.
    assert!(inside > 20, "{inside} sends found in src/cloud/");
}
