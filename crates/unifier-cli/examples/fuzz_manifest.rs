//! `cargo xtask fuzz --manifest [--minutes N]`: hostile catalog manifests through the real
//! `unifier` binary. Each input is a valid manifest (every section, every dataset kind,
//! over real data: csv, json, parquet, a Delta table) damaged by a few mutations: a value
//! replaced by a hostile one (huge, negative, empty, a path out of the directory, a
//! device, a deep array, a bad type name, SQL), a line dropped, doubled or moved, bytes
//! inserted, the text cut. The binary then lists the catalog (`tables`) and runs a query
//! over it. A finding is a panic, a signal, an exit code the binary does not document, or a
//! run longer than 20 s; each is written to `target/fuzz-manifest/` and should become a
//! test.
//!
//! `fuzz_manifest BINARY WORKDIR [MINUTES]` (xtask passes the release binary).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A manifest using every section over the data [`prepare`] lays out.
const SEED: &str = r#"[policy]
preset = "writer"
dialect = "postgresql"
read_diagnostics = true
max_depth = 64

[runtime]
batch_size = 8192
memory_limit_mb = 512
query_timeout_ms = 10000
sort_policy = "strict"
ordered_concat = true
decode_join_filters = true
cache_file_lists = false

[scan]
parquet_pruning = true
skip_metadata = true
pushdown_filters = false
reorder_filters = false
page_index = true
target_partitions = 2
collect_statistics = true

[diagnostics]
dir = ".unifier/diagnostics"
capacity = 1000
history = true
full_sql = false
retention_days = 30
max_mb = 16

[[datasets]]
name = "zones"
kind = "csv"
location = "data/zones.csv"
options = { has_header = true, delimiter = "," }

[[datasets]]
name = "events"
kind = "json"
location = "data/events.ndjson"
file_extension = ".ndjson"

[[datasets]]
name = "parts"
kind = "parquet"
location = "data/parts"
partition_cols = [{ name = "year", type = "int" }]
sort_order = [{ column = "id", direction = "asc", nulls = "last" }]
sort_check = "statistics"

[[datasets]]
name = "orders"
kind = "delta"
location = "lake/orders"

[[datasets]]
name = "made"
kind = "delta"
location = "lake/made"
columns = [
  { name = "id", type = "bigint", nullable = false },
  { name = "day", type = "date" },
  { name = "amount", type = "decimal(12, 2)" },
]
change_data_feed = true
partition_by = ["day"]

[[datasets]]
name = "order_changes"
kind = "delta_cdf"
location = "lake/orders"
starting_version = 0

[[views]]
name = "daily"
schema = "reports"
sql = "SELECT zone, count(*) AS n FROM zones GROUP BY zone"
columns = [
  { name = "zone", type = "text" },
  { name = "n", type = "bigint", nullable = false },
]
schema_mode = "strict"
"#;

const HOSTILE: &[&str] = &[
    "0",
    "-1",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "1e309",
    "nan",
    "inf",
    "\"\"",
    "\" \"",
    "\"\\u0000\"",
    "\"../../../../../../etc/passwd\"",
    "\"/dev/zero\"",
    "\"/proc/self/mem\"",
    "\"/\"",
    "\"*\"",
    "\"**/*\"",
    "\"data/*.csv\"",
    "\"s3://bucket/none\"",
    "\"file:///nonexistent\"",
    "\"http://127.0.0.1:1/x\"",
    "\"é𝄞\u{202e}\"",
    "true",
    "[]",
    "{}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "\"x; DROP TABLE zones\"",
    "\"SELECT * FROM diagnostics.events\"",
    "\"SELECT * FROM daily\"",
    "\"decimal(76, 80)\"",
    "\"decimal(1000, 0)\"",
    "\"struct<a int>\"",
    "\"list<list<list<int>>>\"",
    "\"INT\"",
    "[{ name = \"id\", type = \"int\" }, { name = \"id\", type = \"int\" }]",
    "[{ name = \"\", type = \"\" }]",
    "[{ column = \"nope\", direction = \"sideways\" }]",
    "{ has_header = \"maybe\", delimiter = \"ab\" }",
    "{ delimiter = \"\\u0000\" }",
    "\"zones\"",
    "\"Zones\"",
    "\"diagnostics.x\"",
    "\"a.b.c\"",
    "\"datafusion.public.t\"",
];

const HEADERS: &[&str] = &[
    "[policy]",
    "[runtime]",
    "[scan]",
    "[diagnostics]",
    "[[datasets]]",
    "[[views]]",
    "[unknown]",
    "[[policy]]",
    "[datasets]",
];

/// xorshift: a seed per worker, reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Whether two TOML values (as written) are of the same kind: number, string, boolean,
/// array, inline table.
fn same_kind(a: &str, b: &str) -> bool {
    let kind = |v: &str| match v.chars().next() {
        Some('"') => 's',
        Some('[') => 'a',
        Some('{') => 't',
        Some('t' | 'f') => 'b',
        _ => 'n',
    };
    kind(a) == kind(b)
}

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Usually one mutation: deep enough to reach registration; sometimes several.
    let mutations = if rng.below(3) == 0 {
        2 + rng.below(3)
    } else {
        1
    };
    for _ in 0..mutations {
        let n = lines.len().max(1);
        let i = rng.below(n);
        match rng.below(12) {
            0..=5 => {
                // A value replaced: `key = value` or an element of an inline table.
                if let Some(line) = lines.get_mut(i)
                    && let Some(eq) = line.find(" = ")
                {
                    // Mostly a value of the same kind, so the manifest still parses and
                    // the value reaches validation, the profile and registration.
                    let old = line[eq + 3..].trim_start();
                    let same: Vec<&str> = HOSTILE
                        .iter()
                        .copied()
                        .filter(|h| same_kind(h, old))
                        .collect();
                    let value = if !same.is_empty() && rng.below(4) > 0 {
                        same[rng.below(same.len())]
                    } else {
                        HOSTILE[rng.below(HOSTILE.len())]
                    };
                    *line = format!("{} = {value}", &line[..eq]);
                }
            }
            6 => {
                if i < lines.len() {
                    lines.remove(i);
                }
            }
            7 => {
                if let Some(line) = lines.get(i).cloned() {
                    lines.insert(rng.below(n), line);
                }
            }
            8 => {
                let j = rng.below(n);
                if i < lines.len() && j < lines.len() {
                    lines.swap(i, j);
                }
            }
            9 => lines.insert(i, HEADERS[rng.below(HEADERS.len())].to_owned()),
            10 => {
                if let Some(line) = lines.get_mut(i) {
                    let at = rng.below(line.len() + 1);
                    let at = (0..=at)
                        .rev()
                        .find(|a| line.is_char_boundary(*a))
                        .unwrap_or(0);
                    let junk = ["\"", "'", "[", "]", "{", "}", "=", "\n", "#", "\\", "\u{0}"];
                    line.insert_str(at, junk[rng.below(junk.len())]);
                }
            }
            _ => {
                let keep = rng.below(n);
                lines.truncate(keep);
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The data the seed manifest names, under `dir`.
fn prepare(dir: &Path, delta_fixture: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("data/parts/year=2024"))?;
    std::fs::write(dir.join("data/zones.csv"), "zone,name\n1,a\n2,b\n3,c\n")?;
    std::fs::write(
        dir.join("data/events.ndjson"),
        "{\"id\": 1, \"kind\": \"a\"}\n{\"id\": 2, \"kind\": \"b\"}\n",
    )?;
    copy_dir(delta_fixture, &dir.join("lake/orders"))?;
    // A parquet file: one of the Delta table's data files.
    let part = std::fs::read_dir(delta_fixture)?
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .map(|e| e.path())
        .ok_or_else(|| std::io::Error::other("no parquet file in the Delta fixture"))?;
    std::fs::copy(part, dir.join("data/parts/year=2024/part-0.parquet"))?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Runs the binary on `manifest` in `dir`: its exit code, or `Err(why)` when it is a
/// finding.
fn run(binary: &Path, dir: &Path, args: &[&str]) -> Result<i32, String> {
    let mut child = Command::new(binary)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env("RUST_BACKTRACE", "0")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the binary: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    use std::io::Read;
                    let _ = pipe.read_to_string(&mut err);
                }
                return match status.code() {
                    _ if err.contains("panicked") => Err(format!("panic: {err}")),
                    Some(code @ 0..=4) => Ok(code),
                    Some(code) => Err(format!("exit {code}: {err}")),
                    None => Err(format!("killed by a signal ({status}): {err}")),
                };
            }
            Ok(None) if started.elapsed() > Duration::from_secs(20) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("hang: still running after 20 s".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("wait failed: {e}")),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [binary, workdir, rest @ ..] = args.as_slice() else {
        return Err("usage: fuzz_manifest BINARY WORKDIR [MINUTES] [DELTA_FIXTURE]".into());
    };
    let minutes: f64 = rest.first().map_or(Ok(10.0), |m| m.parse())?;
    let fixture = rest.get(1).map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../testdata/delta/simple_table_with_cdc")
        },
        PathBuf::from,
    );
    let binary = PathBuf::from(binary);
    let workdir = PathBuf::from(workdir);
    let findings_dir = workdir.join("findings");
    std::fs::create_dir_all(&findings_dir)?;
    let deadline = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    let (inputs, runs, findings) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let stop = Arc::new(AtomicBool::new(false));
    // How `unifier tables` ended, by exit code: how deep the inputs got.
    let exits: Arc<[AtomicU64; 5]> = Arc::new(Default::default());
    let started = Instant::now();
    let workers: Vec<_> = (0..2u64)
        .map(|w| {
            let (binary, fixture, findings_dir) =
                (binary.clone(), fixture.clone(), findings_dir.clone());
            let (inputs, runs, findings, stop, exits) = (
                inputs.clone(),
                runs.clone(),
                findings.clone(),
                stop.clone(),
                exits.clone(),
            );
            let base = workdir.join(format!("worker-{w}"));
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut rng =
                    Rng(0x9E37_79B9_7F4A_7C15 ^ (w + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
                let mut n = 0u64;
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    // A fresh directory every 200 inputs: writes and caches do not pile up.
                    if n.is_multiple_of(200) {
                        let _ = std::fs::remove_dir_all(&base);
                        prepare(&base, &fixture)?;
                    }
                    n += 1;
                    let text = mutate(&mut rng, SEED);
                    let manifest = base.join("unifier.toml");
                    std::fs::write(&manifest, &text)?;
                    inputs.fetch_add(1, Ordering::Relaxed);
                    for args in [
                        &["tables"][..],
                        &["query", "--format", "csv", "SELECT count(*) FROM zones"][..],
                    ] {
                        runs.fetch_add(1, Ordering::Relaxed);
                        let outcome = run(&binary, &base, args);
                        if let (Ok(code), "tables") = (&outcome, args[0]) {
                            exits[*code as usize].fetch_add(1, Ordering::Relaxed);
                        }
                        if let Err(why) = outcome {
                            let k = findings.fetch_add(1, Ordering::Relaxed);
                            let path = findings_dir.join(format!("finding-{w}-{k}.toml"));
                            std::fs::write(
                                &path,
                                format!("# {} -> {why}\n{text}", args.join(" ")),
                            )?;
                            eprintln!(
                                "finding: {} ({})",
                                path.display(),
                                why.lines().next().unwrap_or("")
                            );
                        }
                    }
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a worker panicked")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (inputs, runs, findings) = (
        inputs.load(Ordering::Relaxed),
        runs.load(Ordering::Relaxed),
        findings.load(Ordering::Relaxed),
    );
    let exits: Vec<u64> = exits.iter().map(|e| e.load(Ordering::Relaxed)).collect();
    println!(
        "fuzz_manifest: {inputs} manifests, {runs} runs of the binary in {elapsed:.0} s \
         ({:.1} manifests/s, {:.1} runs/s), {findings} findings; `tables` exited 0 (listed) \
         {} times, 1 (a dataset failed) {}, 2 (the manifest refused) {}",
        inputs as f64 / elapsed,
        runs as f64 / elapsed,
        exits[0],
        exits[1],
        exits[2]
    );
    if findings > 0 {
        return Err(format!("{findings} findings in {}", findings_dir.display()).into());
    }
    Ok(())
}
