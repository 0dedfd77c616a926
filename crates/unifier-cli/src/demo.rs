//! `unifier demo`: builds TPC-H data in process (tpchgen), writes a catalog manifest next
//! to it, then runs the product on it step by step — each step is the `unifier` command a
//! user would type, run by this same binary, its real output shown.
//!
//! The directory is the demo's: data generated once per scale factor and reused, the
//! manifest rewritten, the Delta table and the cursor started over on every run, so a
//! second run shows the same story. Diagnostics accumulate; the demo's queries over them
//! look at this run only.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, ArrayRef, Int32Array, RecordBatch};
use arrow::compute::kernels::temporal::{DatePart, date_part};
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use arrow::datatypes::SchemaRef;
use clap::Args;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow,
    RecordBatchIterator, RegionArrow, SupplierArrow,
};

use crate::Exit;

/// The file that marks a directory as the demo's, with the scale its data was made at.
const MARKER: &str = ".unifier-demo";
/// The TPC-H query texts, copied next to the data for the shell.
const QUERIES: [(&str, &str); 22] = [
    (
        "q1.sql",
        include_str!("../../../testdata/tpch/queries/q1.sql"),
    ),
    (
        "q2.sql",
        include_str!("../../../testdata/tpch/queries/q2.sql"),
    ),
    (
        "q3.sql",
        include_str!("../../../testdata/tpch/queries/q3.sql"),
    ),
    (
        "q4.sql",
        include_str!("../../../testdata/tpch/queries/q4.sql"),
    ),
    (
        "q5.sql",
        include_str!("../../../testdata/tpch/queries/q5.sql"),
    ),
    (
        "q6.sql",
        include_str!("../../../testdata/tpch/queries/q6.sql"),
    ),
    (
        "q7.sql",
        include_str!("../../../testdata/tpch/queries/q7.sql"),
    ),
    (
        "q8.sql",
        include_str!("../../../testdata/tpch/queries/q8.sql"),
    ),
    (
        "q9.sql",
        include_str!("../../../testdata/tpch/queries/q9.sql"),
    ),
    (
        "q10.sql",
        include_str!("../../../testdata/tpch/queries/q10.sql"),
    ),
    (
        "q11.sql",
        include_str!("../../../testdata/tpch/queries/q11.sql"),
    ),
    (
        "q12.sql",
        include_str!("../../../testdata/tpch/queries/q12.sql"),
    ),
    (
        "q13.sql",
        include_str!("../../../testdata/tpch/queries/q13.sql"),
    ),
    (
        "q14.sql",
        include_str!("../../../testdata/tpch/queries/q14.sql"),
    ),
    (
        "q15.sql",
        include_str!("../../../testdata/tpch/queries/q15.sql"),
    ),
    (
        "q16.sql",
        include_str!("../../../testdata/tpch/queries/q16.sql"),
    ),
    (
        "q17.sql",
        include_str!("../../../testdata/tpch/queries/q17.sql"),
    ),
    (
        "q18.sql",
        include_str!("../../../testdata/tpch/queries/q18.sql"),
    ),
    (
        "q19.sql",
        include_str!("../../../testdata/tpch/queries/q19.sql"),
    ),
    (
        "q20.sql",
        include_str!("../../../testdata/tpch/queries/q20.sql"),
    ),
    (
        "q21.sql",
        include_str!("../../../testdata/tpch/queries/q21.sql"),
    ),
    (
        "q22.sql",
        include_str!("../../../testdata/tpch/queries/q22.sql"),
    ),
];

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where the demo keeps its data, manifest, Delta table and events.
    #[arg(long, default_value = "unifier-demo", value_name = "DIR")]
    dir: PathBuf,
    /// TPC-H scale factor of the generated data (1 is about 8.7 million rows).
    #[arg(long, default_value_t = 0.01, value_name = "SF")]
    scale: f64,
}

type Result<T, E = String> = std::result::Result<T, E>;

/// Rows and files written for one table.
struct Generated {
    table: &'static str,
    rows: usize,
    files: usize,
}

fn parquet_error(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> String + '_ {
    move |e| format!("cannot write `{}`: {e}", path.display())
}

fn properties(max_row_group_size: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(max_row_group_size))
        .build()
}

/// Writes `batches` to one parquet file at `path`; returns the rows written.
fn write_parquet(
    path: &Path,
    schema: SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    max_row_group_size: usize,
) -> Result<usize> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
    let mut writer = ArrowWriter::try_new(file, schema, Some(properties(max_row_group_size)))
        .map_err(parquet_error(path))?;
    let mut rows = 0;
    for batch in batches {
        rows += batch.num_rows();
        writer.write(&batch).map_err(parquet_error(path))?;
    }
    writer.close().map_err(parquet_error(path))?;
    Ok(rows)
}

/// One table of TPC-H into `data/<table>.parquet`.
fn write_table<I: RecordBatchIterator>(
    data: &Path,
    table: &'static str,
    batches: I,
) -> Result<Generated> {
    let schema = batches.schema().clone();
    let rows = write_parquet(
        &data.join(format!("{table}.parquet")),
        schema,
        batches,
        1 << 20,
    )?;
    Ok(Generated {
        table,
        rows,
        files: 1,
    })
}

/// `orders`, sorted by `o_orderdate` (then `o_orderkey`), one hive-style directory per
/// year (`o_year=1995/`), small row groups so that statistics can prune them.
fn write_orders(data: &Path, scale: f64) -> Result<Generated> {
    let arrow = |e: arrow::error::ArrowError| format!("cannot sort the orders: {e}");
    let batches = OrderArrow::new(OrderGenerator::new(scale, 1, 1));
    let schema = batches.schema().clone();
    let all: Vec<RecordBatch> = batches.collect();
    let orders = concat_batches(&schema, &all).map_err(arrow)?;
    let column = |name: &str| -> Result<ArrayRef> {
        Ok(orders.column(schema.index_of(name).map_err(arrow)?).clone())
    };
    let indices = lexsort_to_indices(
        &[
            SortColumn {
                values: column("o_orderdate")?,
                options: None,
            },
            SortColumn {
                values: column("o_orderkey")?,
                options: None,
            },
        ],
        None,
    )
    .map_err(arrow)?;
    let sorted = take_record_batch(&orders, &indices).map_err(arrow)?;
    let years = date_part(
        sorted.column(schema.index_of("o_orderdate").map_err(arrow)?),
        DatePart::Year,
    )
    .map_err(arrow)?;
    let years = years
        .as_any()
        .downcast_ref::<Int32Array>()
        .ok_or("the year of o_orderdate is not an int")?;
    let (mut files, mut start) = (0, 0);
    while start < sorted.num_rows() {
        let year = years.value(start);
        let mut end = start;
        while end < sorted.num_rows() && years.value(end) == year {
            end += 1;
        }
        let path = data.join(format!("orders/o_year={year}/part-0.parquet"));
        write_parquet(
            &path,
            schema.clone(),
            std::iter::once(sorted.slice(start, end - start)),
            256,
        )?;
        files += 1;
        start = end;
    }
    Ok(Generated {
        table: "orders",
        rows: sorted.num_rows(),
        files,
    })
}

/// All eight TPC-H tables under `data/`.
fn generate(data: &Path, scale: f64) -> Result<Vec<Generated>> {
    let batch = 65_536;
    Ok(vec![
        write_table(
            data,
            "region",
            RegionArrow::new(RegionGenerator::new(scale, 1, 1)),
        )?,
        write_table(
            data,
            "nation",
            NationArrow::new(NationGenerator::new(scale, 1, 1)),
        )?,
        write_table(
            data,
            "supplier",
            SupplierArrow::new(SupplierGenerator::new(scale, 1, 1)).with_batch_size(batch),
        )?,
        write_table(
            data,
            "customer",
            CustomerArrow::new(CustomerGenerator::new(scale, 1, 1)).with_batch_size(batch),
        )?,
        write_table(
            data,
            "part",
            PartArrow::new(PartGenerator::new(scale, 1, 1)).with_batch_size(batch),
        )?,
        write_table(
            data,
            "partsupp",
            PartSuppArrow::new(PartSuppGenerator::new(scale, 1, 1)).with_batch_size(batch),
        )?,
        write_orders(data, scale)?,
        write_table(
            data,
            "lineitem",
            LineItemArrow::new(LineItemGenerator::new(scale, 1, 1)).with_batch_size(batch),
        )?,
    ])
}

/// The demo's catalog manifest.
fn manifest_text(scale: f64) -> String {
    let mut text = format!(
        "# Written by `unifier demo`: TPC-H at scale factor {scale}, generated by tpchgen.\n\
         # Keep using it:  unifier --catalog <this file> shell\n\
         # (a new `unifier demo` run rewrites this file and starts `urgent_orders` over)\n\n\
         [policy]\n\
         preset = \"writer\"    # queries, and INSERT/UPDATE/DELETE on Delta tables; no DDL, no COPY\n\
         read_diagnostics = true  # the audit trail (diagnostics.*) is readable here; off outside admin by default\n\n\
         [runtime]\n\
         query_timeout_ms = 60000\n\n\
         [[datasets]]\n\
         name = \"orders\"\n\
         kind = \"parquet\"\n\
         location = \"data/orders\"\n\
         partition_cols = [{{ name = \"o_year\", type = \"int\" }}]\n\
         sort_order = [{{ column = \"o_orderdate\", direction = \"asc\" }}]\n\
         sort_check = \"statistics\"\n"
    );
    for table in [
        "lineitem", "customer", "nation", "region", "supplier", "part", "partsupp",
    ] {
        let _ = write!(
            text,
            "\n[[datasets]]\nname = \"{table}\"\nkind = \"parquet\"\nlocation = \"data/{table}.parquet\"\n"
        );
    }
    text.push_str(
        "\n[[datasets]]\n\
         name = \"urgent_orders\"\n\
         kind = \"delta\"\n\
         location = \"lake/urgent_orders\"\n\
         change_data_feed = true   # created with these columns when missing\n\
         columns = [\n\
         \x20 { name = \"o_orderkey\", type = \"bigint\", nullable = false },\n\
         \x20 { name = \"o_custkey\", type = \"bigint\" },\n\
         \x20 { name = \"o_orderstatus\", type = \"string\" },\n\
         \x20 { name = \"o_totalprice\", type = \"decimal(15, 2)\" },\n\
         \x20 { name = \"o_orderdate\", type = \"date\" },\n\
         ]\n",
    );
    text
}

/// Makes `dir` ready: refuses a directory the demo did not make, generates the data
/// unless this scale's is already there, writes the queries and the manifest, and removes
/// what the steps create (the Delta table, the cursor) so they start over.
fn prepare(dir: &Path, scale: f64) -> Result<String> {
    let marker = dir.join(MARKER);
    let stamp = format!("tpch scale={scale}\n");
    let exists = dir.exists();
    if exists
        && !marker.is_file()
        && std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_some())
    {
        return Err(format!(
            "`{}` exists and was not made by `unifier demo`: choose another --dir or remove it",
            dir.display()
        ));
    }
    let data = dir.join("data");
    let reuse = std::fs::read_to_string(&marker).is_ok_and(|s| s == stamp)
        && data.join("lineitem.parquet").is_file();
    let mut out = String::new();
    if reuse {
        let _ = writeln!(
            out,
            "TPC-H scale factor {scale}: reusing the data of an earlier run in {}",
            data.display()
        );
    } else {
        let started = Instant::now();
        if data.exists() {
            std::fs::remove_dir_all(&data)
                .map_err(|e| format!("cannot remove `{}`: {e}", data.display()))?;
        }
        std::fs::create_dir_all(&data)
            .map_err(|e| format!("cannot create `{}`: {e}", data.display()))?;
        let tables = generate(&data, scale)?;
        std::fs::write(&marker, &stamp)
            .map_err(|e| format!("cannot write `{}`: {e}", marker.display()))?;
        let rows: usize = tables.iter().map(|t| t.rows).sum();
        let _ = writeln!(
            out,
            "TPC-H scale factor {scale}: {rows} rows in 8 tables, generated in process by tpchgen in {:.1} s:",
            started.elapsed().as_secs_f64()
        );
        for t in &tables {
            let _ = writeln!(
                out,
                "  {:<9} {:>8} rows  {} {}",
                t.table,
                t.rows,
                t.files,
                if t.files == 1 {
                    "file"
                } else {
                    "files (one per year, sorted by o_orderdate)"
                }
            );
        }
    }
    let queries = dir.join("queries");
    std::fs::create_dir_all(&queries)
        .map_err(|e| format!("cannot create `{}`: {e}", queries.display()))?;
    for (name, text) in QUERIES {
        let path = queries.join(name);
        std::fs::write(&path, text)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    for owned in ["lake/urgent_orders", ".unifier/cursors"] {
        let path = dir.join(owned);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .map_err(|e| format!("cannot remove `{}`: {e}", path.display()))?;
        }
    }
    let manifest = dir.join("unifier.toml");
    std::fs::write(&manifest, manifest_text(scale))
        .map_err(|e| format!("cannot write `{}`: {e}", manifest.display()))?;
    let _ = writeln!(
        out,
        "the 22 TPC-H queries in {}; the catalog manifest in {}",
        queries.display(),
        manifest.display()
    );
    Ok(out)
}

/// One step: a title, what it shows, the command and the exit code it should end with.
struct Step {
    title: &'static str,
    note: &'static str,
    args: Vec<String>,
    expect: Exit,
    /// Show at most this many lines of output.
    lines: usize,
}

impl Step {
    fn new(title: &'static str, note: &'static str, args: &[&str]) -> Self {
        Self {
            title,
            note,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            expect: Exit::Ok,
            lines: 60,
        }
    }

    fn expect(mut self, exit: Exit) -> Self {
        self.expect = exit;
        self
    }

    fn lines(mut self, lines: usize) -> Self {
        self.lines = lines;
        self
    }
}

/// An argument as a shell would need it written.
fn quoted(arg: &str) -> String {
    if arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c))
    {
        arg.to_owned()
    } else {
        format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Output, cut to `lines` lines.
fn cut(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let mut out = all
        .iter()
        .take(lines)
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    if all.len() > lines {
        let more = all.len() - lines;
        let _ = writeln!(
            out,
            "… ({more} more {})",
            if more == 1 { "line" } else { "lines" }
        );
    }
    out
}

fn steps(catalog: &str, since: &str) -> Vec<Step> {
    let c = |rest: &[&str]| -> Vec<String> {
        let mut args = vec!["--catalog".to_owned(), catalog.to_owned()];
        args.extend(rest.iter().map(|a| (*a).to_owned()));
        args
    };
    let q3 = QUERIES[2].1.trim().trim_end_matches(';').to_owned();
    let events = format!(
        "SELECT kind, status, count(*) AS events FROM diagnostics.events WHERE ts >= TIMESTAMP '{since}' GROUP BY kind, status ORDER BY kind, status"
    );
    let denied = format!(
        "SELECT ts, verdict, codes, classes FROM diagnostics.policy WHERE verdict = 'deny' AND ts >= TIMESTAMP '{since}'"
    );
    let mut steps = vec![
        Step::new(
            "the catalog",
            "Every dataset of the manifest, registered through the IO adapter: the orders' sort order checked against the files' statistics, the Delta table created with its Change Data Feed on.",
            &["tables"],
        ),
        Step::new(
            "a partitioned, sorted listing table",
            "o_year = 1995 reads one of seven year directories; the row groups before December are pruned by statistics; ORDER BY o_orderdate needs no sort, the verified order serves it.",
            &[
                "explain",
                "--analyze",
                "SELECT o_orderkey, o_orderdate, o_totalprice FROM orders WHERE o_year = 1995 AND o_orderdate >= DATE '1995-12-01' ORDER BY o_orderdate LIMIT 5",
            ],
        ),
        Step::new(
            "a TPC-H query (q3)",
            "Any read is a query of the catalog, checked by the policy first.",
            &["query", &q3],
        ),
        Step::new(
            "a denied statement",
            "Under the writer preset a second statement smuggled behind a query is refused before anything runs (exit code 3), with the position of each violation.",
            &["query", "SELECT count(*) FROM orders; DROP TABLE orders"],
        )
        .expect(Exit::Denied),
        Step::new(
            "INSERT into the Delta table",
            "A write goes through the write pipeline; the summary names the versions, the path and why.",
            &[
                "query",
                "INSERT INTO urgent_orders SELECT o_orderkey, o_custkey, o_orderstatus, o_totalprice, o_orderdate FROM orders WHERE o_orderpriority = '1-URGENT' AND o_orderdate >= DATE '1998-06-01'",
            ],
        ),
        Step::new(
            "UPDATE",
            "",
            &[
                "query",
                "UPDATE urgent_orders SET o_orderstatus = 'F' WHERE o_orderdate < DATE '1998-06-15'",
            ],
        ),
        Step::new(
            "DELETE",
            "",
            &[
                "query",
                "DELETE FROM urgent_orders WHERE o_totalprice < 50000",
            ],
        ),
        Step::new(
            "the change feed with table_changes",
            "Every commit's inserts, deletes and update pre/post images, from version 1 on.",
            &[
                "query",
                "SELECT _commit_version, _change_type, count(*) AS rows FROM table_changes('urgent_orders', 1) GROUP BY 1, 2 ORDER BY 1, 2",
            ],
        ),
        Step::new(
            "the change feed through a cursor",
            "A consumer named `demo` reads what it has not acknowledged yet; its position is kept next to the manifest once the rows are out.",
            &["changes", "urgent_orders", "--cursor", "demo", "--format", "csv"],
        )
        .lines(8),
        Step::new(
            "the same cursor again",
            "Nothing new since: the cursor stays where it is.",
            &["changes", "urgent_orders", "--cursor", "demo"],
        ),
        Step::new(
            "every step, in diagnostics.*",
            "Each command above left typed events; they are SQL tables.",
            &["query", &events],
        ),
        Step::new(
            "the denied statement, in diagnostics.policy",
            "",
            &["query", &denied],
        ),
    ];
    for step in &mut steps {
        step.args = c(&step.args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    steps
}

/// Runs one step with this binary; prints the command and its output.
fn run_step(exe: &Path, n: usize, step: &Step) -> Result<()> {
    let mut out = format!("\n── {n}. {}\n", step.title);
    if !step.note.is_empty() {
        let _ = writeln!(out, "{}", step.note);
    }
    let shown: Vec<String> = step.args.iter().map(|a| quoted(a)).collect();
    let _ = writeln!(out, "$ unifier {}", shown.join(" "));
    print!("{out}");
    let output = Command::new(exe)
        .args(&step.args)
        .env_remove("UNIFIER_LOG")
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{}", cut(&stdout, step.lines));
    print!("{}", cut(&stderr, step.lines));
    let code = output.status.code();
    if code != Some(step.expect as i32) {
        return Err(format!(
            "step {n} ({}) ended with exit code {}, expected {}",
            step.title,
            code.map_or_else(|| "none (killed)".to_owned(), |c| c.to_string()),
            step.expect as i32
        ));
    }
    if step.expect != Exit::Ok {
        println!("(exit code {})", step.expect as i32);
    }
    Ok(())
}

pub(crate) fn run(args: DemoArgs) -> Exit {
    if !(args.scale > 0.0 && args.scale <= 10.0) {
        eprintln!(
            "error: --scale {}: use a scale factor above 0 and at most 10",
            args.scale
        );
        return Exit::Usage;
    }
    let started = Instant::now();
    // Events of this run are the ones recorded from now on (UTC, as `ts` is).
    let since = since_now();
    println!("── 1. data and catalog");
    match prepare(&args.dir, args.scale) {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Runtime;
        }
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find the unifier binary: {e}");
            return Exit::Runtime;
        }
    };
    let catalog = args.dir.join("unifier.toml").display().to_string();
    for (i, step) in steps(&catalog, &since).iter().enumerate() {
        if let Err(e) = run_step(&exe, i + 2, step) {
            eprintln!("error: {e}");
            return Exit::Runtime;
        }
    }
    println!(
        "\ndemo finished in {:.1} s. Keep going:\n  unifier --catalog {catalog} shell\n  unifier --catalog {catalog} query < {}",
        started.elapsed().as_secs_f64(),
        args.dir.join("queries/q5.sql").display()
    );
    Exit::Ok
}

/// Now, UTC, as SQL timestamp text (seconds).
fn since_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let scalar = arrow::array::TimestampSecondArray::from(vec![secs as i64]);
    let column: Arc<dyn Array> = Arc::new(scalar);
    arrow::util::display::array_value_to_string(&column, 0).map_or_else(
        |_| "1970-01-01T00:00:00".to_owned(),
        |s| s.replace('T', " "),
    )
}
