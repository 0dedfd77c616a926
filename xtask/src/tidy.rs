//! `cargo xtask tidy`: source-file hygiene, also run as a test.
//!
//! - every `.rs` file starts with a `//!` line saying what it is;
//! - no debugging or placeholder macros outside tests;
//! - no DataFusion `register_*`/`deregister_table` call outside `unifier-io-adapter`, the
//!   one registration surface (tests included); a benchmark's raw-DataFusion baseline
//!   marks its line with `tidy: baseline`;
//! - the shape of each crate's source (`modules.rs`): no import circle between files, no
//!   file over 600 lines unless listed with its one job, no `too_many_arguments` allowance.

use std::path::Path;

use anyhow::{Result, bail};

/// Macros that must not be left in library or binary code (built so this file does not
/// match itself).
fn banned_macros() -> [String; 3] {
    ["dbg", "todo", "unimplemented"].map(|name| format!("{name}!("))
}

/// DataFusion's registration calls (built so this file does not match itself).
fn registration_calls() -> Vec<String> {
    [
        "table",
        "parquet",
        "csv",
        "json",
        "avro",
        "arrow",
        "batch",
        "listing_table",
        "schema",
        "catalog",
        "udtf",
        "object_store",
    ]
    .iter()
    .map(|what| format!(".register_{what}("))
    .chain([format!(".de{}_table(", "register")])
    .collect()
}

/// The crate allowed to call them.
const REGISTRATION_SURFACE: &str = "crates/unifier-io-adapter/";

/// The marker that lets a benchmark baseline register directly.
const BASELINE_MARKER: &str = "tidy: baseline";

pub(crate) fn run(root: &Path) -> Result<()> {
    let problems = check_tree(root);
    if problems.is_empty() {
        eprintln!("tidy: source files are in order");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

fn check_tree(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests"] {
        crate::modules::rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    let mut problems = Vec::new();
    for file in files {
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => problems.extend(check_file(&shown, &text)),
            Err(e) => problems.push(format!("{shown}: cannot read: {e}")),
        }
    }
    for (src, shown) in crate::modules::source_dirs(root) {
        problems.extend(crate::modules::check_src(&src, &shown));
        let manifest = src.parent().map(|c| c.join("Cargo.toml"));
        if let Some(text) = manifest.and_then(|m| std::fs::read_to_string(m).ok())
            && lib_has_no_test_harness(&text)
        {
            problems.extend(unit_tests_that_never_run(&src, &shown));
        }
    }
    problems
}

/// Whether a crate's `Cargo.toml` sets `test = false` in its `[lib]` section.
fn lib_has_no_test_harness(manifest: &str) -> bool {
    let mut in_lib = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_lib = line == "[lib]";
        } else if in_lib && line.replace(' ', "") == "test=false" {
            return true;
        }
    }
    false
}

/// `#[cfg(test)]` in the sources of a library built without a test harness: those
/// tests never run (the library's tests belong in its `tests/it`).
fn unit_tests_that_never_run(src: &Path, shown_src: &str) -> Vec<String> {
    let mut files = Vec::new();
    crate::modules::rust_files(src, &mut files);
    files.sort();
    files
        .iter()
        .filter(|file| {
            std::fs::read_to_string(file).is_ok_and(|text| text.contains("#[cfg(test)]"))
        })
        .map(|file| {
            let inner = file.strip_prefix(src).unwrap_or(file).display();
            format!(
                "{shown_src}/{inner}: has #[cfg(test)] but its crate's [lib] sets test = false, so those tests never run; move them into tests/it"
            )
        })
        .collect()
}

/// The problems of one file; `shown` is its path relative to the workspace root.
fn check_file(shown: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.starts_with("//!") {
        problems.push(format!(
            "{shown}:1: the file must start with a `//!` line that says what it is"
        ));
    }
    if !shown.starts_with(REGISTRATION_SURFACE) && !shown.starts_with("xtask/") {
        let calls = registration_calls();
        for (number, line) in text.lines().enumerate() {
            if line.contains(BASELINE_MARKER) {
                continue;
            }
            if let Some(call) = calls.iter().find(|c| line.contains(c.as_str())) {
                problems.push(format!(
                    "{shown}:{}: `{}` outside unifier-io-adapter; register through the IoAdapter",
                    number + 1,
                    call.trim_matches(['.', '('])
                ));
            }
        }
    }
    let is_test_file = shown
        .split('/')
        .any(|part| part == "tests" || part == "benches");
    if is_test_file {
        return problems;
    }
    let banned = banned_macros();
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        for pattern in &banned {
            if code.contains(pattern.as_str()) {
                problems.push(format!(
                    "{shown}:{}: `{}` left in non-test code",
                    number + 1,
                    pattern.trim_end_matches('(')
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_without_a_harness_is_found_by_its_lib_section_only() {
        assert!(lib_has_no_test_harness(
            "[package]\nname = \"x\"\n\n[lib]\n# why\ntest = false\n"
        ));
        assert!(!lib_has_no_test_harness(
            "[lib]\ndoc = true\n\n[[bin]]\nname = \"x\"\ntest = false\n"
        ));
        assert!(!lib_has_no_test_harness("[package]\nname = \"x\"\n"));
    }

    #[test]
    fn the_workspace_is_tidy() {
        let problems = check_tree(&crate::workspace_root());
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn missing_header_and_banned_macros_are_found() {
        let source = format!("fn main() {{ {}1); }}\n", banned_macros()[0]);
        let problems = check_file("crates/x/src/main.rs", &source);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("crates/x/src/main.rs:1"));
        assert!(problems[1].contains("dbg!"));
    }

    #[test]
    fn registration_outside_the_adapter_is_found() {
        let call = &registration_calls()[0];
        let source = format!("//! t\nfn f(ctx: C) {{ ctx{call}\"t\", p); }}\n");
        let problems = check_file("crates/unifier/tests/it/main.rs", &source);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("register_table` outside unifier-io-adapter"));
        assert!(check_file("crates/unifier-io-adapter/src/adapter.rs", &source).is_empty());
        let marked = source.replace("); }", "); } // tidy: baseline");
        assert!(check_file("crates/unifier/examples/bench_io.rs", &marked).is_empty());
    }

    #[test]
    fn tests_may_use_them() {
        let source = format!(
            "//! t\n#[cfg(test)]\nmod t {{ fn f() {{ {}) }} }}\n",
            banned_macros()[1]
        );
        assert!(check_file("crates/x/src/lib.rs", &source).is_empty());
        let source = format!("//! t\nfn f() {{ {}) }}\n", banned_macros()[2]);
        assert!(check_file("crates/x/tests/it/main.rs", &source).is_empty());
    }
}
