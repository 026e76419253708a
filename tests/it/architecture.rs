//! The shape of the source: no two files of `src/` depend on each other,
//! directly or through others. A file depends on the modules its `crate::`
//! and `super::` paths name (its own tests left out); a path to an item is a
//! dependency on the file that defines or re-exports it. A module and the
//! modules inside it are not counted against each other: a module declares
//! its children, and they read its items.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`plan::classify`, `error`) → its source text, tests cut off.
fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    let mut folders = vec![src.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("src/ reads") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).expect("under src/");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["main"] || parts == ["lib"] {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source file reads");
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            found.insert(parts.join("::"), code);
        }
    }
    found
}

/// The paths after each `prefix` in `code`, with `{a, b::c}` groups spread.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut paths = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        // Part of a longer name, or the second `super` of `super::super::`.
        if code[..at].ends_with(ident) || code[..at].ends_with("::") {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        let mut path = String::new();
        let mut chars = rest;
        loop {
            let end = chars.find(|c| !ident(c)).unwrap_or(chars.len());
            path.push_str(&chars[..end]);
            chars = &chars[end..];
            if let Some(next) = chars.strip_prefix("::") {
                if let Some(group) = next.strip_prefix('{') {
                    let inner = &group[..group.find('}').unwrap_or(group.len())];
                    for item in inner.split(',') {
                        let item = item.trim().split([' ', ':']).next().unwrap_or("");
                        if !item.is_empty() && item != "self" {
                            paths.push(format!("{path}::{item}"));
                        }
                    }
                    break;
                }
                path.push_str("::");
                chars = next;
            } else {
                break;
            }
        }
        paths.push(path.trim_end_matches("::").to_string());
    }
    paths
}

/// The file that defines `path`: the longest module prefix of it.
fn owner<'m>(path: &str, modules: &'m BTreeMap<String, String>) -> Option<&'m str> {
    let mut parts: Vec<&str> = path.split("::").collect();
    while !parts.is_empty() {
        if let Some((name, _)) = modules.get_key_value(&parts.join("::")) {
            return Some(name);
        }
        parts.pop();
    }
    None
}

fn dependencies(modules: &BTreeMap<String, String>) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, code) in modules {
        let parent: Vec<&str> = name.split("::").collect();
        let parent = &parent[..parent.len() - 1];
        let mut named: Vec<String> = paths_after(code, "crate::");
        for path in paths_after(code, "super::") {
            // `super::super::x`: one module further up for each `super`.
            let mut absolute: Vec<&str> = parent.to_vec();
            let mut rest = path.as_str();
            while let Some(further) = rest.strip_prefix("super::") {
                absolute.pop();
                rest = further;
            }
            absolute.extend(rest.split("::"));
            named.push(absolute.join("::"));
        }
        let edges = graph.entry(name.as_str()).or_default();
        for path in named {
            // A module and the modules inside it are one unit of its own.
            if let Some(target) = owner(&path, modules)
                && target != name
                && !target.starts_with(&format!("{name}::"))
                && !name.starts_with(&format!("{target}::"))
            {
                edges.insert(target);
            }
        }
    }
    graph
}

/// The groups of more than one file that reach each other (the graph's
/// strongly connected components), each sorted.
fn cycles<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    let mut files = petgraph::Graph::<&str, ()>::new();
    let nodes: BTreeMap<&str, _> = graph
        .keys()
        .map(|&name| (name, files.add_node(name)))
        .collect();
    for (from, targets) in graph {
        for to in targets {
            files.add_edge(nodes[from], nodes[to], ());
        }
    }
    petgraph::algo::tarjan_scc(&files)
        .into_iter()
        .filter(|group| group.len() > 1)
        .map(|group| {
            let mut names: Vec<&str> = group.into_iter().map(|node| files[node]).collect();
            names.sort_unstable();
            names
        })
        .collect()
}

#[test]
fn no_source_file_depends_on_itself_through_others() {
    let modules = modules();
    let graph = dependencies(&modules);
    // The reading of paths is itself checked: what is known to be there is found.
    assert!(graph["commands::render"].contains("render::write"));
    assert!(graph["error"].contains("plan"));
    assert!(graph["config::policies"].contains("config::env"));
    assert!(graph["plan::classify"].contains("plan::change"));
    assert!(graph["config::validate::network"].contains("config::locate"));
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "files that depend on each other: {found:?}"
    );
}

#[test]
fn a_cycle_is_found_where_there_is_one() {
    let modules: BTreeMap<String, String> = [
        ("a", "use crate::b::Thing;"),
        ("b", "use crate::c::{self, Other};"),
        ("c", "fn f() { super::a::g() }"),
        ("d::a", ""),
        ("d::e::f", "use super::super::a::Thing;"),
        ("d", "use crate::a;"),
    ]
    .into_iter()
    .map(|(name, code)| (name.to_string(), code.to_string()))
    .collect();
    let graph = dependencies(&modules);
    assert_eq!(graph["d::e::f"], BTreeSet::from(["d::a"]), "two levels up");
    assert_eq!(cycles(&graph), [vec!["a", "b", "c"]]);
}
