//! `cargo xtask deps`: the layer rules of `docs/architecture.md`, checked on `cargo metadata`.
//!
//! Fails, naming the edge, when a crate depends on a layer it must not, when a layer pulls
//! in an engine it must stay free of (even transitively), or when the lock file holds two
//! versions of an engine crate.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Each workspace crate and the workspace crates it depends on (normal dependencies):
/// exactly its edges. An edge not listed is forbidden; an edge listed but not used, or a
/// crate listed that is not in the workspace, is stale (the table says what the code
/// does, no more).
const LAYERS: &[(&str, &[&str])] = &[
    ("unifier-policy", &[]),
    ("unifier-diagnostics", &[]),
    ("unifier-io-adapter", &["unifier-diagnostics"]),
    (
        "unifier-write-pipeline",
        &["unifier-diagnostics", "unifier-io-adapter"],
    ),
    (
        "unifier",
        &[
            "unifier-policy",
            "unifier-diagnostics",
            "unifier-io-adapter",
            "unifier-write-pipeline",
        ],
    ),
    ("unifier-cli", &["unifier", "unifier-tpch"]),
    ("unifier-conformance", &["unifier", "unifier-tpch"]),
    // TPC-H data for tests, the demo, the conformance runner and the benches.
    ("unifier-tpch", &[]),
    ("xtask", &[]),
];

/// External crates (and their `-*` family) a layer must never reach, even transitively.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "unifier-policy",
        &[
            "datafusion",
            "deltalake",
            "tokio",
            "arrow",
            "parquet",
            "object_store",
        ],
    ),
    ("unifier-diagnostics", &["datafusion", "deltalake"]),
];

/// Crates whose versions must be unique in the lock file.
const SINGLE_VERSION: &[&str] = &[
    "sqlparser",
    "arrow",
    "datafusion",
    "deltalake",
    "object_store",
];

pub(crate) fn run(root: &Path) -> Result<()> {
    let output = crate::cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed invalid json")?;
    let mut problems = check(&metadata);
    problems.extend(stale(&metadata, LAYERS));
    if problems.is_empty() {
        eprintln!("deps: layer edges and engine versions are in order");
        Ok(())
    } else {
        for problem in &problems {
            eprintln!("deps: {problem}");
        }
        bail!("{} dependency rule(s) broken", problems.len())
    }
}

/// Entries of `layers` the workspace in `metadata` does not bear out: a crate that is
/// not a member, an edge a crate does not have. The table says what the code does.
pub(crate) fn stale(metadata: &Value, layers: &[(&str, &[&str])]) -> Vec<String> {
    let empty = Vec::new();
    let name_of: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let members: BTreeMap<&str, &str> = metadata["workspace_members"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|id| Some((*name_of.get(id)?, id)))
        .collect();
    let mut problems = Vec::new();
    for (layer, allowed) in layers {
        let Some(id) = members.get(layer) else {
            problems.push(format!(
                "crate `{layer}` in the layer table of xtask/src/deps.rs is not in the workspace; remove it"
            ));
            continue;
        };
        let node = metadata["resolve"]["nodes"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .find(|n| n["id"].as_str() == Some(id));
        let used: BTreeSet<&str> = node
            .and_then(|n| n["deps"].as_array())
            .unwrap_or(&empty)
            .iter()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()))
            })
            .filter_map(|dep| name_of.get(dep["pkg"].as_str()?).copied())
            .collect();
        for edge in allowed.iter().filter(|a| !used.contains(**a)) {
            problems.push(format!(
                "stale edge `{layer}` -> `{edge}` in xtask/src/deps.rs: `{layer}` does not depend on it; remove it from the layer table"
            ));
        }
    }
    problems
}

fn family(name: &str, root: &str) -> bool {
    name == root
        || name
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('_'))
}

/// Every broken rule in `metadata` (the JSON of `cargo metadata --format-version 1`).
pub(crate) fn check(metadata: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = Vec::new();
    let packages = metadata["packages"].as_array().unwrap_or(&empty);
    let names: HashMap<&str, (&str, &str)> = packages
        .iter()
        .filter_map(|p| {
            Some((
                p["id"].as_str()?,
                (p["name"].as_str()?, p["version"].as_str()?),
            ))
        })
        .collect();
    let name_of = |id: &str| {
        names
            .get(id)
            .map_or(id.to_owned(), |(n, _)| (*n).to_owned())
    };

    // Normal dependency edges, by package id.
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in metadata["resolve"]["nodes"].as_array().unwrap_or(&empty) {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"].as_array().unwrap_or(&empty);
        let normal = deps.iter().filter(|dep| {
            dep["dep_kinds"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()))
        });
        edges
            .entry(id)
            .or_default()
            .extend(normal.filter_map(|dep| dep["pkg"].as_str()));
    }

    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let member_names: BTreeSet<String> = members.iter().map(|id| name_of(id)).collect();

    for member in &members {
        let name = name_of(member);
        let Some((_, allowed)) = LAYERS.iter().find(|(layer, _)| *layer == name) else {
            problems.push(format!(
                "workspace crate `{name}` is not in the layer table of xtask/src/deps.rs: add it with the layers it may use"
            ));
            continue;
        };
        for dep in edges.get(member).map(Vec::as_slice).unwrap_or(&[]) {
            let dep_name = name_of(dep);
            if member_names.contains(&dep_name) && !allowed.contains(&dep_name.as_str()) {
                problems.push(format!(
                    "forbidden edge `{name}` -> `{dep_name}`: `{name}` may depend on {}",
                    if allowed.is_empty() {
                        "no workspace crate".to_owned()
                    } else {
                        allowed.join(", ")
                    }
                ));
            }
        }
        if let Some((_, forbidden)) = FORBIDDEN.iter().find(|(layer, _)| *layer == name) {
            // Breadth-first over normal edges, remembering the way back for the message.
            let mut parent: HashMap<&str, &str> = HashMap::new();
            let mut queue = VecDeque::from([*member]);
            let mut reported = BTreeSet::new();
            while let Some(id) = queue.pop_front() {
                for dep in edges.get(id).map(Vec::as_slice).unwrap_or(&[]) {
                    if *dep == *member || parent.contains_key(dep) {
                        continue;
                    }
                    parent.insert(dep, id);
                    queue.push_back(dep);
                    let dep_name = name_of(dep);
                    if let Some(root) = forbidden.iter().find(|f| family(&dep_name, f))
                        && reported.insert(*root)
                    {
                        let mut path = vec![dep_name.clone()];
                        let mut at = id;
                        while at != *member {
                            path.push(name_of(at));
                            at = parent[at];
                        }
                        path.push(name.clone());
                        path.reverse();
                        problems.push(format!(
                            "forbidden edge `{name}` -> `{dep_name}` ({root} is not allowed in {name}): {}",
                            path.join(" -> ")
                        ));
                    }
                }
            }
        }
    }

    let mut versions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, version) in names.values() {
        if SINGLE_VERSION.contains(name) {
            versions.entry(name).or_default().insert(version);
        }
    }
    for (name, versions) in versions {
        if versions.len() > 1 {
            problems.push(format!(
                "two versions of `{name}` in the lock file ({}): align the dependencies so there is one",
                versions.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package(name: &str, version: &str) -> Value {
        json!({"id": format!("{name} {version}"), "name": name, "version": version})
    }

    fn node(id: &str, deps: &[(&str, Option<&str>)]) -> Value {
        json!({
            "id": id,
            "deps": deps.iter().map(|(pkg, kind)| json!({
                "pkg": pkg, "dep_kinds": [{"kind": kind}]
            })).collect::<Vec<_>>()
        })
    }

    fn metadata(packages: Vec<Value>, nodes: Vec<Value>, members: &[&str]) -> Value {
        json!({"packages": packages, "resolve": {"nodes": nodes}, "workspace_members": members})
    }

    #[test]
    fn a_layer_table_saying_more_than_the_code_is_stale() {
        let m = metadata(
            vec![
                package("unifier-policy", "0.1.0"),
                package("unifier", "0.1.0"),
            ],
            vec![
                node("unifier-policy 0.1.0", &[]),
                node("unifier 0.1.0", &[]),
            ],
            &["unifier-policy 0.1.0", "unifier 0.1.0"],
        );
        let table: &[(&str, &[&str])] = &[
            ("unifier-policy", &[]),
            ("unifier", &["unifier-policy"]),
            ("unifier-gone", &[]),
        ];
        assert_eq!(
            stale(&m, table),
            [
                "stale edge `unifier` -> `unifier-policy` in xtask/src/deps.rs: `unifier` does not depend on it; remove it from the layer table",
                "crate `unifier-gone` in the layer table of xtask/src/deps.rs is not in the workspace; remove it",
            ]
        );
        assert_eq!(stale(&m, &table[..1]), Vec::<String>::new());
    }

    #[test]
    fn clean_graph_passes() {
        let m = metadata(
            vec![
                package("unifier-policy", "0.1.0"),
                package("unifier", "0.1.0"),
                package("sqlparser", "0.62.0"),
                package("insta", "1.0.0"),
            ],
            vec![
                node(
                    "unifier-policy 0.1.0",
                    &[("sqlparser 0.62.0", None), ("insta 1.0.0", Some("dev"))],
                ),
                node("unifier 0.1.0", &[("unifier-policy 0.1.0", None)]),
            ],
            &["unifier-policy 0.1.0", "unifier 0.1.0"],
        );
        assert_eq!(check(&m), Vec::<String>::new());
    }

    #[test]
    fn transitive_engine_in_policy_is_named_with_its_path() {
        let m = metadata(
            vec![
                package("unifier-policy", "0.1.0"),
                package("helper", "1.0.0"),
                package("datafusion-common", "55.2.0"),
            ],
            vec![
                node("unifier-policy 0.1.0", &[("helper 1.0.0", None)]),
                node("helper 1.0.0", &[("datafusion-common 55.2.0", None)]),
            ],
            &["unifier-policy 0.1.0"],
        );
        let problems = check(&m);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`unifier-policy` -> `datafusion-common`")
                && problems[0].contains("unifier-policy -> helper -> datafusion-common"),
            "{problems:?}"
        );
    }

    #[test]
    fn upward_layer_edge_is_refused_but_dev_edges_are_not() {
        let m = metadata(
            vec![
                package("unifier-policy", "0.1.0"),
                package("unifier", "0.1.0"),
            ],
            vec![node("unifier-policy 0.1.0", &[("unifier 0.1.0", None)])],
            &["unifier-policy 0.1.0", "unifier 0.1.0"],
        );
        let problems = check(&m);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`unifier-policy` -> `unifier`")),
            "{problems:?}"
        );

        let m = metadata(
            vec![
                package("unifier-policy", "0.1.0"),
                package("tokio", "1.0.0"),
            ],
            vec![node(
                "unifier-policy 0.1.0",
                &[("tokio 1.0.0", Some("dev"))],
            )],
            &["unifier-policy 0.1.0"],
        );
        assert!(check(&m).is_empty());
    }

    #[test]
    fn duplicate_engine_versions_and_unknown_members_fail() {
        let m = metadata(
            vec![
                package("sqlparser", "0.62.0"),
                package("sqlparser", "0.64.0"),
                package("unifier-extra", "0.1.0"),
            ],
            vec![node("unifier-extra 0.1.0", &[])],
            &["unifier-extra 0.1.0"],
        );
        let problems = check(&m);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("two versions of `sqlparser`") && p.contains("0.62.0, 0.64.0")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`unifier-extra` is not in the layer table")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_real_workspace_passes() {
        run(&crate::workspace_root()).unwrap();
    }
}
