//! Faults through the real binary: `kill -9` in the middle of `unifier write`, a disk that
//! fills up during a write, and corrupt or missing inputs. What a user must see: the
//! table at a committed version (old rows or new, never a mix), a retry that commits
//! exactly once, and errors that name the file and the dataset with nothing on stdout.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::delta::catalog;
use crate::unifier_in;

/// Rows of one write in the kill trials: enough that a write takes a while.
const ROWS: u64 = 100_000;

/// A csv of `ROWS` rows for trial `k`, every row named `trial-k`.
fn trial_file(dir: &Path, k: u32) -> std::path::PathBuf {
    let path = dir.join(format!("trial-{k}.csv"));
    let mut text = String::with_capacity(ROWS as usize * 16);
    text.push_str("id,name\n");
    for i in 0..ROWS {
        text.push_str(&format!("{i},trial-{k}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn write_args(file: &Path, k: u32) -> Vec<String> {
    [
        "write",
        "t",
        "--file",
        file.to_str().unwrap(),
        "--app-id",
        "loader",
        "--app-version",
        &k.to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// (rows of trial `k`, rows of the table) as a reader sees them now.
fn counts(dir: &Path, k: u32) -> (u64, u64) {
    let sql = format!("SELECT count(*) FILTER (WHERE name = 'trial-{k}'), count(*) FROM t");
    let (code, out, err) = unifier_in(dir, &["query", "--format", "csv", &sql], None);
    assert_eq!(code, 0, "the table must open after the kill: {err}");
    let line = out.lines().nth(1).expect("a row");
    let (mine, all) = line.split_once(',').unwrap();
    (mine.parse().unwrap(), all.parse().unwrap())
}

#[test]
fn kill_9_during_a_write_leaves_a_committed_version_and_a_retry_commits_once() {
    let dir = catalog();
    let d = dir.path();
    let (_, base) = counts(d, 0);

    // An uncut write tells how long one takes; the kills are spread over that time.
    let file = trial_file(d, 0);
    let started = Instant::now();
    let (code, out, err) = unifier_in(
        d,
        &write_args(&file, 0)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        None,
    );
    let full = started.elapsed();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{ROWS} rows appended")), "{out}");

    let trials = 20;
    let mut committed_before_kill = 0;
    let mut expected_total = base + ROWS;
    for k in 1..=trials {
        let file = trial_file(d, k);
        let args = write_args(&file, k);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let delay = full.mul_f64(1.6 * f64::from(k) / f64::from(trials));
        let mut child = Command::new(env!("CARGO_BIN_EXE_unifier"))
            .current_dir(d)
            .env_remove("UNIFIER_LOG")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        // SIGKILL: no destructor, no flush, no cleanup.
        let _ = child.kill();
        child.wait().unwrap();

        // A reader: the table opens at a committed version holding all of this write or none.
        let (mine, all) = counts(d, k);
        assert!(
            mine == 0 || mine == ROWS,
            "trial {k}: a mix, {mine} of {ROWS} rows"
        );
        if mine == ROWS {
            committed_before_kill += 1;
        }
        assert_eq!(all, expected_total + mine, "trial {k}: other rows changed");

        // The retry commits exactly once, whether or not the killed write had committed.
        let (code, out, err) = unifier_in(d, &argv, None);
        assert_eq!(code, 0, "trial {k}: {err}");
        if mine == ROWS {
            assert!(out.contains("is already committed"), "trial {k}: {out}");
        } else {
            assert!(
                out.contains(&format!("{ROWS} rows appended")),
                "trial {k}: {out}"
            );
        }
        let (code, out, _) = unifier_in(d, &argv, None);
        assert_eq!(code, 0);
        assert!(
            out.contains("nothing committed"),
            "trial {k}, second retry: {out}"
        );
        expected_total += ROWS;
        assert_eq!(
            counts(d, k),
            (ROWS, expected_total),
            "trial {k} after the retries"
        );
    }
    eprintln!(
        "{trials} kills spread over 1.6 x {full:?}: {committed_before_kill} after the commit, {} before",
        trials - committed_before_kill
    );
}

/// A small tmpfs mounted for the test's life (root only); `None` where mounting is not
/// allowed.
struct Mounted(std::path::PathBuf);

impl Mounted {
    fn tmpfs(at: &Path, size: &str) -> Option<Mounted> {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Mounted(at.to_owned()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_disk_that_fills_up_during_a_write_fails_it_and_leaves_the_table_unchanged() {
    let dir = catalog();
    let d = dir.path();
    // Rows that do not compress: about 8 MiB of parquet.
    let mut text = String::from("id,name\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..200_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push_str(&format!("{i},{x:016x}{:016x}\n", x.rotate_left(29)));
    }
    let rows = d.join("rows.csv");
    std::fs::write(&rows, text).unwrap();
    let (_, before) = counts(d, 0);
    let log_before = std::fs::read_dir(d.join("t/_delta_log")).unwrap().count();

    // A real full disk where the machine lets us mount one; elsewhere, a file size limit
    // (`ulimit -f`, with SIGXFSZ ignored so a write returns an error instead of killing).
    let small = d.join("small");
    let mounted = Mounted::tmpfs(&small, "2m");
    let args = ["write", "t", "--file", rows.to_str().unwrap()];
    let shell = mounted.is_none();
    let workdir = if shell { d.to_owned() } else { small.clone() };
    if !shell {
        crate::delta::copy_dir(&d.join("t"), &small.join("t"));
        std::fs::copy(d.join("unifier.toml"), small.join("unifier.toml")).unwrap();
    }
    let output = if shell {
        Command::new("sh")
            .current_dir(&workdir)
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f 2048; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_unifier"))
            .args(args)
            .output()
            .unwrap()
    } else {
        Command::new(env!("CARGO_BIN_EXE_unifier"))
            .current_dir(&workdir)
            .args(args)
            .output()
            .unwrap()
    };
    let err = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "{}: {err}",
        if shell { "ulimit -f" } else { "tmpfs of 2 MiB" }
    );
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let expected = if shell {
        "File too large"
    } else {
        "No space left on device"
    };
    let last = &err[err.rfind("\nerror: ").map_or(0, |i| i + 1)..];
    assert!(
        last.starts_with("error: table `t`: the Delta write failed; nothing was committed"),
        "{err}"
    );
    assert!(last.contains(expected), "{err}");
    // The table: same commits, same rows.
    assert_eq!(
        std::fs::read_dir(workdir.join("t/_delta_log"))
            .unwrap()
            .count(),
        log_before
    );
    assert_eq!(counts(&workdir, 0).1, before);
}

/// A catalog of damaged inputs: each query of one exits 1 naming the file and the dataset,
/// and prints nothing on stdout.
#[test]
fn corrupt_and_missing_inputs_exit_1_naming_the_file_and_the_dataset() {
    let dir = catalog();
    let d = dir.path();
    let parquet = std::fs::read_dir(d.join("t"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let bytes = std::fs::read(&parquet).unwrap();
    std::fs::create_dir_all(d.join("trunc")).unwrap();
    std::fs::write(d.join("trunc/part-0.parquet"), &bytes[..bytes.len() - 20]).unwrap();
    std::fs::create_dir_all(d.join("magic")).unwrap();
    let mut wrong = bytes.clone();
    let n = wrong.len();
    wrong[n - 4..].copy_from_slice(b"PAR0");
    std::fs::write(d.join("magic/part-0.parquet"), wrong).unwrap();

    let damaged = |name: &str, damage: &dyn Fn(&Path)| {
        crate::delta::copy_dir(&d.join("t"), &d.join(name));
        damage(&d.join(name).join("_delta_log"));
    };
    damaged("gap", &|log| {
        std::fs::remove_file(log.join("00000000000000000001.json")).unwrap();
    });
    damaged("badline", &|log| {
        std::fs::write(
            log.join("00000000000000000003.json"),
            "{\"add\": {\"path\":\n",
        )
        .unwrap();
    });
    damaged("parts", &|log| {
        std::fs::write(
            log.join("_last_checkpoint"),
            r#"{"version":2,"size":4,"parts":2}"#,
        )
        .unwrap();
        std::fs::write(
            log.join("00000000000000000002.checkpoint.0000000001.0000000002.parquet"),
            b"PAR1",
        )
        .unwrap();
    });
    let mut manifest = std::fs::read_to_string(d.join("unifier.toml")).unwrap();
    for (name, kind) in [
        ("trunc", "parquet"),
        ("magic", "parquet"),
        ("gap", "delta"),
        ("badline", "delta"),
        ("parts", "delta"),
    ] {
        manifest.push_str(&format!(
            "\n[[datasets]]\nname = \"{name}\"\nkind = \"{kind}\"\nlocation = \"{name}\"\n"
        ));
    }
    std::fs::write(d.join("unifier.toml"), manifest).unwrap();

    for (name, file) in [
        ("trunc", "trunc/part-0.parquet"),
        ("magic", "magic/part-0.parquet"),
        (
            "gap",
            "commit 1 is missing: `_delta_log/00000000000000000000.json` is followed by",
        ),
        ("badline", "_delta_log/00000000000000000003.json"),
        (
            "parts",
            "_delta_log/00000000000000000002.checkpoint.0000000002.0000000002.parquet",
        ),
    ] {
        let sql = format!("SELECT * FROM {name}");
        let (code, out, err) = unifier_in(d, &["query", &sql], None);
        assert_eq!(code, 1, "{name}: {err}");
        assert!(out.is_empty(), "{name}: nothing on stdout, got {out}");
        // The error is the text from the last `error: ` on (with RUST_BACKTRACE set,
        // delta-kernel's messages carry a backtrace over many lines after it).
        let last = &err[err.rfind("\nerror: ").map_or(0, |i| i + 1)..];
        assert!(last.starts_with("error: "), "{name}: {err}");
        assert!(
            last.contains(&format!("`{name}`")),
            "{name} not named: {last}"
        );
        assert!(last.contains(file), "`{file}` not in: {last}");
    }
    // The healthy dataset beside them still answers.
    assert_eq!(counts(d, 0).1, 1);
}
