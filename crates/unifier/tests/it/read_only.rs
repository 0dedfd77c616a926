//! The read-only guarantee as a property over generated statements: whatever the
//! `read_only` policy allows, DataFusion's own `verify_plan` with read-only `SQLOptions`
//! allows too, and running it changes no registered table (every file, every Delta
//! version, every in-memory row, the catalog's names compared before and after). The
//! statements are built from a catalog-aware grammar (its tables and columns) with the
//! disguises a hostile caller uses: EXPLAIN in its forms, CTEs, PREPARE / EXECUTE, COPY,
//! DDL, SET, transactions, two statements in one text, comments and odd case.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use unifier::datafusion::datasource::MemTable;
use unifier::datafusion::execution::context::SQLOptions;
use unifier::datafusion::prelude::SessionContext;
use unifier::io::{
    DeltaTableOptions, FileFormatKind, IfExists, ListingSpec, RegisterOptions, WriteCapabilities,
};
use unifier::policy::Preset;
use unifier::{Compiled, Params, Unifier};

use crate::{batch, rows, write_parquet};

/// A small deterministic generator (xorshift): the same statements on every run, and a
/// failing one is reported with its number.
struct Gen(u64);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len())]
    }
}

const TABLES: &[&str] = &["files", "people", "mem", "sink"];
const COLUMNS: &[&str] = &["id", "name", "*", "count(*)", "max(id)", "upper(name)"];

fn read(g: &mut Gen, depth: usize) -> String {
    let table = g.pick(TABLES);
    let column = g.pick(COLUMNS);
    match g.below(if depth > 1 { 4 } else { 9 }) {
        0 => format!("SELECT {column} FROM {table}"),
        1 => format!(
            "SELECT id, name FROM {table} WHERE id > {} ORDER BY id LIMIT 3",
            g.below(5)
        ),
        2 => format!("SELECT 1 + {}", g.below(9)),
        3 => format!("VALUES ({}, 'x')", g.below(9)),
        4 => format!(
            "SELECT a.id FROM {table} a JOIN {} b ON a.id = b.id",
            g.pick(TABLES)
        ),
        5 => format!("WITH c AS ({}) SELECT * FROM c", read(g, depth + 1)),
        6 => format!("SELECT * FROM ({}) AS s", read(g, depth + 1)),
        7 => format!(
            "SELECT id FROM {table} UNION ALL SELECT id FROM {}",
            g.pick(TABLES)
        ),
        _ => format!(
            "SELECT id FROM {table} WHERE id IN (SELECT id FROM {})",
            g.pick(TABLES)
        ),
    }
}

fn write(g: &mut Gen) -> String {
    let table = g.pick(TABLES);
    let values = format!("({}, 'w')", 100 + g.below(100));
    match g.below(16) {
        0 => format!("INSERT INTO {table} VALUES {values}"),
        1 => format!("INSERT INTO {table} SELECT * FROM {}", g.pick(TABLES)),
        2 => format!("INSERT OVERWRITE {table} VALUES {values}"),
        3 => format!("DELETE FROM {table} WHERE id > {}", g.below(5)),
        4 => format!("UPDATE {table} SET name = 'u' WHERE id = {}", g.below(5)),
        5 => format!("TRUNCATE TABLE {table}"),
        6 => format!("DROP TABLE {table}"),
        7 => format!("CREATE TABLE made AS {}", "SELECT 1 AS id"),
        8 => format!("CREATE VIEW v AS SELECT * FROM {table}"),
        9 => "COPY (SELECT 1 AS id) TO 'copied.parquet'".to_owned(),
        10 => format!("COPY {table} TO 'copied.csv'"),
        11 => "SET datafusion.execution.batch_size = 1".to_owned(),
        12 => format!("PREPARE p AS INSERT INTO {table} VALUES {values}"),
        13 => "EXECUTE p".to_owned(),
        14 => "CREATE EXTERNAL TABLE ext STORED AS CSV LOCATION 'ext.csv'".to_owned(),
        _ => g
            .pick(&[
                "BEGIN",
                "COMMIT",
                "ROLLBACK",
                "DEALLOCATE p",
                "CREATE SCHEMA s",
            ])
            .to_owned(),
    }
}

/// One statement: a read or a write, possibly wrapped, possibly followed by another.
fn statement(g: &mut Gen) -> String {
    let inner = if g.below(2) == 0 {
        read(g, 0)
    } else {
        write(g)
    };
    let wrapped = match g.below(10) {
        0 => format!("EXPLAIN {inner}"),
        1 => format!("EXPLAIN ANALYZE {inner}"),
        2 => format!("EXPLAIN VERBOSE {inner}"),
        3 => format!("PREPARE q AS {inner}"),
        4 => format!("{inner}; {}", write(g)),
        5 => format!("/* read */ {inner} -- only"),
        6 => inner.to_lowercase(),
        _ => inner,
    };
    if wrapped.starts_with("INSERT") && g.below(3) == 0 {
        // A CTE in front of a write.
        return format!("WITH c AS (SELECT 1 AS one) {wrapped}");
    }
    wrapped
}

/// Every file under `dir` with its size and modification time.
fn files(dir: &Path, out: &mut BTreeMap<String, (u64, std::time::SystemTime)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            files(&entry.path(), out);
        } else {
            out.insert(
                entry.path().display().to_string(),
                (meta.len(), meta.modified().unwrap()),
            );
        }
    }
}

/// What must not change: the files, each dataset's name, kind and Delta version, and
/// the rows of the in-memory tables.
async fn snapshot(u: &Unifier, dir: &Path) -> String {
    let mut on_disk = BTreeMap::new();
    files(dir, &mut on_disk);
    let datasets: Vec<String> = u
        .catalog()
        .datasets()
        .iter()
        .map(|d| {
            format!(
                "{} {} {:?}",
                d.name,
                d.kind.as_str(),
                d.delta.as_ref().map(|x| x.version)
            )
        })
        .collect();
    let mem = rows(u, "SELECT * FROM mem ORDER BY id").await;
    let sink = rows(u, "SELECT * FROM sink ORDER BY id").await;
    format!("{on_disk:?}\n{datasets:?}\n{mem}\n{sink}")
}

/// DataFusion on its own, with tables of the same names and schemas, planning `sql`
/// under read-only `SQLOptions` (`verify_plan`); nothing is executed.
async fn datafusion_allows(sql: &str) -> Result<(), String> {
    let ctx = SessionContext::new();
    let b = batch(1..=3);
    for table in TABLES {
        let t = MemTable::try_new(b.schema(), vec![vec![b.clone()]]).unwrap();
        ctx.register_table(*table, Arc::new(t)).unwrap(); // tidy: baseline (DataFusion alone)
    }
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    ctx.sql_with_options(sql, options)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatever_read_only_allows_datafusion_allows_and_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let u = crate::unifier(Preset::ReadOnly);
    // Writable tables of every kind: if the gate let a write through, it would land.
    write_parquet(&dir.join("files/part-0.parquet"), &batch(1..=5), 2);
    u.register(
        "files",
        ListingSpec::new(
            dir.join("files").display().to_string(),
            FileFormatKind::Parquet,
        ),
        IfExists::Fail,
    )
    .await
    .unwrap();
    // A read-only policy creates no table: a writer makes it, the read-only one opens it.
    let people = DeltaTableOptions::new(dir.join("people").to_str().unwrap());
    crate::unifier(Preset::Writer)
        .create_table(
            "people",
            batch(0..0).schema(),
            people.clone(),
            IfExists::Fail,
        )
        .await
        .unwrap();
    u.create_table("people", batch(0..0).schema(), people, IfExists::Fail)
        .await
        .unwrap();
    let b = batch(1..=4);
    u.catalog()
        .register_batches(
            "mem",
            b.schema(),
            vec![b.clone()],
            RegisterOptions::default(),
        )
        .unwrap();
    u.catalog()
        .register_provider(
            "sink",
            Arc::new(MemTable::try_new(b.schema(), vec![vec![b]]).unwrap()),
            WriteCapabilities::INSERT,
            RegisterOptions::default(),
        )
        .unwrap();
    // Statements that name files do so relative to the working directory: run there.
    std::env::set_current_dir(dir).unwrap();

    let before = snapshot(&u, dir).await;
    let mut g = Gen(0x5DEE_CE66_D1CE_4E5B);
    let (mut allowed, mut denied, mut failed) = (0, 0, 0);
    for n in 0..400 {
        let sql = statement(&mut g);
        match u.compile(&sql, Params::None).await {
            Ok(Compiled::Allowed(query)) => {
                allowed += 1;
                if let Err(e) = datafusion_allows(&sql).await {
                    // Planning errors DataFusion shares with us are fine; a refusal for
                    // DDL, DML or a statement is not.
                    assert!(
                        !(e.contains("not supported") || e.contains("DDL") || e.contains("DML")),
                        "#{n} `{sql}`: allowed by read_only, refused by verify_plan: {e}"
                    );
                }
                if u.execute(&query).await.is_err() {
                    failed += 1;
                }
            }
            Ok(Compiled::Denied(_)) | Err(_) => denied += 1,
        }
        assert_eq!(
            snapshot(&u, dir).await,
            before,
            "#{n} `{sql}` changed a table"
        );
    }
    eprintln!("400 statements: {allowed} allowed ({failed} failed at run time), {denied} refused");
    assert!(
        allowed >= 100 && denied >= 100,
        "{allowed} allowed, {denied} refused"
    );
}
