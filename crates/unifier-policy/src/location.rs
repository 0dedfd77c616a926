//! File paths and URLs: recognising them in table names, and checking them against the
//! policy's `allowed_locations` by lexical normalization (no file system access).
//!
//! Prefixes are compared component by component after `.` and `..` are resolved, so
//! `/data/../etc` is `/etc` and `/database` is not under `/data`. Symlinks are not
//! resolved: the allowed prefixes must be symlink-free for the check to mean anything.

/// Extensions of data files that DataFusion can read as a table from a bare name.
const DATA_FILE_EXTENSIONS: &[&str] = &[
    "parquet", "csv", "tsv", "json", "ndjson", "jsonl", "avro", "arrow", "ipc", "feather", "orc",
    "txt", "gz", "bz2", "xz", "zst", "zstd", "lz4", "snappy", "deflate",
];

/// Whether a table name (one part of an object name) denotes a file or URL rather than a
/// registered table: it has a scheme, a path separator, or a data-file extension.
pub(crate) fn looks_like_location(name: &str) -> bool {
    if name.contains("://") || name.contains('/') || name.contains('\\') {
        return true;
    }
    if has_scheme(name) && name.contains(':') && name.len() > 2 {
        // e.g. `file:x.parquet`, `s3:bucket`.
        return true;
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            let ext = ext.to_ascii_lowercase();
            DATA_FILE_EXTENSIONS.contains(&ext.as_str())
        }
        _ => false,
    }
}

fn has_scheme(text: &str) -> bool {
    match text.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// A location split into its scheme and authority (lowercased, `file` for local paths)
/// and its normalized path components.
#[derive(Debug, PartialEq, Eq)]
struct Normalized {
    root: String,
    absolute: bool,
    components: Vec<String>,
    /// The path climbed above its own root with `..`: it matches no prefix.
    escapes: bool,
}

fn normalize(location: &str) -> Normalized {
    let location = location.trim();
    let (root, path) = match location.split_once("://") {
        Some((scheme, rest)) if has_scheme(&format!("{scheme}:")) => {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "file" {
                ("file".to_owned(), rest.trim_start_matches("localhost"))
            } else {
                let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
                (
                    format!("{scheme}://{}", authority.to_ascii_lowercase()),
                    path,
                )
            }
        }
        _ => ("file".to_owned(), location),
    };
    let path = path.replace('\\', "/");
    let absolute = path.starts_with('/') || root != "file";
    let mut components: Vec<String> = Vec::new();
    let mut escapes = false;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if components.pop().is_none() {
                    escapes = true;
                }
            }
            other => components.push(other.to_owned()),
        }
    }
    Normalized {
        root,
        absolute,
        components,
        escapes,
    }
}

/// Whether `location` lies under one of `allowed` (empty list = anywhere).
pub(crate) fn is_allowed(location: &str, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let target = normalize(location);
    if target.escapes {
        return false;
    }
    allowed.iter().any(|prefix| {
        let prefix = normalize(prefix);
        !prefix.escapes
            && prefix.root == target.root
            && prefix.absolute == target.absolute
            && target.components.len() >= prefix.components.len()
            && prefix
                .components
                .iter()
                .zip(&target.components)
                .all(|(p, t)| p == t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(prefixes: &[&str]) -> Vec<String> {
        prefixes.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn names_that_are_locations() {
        for name in [
            "x.parquet",
            "data/x",
            "s3://b/k",
            "file:///tmp/t.csv",
            "C:\\data\\t",
            "events.JSON",
            "t.csv.gz",
        ] {
            assert!(looks_like_location(name), "{name}");
        }
        for name in [
            "orders", "lineitem", "my_table", "t1", "parquet", ".parquet",
        ] {
            assert!(!looks_like_location(name), "{name}");
        }
    }

    #[test]
    fn prefixes_match_by_component_after_normalization() {
        let data = allowed(&["/data"]);
        assert!(is_allowed("/data/x.parquet", &data));
        assert!(is_allowed("/data", &data));
        assert!(is_allowed("/data/./a/../b.csv", &data));
        assert!(is_allowed("file:///data/x.parquet", &data));
        assert!(!is_allowed("/data/../etc/passwd", &data));
        assert!(!is_allowed("/database/x", &data));
        assert!(!is_allowed("/etc", &data));
        assert!(
            !is_allowed("data/x", &data),
            "relative is not under an absolute prefix"
        );
        assert!(!is_allowed("/../data/x", &data));
    }

    #[test]
    fn urls_match_on_scheme_and_authority() {
        let bucket = allowed(&["s3://Bucket/tables/"]);
        assert!(is_allowed("S3://bucket/tables/t/part-0.parquet", &bucket));
        assert!(!is_allowed("s3://bucket/other", &bucket));
        assert!(!is_allowed("s3://bucket2/tables/t", &bucket));
        assert!(!is_allowed("gs://bucket/tables/t", &bucket));
        assert!(!is_allowed("s3://bucket/tables/../../secrets", &bucket));
        assert!(!is_allowed("/tables/t", &bucket));
    }

    #[test]
    fn empty_list_allows_anywhere_and_relative_prefixes_work() {
        assert!(is_allowed("/anything", &[]));
        let rel = allowed(&["data"]);
        assert!(is_allowed("data/t.csv", &rel));
        assert!(is_allowed("./data/t.csv", &rel));
        assert!(!is_allowed("data/../../t.csv", &rel));
        assert!(!is_allowed("/data/t.csv", &rel));
    }
}
