//! The shape of each crate's source: no import circle between its files, no long file
//! that is not known to do one job, no `clippy::too_many_arguments` allowance.
//!
//! A file's module path follows from where it is (`src/a/b.rs` and `src/a/b/mod.rs` are
//! `a::b`; `lib.rs` and `main.rs` are the root). A file refers to another when one of its
//! paths (`crate::a::b::X`, `super::x`, `self::x`, or a child module's name in a `use`)
//! names a module that has a file; the longest such prefix is the file referred to. The
//! crate root is left out: it declares the modules and re-exports them, so every file
//! would form a circle through it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files allowed past [`MAX_LINES`], each with the one job it does.
const LONG_FILES: &[(&str, &str)] = &[];

/// Lines a source file may have before it must be listed in [`LONG_FILES`].
pub(crate) const MAX_LINES: usize = 600;

/// Every `.rs` file under `dir` (skipping `target` and hidden directories).
pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The module path of `file` under `src`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.last().map(String::as_str) {
        Some("lib" | "main") if parts.len() == 1 => parts.clear(),
        Some("mod") => {
            parts.pop();
        }
        _ => {}
    }
    parts
}

/// `text` without comments, string and character literals, so that paths in them do
/// not count.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let skip_to = |from: usize, end: &[char]| -> usize {
        (from..chars.len())
            .find(|&j| chars[j..].starts_with(end))
            .map_or(chars.len(), |j| j + end.len())
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                i = skip_to(i, &['\n']);
                out.push('\n');
            }
            '/' if next == Some('*') => i = skip_to(i + 2, &['*', '/']),
            'r' if next == Some('#') && chars.get(i + 2) == Some(&'"') => {
                i = skip_to(i + 3, &['"', '#']);
                out.push_str("\"\"");
            }
            '"' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                i = j + 1;
                out.push_str("\"\"");
            }
            '\'' if next == Some('\\') => {
                i = skip_to(i + 2, &['\'']);
                out.push_str("' '");
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => {
                i += 3;
                out.push_str("' '");
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        let leaf = tree.split(" as ").next().unwrap_or(tree);
        return vec![leaf.chars().filter(|c| !c.is_whitespace()).collect()];
    };
    let prefix: String = tree[..open]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut current) = (0usize, String::new());
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand_use(&p))
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path in `code` that starts at `crate`, `super` or `self`, and the paths of its
/// `use` items (which may start at a child module).
fn paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + 4..];
        if before.is_none_or(|c| !is_ident_char(c))
            && let Some(end) = after.find(';')
        {
            found.extend(expand_use(&after[..end]));
        }
        rest = after;
    }
    for start in ["crate::", "super::", "self::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().next_back();
            let tail = &rest[at..];
            if before.is_none_or(|c| !is_ident_char(c) && c != ':') {
                let end = tail
                    .find(|c: char| !(is_ident_char(c) || c == ':'))
                    .unwrap_or(tail.len());
                found.push(tail[..end].trim_end_matches(':').to_owned());
            }
            rest = &tail[start.len()..];
        }
    }
    found
}

/// The module files of one crate's `src`, by module path.
fn module_files(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .map(|f| (module_path(src, &f), f))
        .collect()
}

/// Which module files each module file refers to (the crate root left out).
fn references(
    files: &BTreeMap<Vec<String>, PathBuf>,
    texts: &BTreeMap<Vec<String>, String>,
) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut edges = BTreeMap::new();
    for (module, text) in texts {
        let mut targets = BTreeSet::new();
        for path in paths(&code_only(text)) {
            let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let mut base: Vec<String> = match segments.first().copied() {
                Some("crate") => {
                    segments.remove(0);
                    Vec::new()
                }
                Some("super") => {
                    let mut base = module.clone();
                    while segments.first() == Some(&"super") {
                        segments.remove(0);
                        base.pop();
                    }
                    base
                }
                Some("self") => {
                    segments.remove(0);
                    module.clone()
                }
                Some(first) => {
                    let mut child = module.clone();
                    child.push(first.to_owned());
                    if !files.contains_key(&child) {
                        continue;
                    }
                    module.clone()
                }
                None => continue,
            };
            base.extend(segments.iter().map(|s| (*s).to_owned()));
            let target = (1..=base.len())
                .rev()
                .map(|n| base[..n].to_vec())
                .find(|prefix| files.contains_key(prefix));
            if let Some(target) = target
                && &target != module
            {
                targets.insert(target);
            }
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

/// The groups of modules that refer to each other in a circle (Tarjan's algorithm).
fn circles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        found: Vec<Vec<Vec<String>>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Vec<String>) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

fn shown(module: &[String]) -> String {
    if module.is_empty() {
        "(root)".to_owned()
    } else {
        module.join("::")
    }
}

/// The problems of one crate's `src` directory (`shown_src` relative to the root).
pub(crate) fn check_src(src: &Path, shown_src: &str) -> Vec<String> {
    let files = module_files(src);
    let mut problems = Vec::new();
    let mut texts = BTreeMap::new();
    for (module, file) in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let relative = file.strip_prefix(src).unwrap_or(file).display().to_string();
        let name = format!("{shown_src}/{relative}");
        problems.extend(check_text(&name, &text));
        if !module.is_empty() {
            texts.insert(module.clone(), text);
        }
    }
    let edges = references(&files, &texts);
    for group in circles(&edges) {
        let members: BTreeSet<&Vec<String>> = group.iter().collect();
        let arrows: Vec<String> = group
            .iter()
            .flat_map(|from| {
                edges[from]
                    .iter()
                    .filter(|to| members.contains(to))
                    .map(move |to| format!("{} -> {}", shown(from), shown(to)))
            })
            .collect();
        problems.push(format!(
            "{shown_src}: the files of modules {} import each other in a circle ({}); move what they share into a module both can use",
            group.iter().map(|m| shown(m)).collect::<Vec<_>>().join(", "),
            arrows.join(", ")
        ));
    }
    problems
}

/// The per-file rules: its length, and no `too_many_arguments` allowance.
fn check_text(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let lines = text.lines().count();
    if lines > MAX_LINES && !LONG_FILES.iter().any(|(file, _)| *file == name) {
        problems.push(format!(
            "{name}: {lines} lines (more than {MAX_LINES}); split it by job, or list it in xtask/src/modules.rs LONG_FILES with the one job it does"
        ));
    }
    let allowance = format!("clippy::{}", "too_many_arguments");
    for (number, line) in code_only(text).lines().enumerate() {
        if line.contains(&allowance) {
            problems.push(format!(
                "{name}:{}: `{allowance}` allowed; pass a struct that says what the arguments are",
                number + 1
            ));
        }
    }
    problems
}

/// The `src` directories of the workspace's crates and of xtask.
pub(crate) fn source_dirs(root: &Path) -> Vec<(PathBuf, String)> {
    let mut dirs = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root.join("crates")) {
        for entry in entries.flatten() {
            let src = entry.path().join("src");
            if src.is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                dirs.push((src, format!("crates/{name}/src")));
            }
        }
    }
    dirs.push((root.join("xtask/src"), "xtask/src".to_owned()));
    dirs.sort();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(files: &[(&str, &str)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        for (path, text) in files {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().expect("in the dir")).expect("mkdir");
            std::fs::write(file, text).expect("write");
        }
        dir
    }

    /// A directory removed when dropped (xtask stays free of dependencies).
    mod tempdir {
        pub(super) struct Dir(std::path::PathBuf);
        impl Dir {
            pub(super) fn new() -> Self {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default();
                let path = std::env::temp_dir()
                    .join(format!("xtask-modules-{}-{nanos}", std::process::id()));
                std::fs::create_dir_all(&path).expect("temp dir");
                Self(path)
            }
            pub(super) fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                std::fs::remove_dir_all(&self.0).ok();
            }
        }
    }

    #[test]
    fn a_circle_between_files_is_found_and_a_line_is_not() {
        let dir = crate_with(&[
            ("lib.rs", "//! r\nmod a;\nmod b;\nmod c;\npub use a::A;\n"),
            ("a.rs", "//! a\nuse crate::b::B;\npub struct A;\n"),
            (
                "b.rs",
                "//! b\nuse crate::{c::C, a::A as Other};\npub struct B;\n",
            ),
            (
                "c.rs",
                "//! c\n// crate::a::A in a comment\nconst S: &str = \"crate::a\";\npub struct C;\n",
            ),
        ]);
        let problems = check_src(dir.path(), "crates/x/src");
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains("modules a, b"), "{}", problems[0]);
        assert!(problems[0].contains("a -> b"), "{}", problems[0]);
        assert!(problems[0].contains("b -> a"), "{}", problems[0]);
    }

    #[test]
    fn children_and_super_count_and_the_root_does_not() {
        let dir = crate_with(&[
            (
                "lib.rs",
                "//! r\nmod p;\npub use p::X;\nuse crate::p::q::Y;\n",
            ),
            ("p/mod.rs", "//! p\nmod q;\npub use q::Y;\npub struct X;\n"),
            ("p/q.rs", "//! q\nuse super::X;\npub struct Y(X);\n"),
        ]);
        let problems = check_src(dir.path(), "crates/x/src");
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains("p -> p::q"), "{}", problems[0]);
        assert!(problems[0].contains("p::q -> p"), "{}", problems[0]);
    }

    #[test]
    fn long_files_and_the_allowance_are_found() {
        let long = format!("//! l\n{}", "fn f() {}\n".repeat(MAX_LINES));
        let allowed = format!(
            "//! a\n#[allow(clippy::{})]\nfn f() {{}}\n",
            "too_many_arguments"
        );
        let dir = crate_with(&[
            ("lib.rs", "//! r\nmod l;\nmod a;\n"),
            ("l.rs", &long),
            ("a.rs", &allowed),
        ]);
        let problems = check_src(dir.path(), "crates/x/src");
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("crates/x/src/l.rs: 601 lines"))
        );
        assert!(problems.iter().any(|p| p.contains("crates/x/src/a.rs:2")));
    }
}
