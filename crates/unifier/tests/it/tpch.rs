//! TPC-H at scale factor 0.01 through the facade: every answer must equal DuckDB's,
//! recorded once (`cargo xtask bench tpch --sf 0.01` writes them; kept in
//! `testdata/tpch/answers-sf0.01.json`), so a wrong-result regression fails CI even
//! when nobody benchmarks. The data is generated in process (tpchgen is deterministic).

use serde_json::Value;
use unifier::io::{FileFormatKind, IfExists, ListingSpec};
use unifier::{Compiled, ExecutionResult, Params, Unifier, UnifierProfile};

use crate::tpch_data::{TABLES, answers_match, cells, generate, json_cells, query_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_22_tpch_answers_at_sf_0_01_are_duckdbs() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 0.01).unwrap();
    let recorded: Value = serde_json::from_str(include_str!(
        "../../../../testdata/tpch/answers-sf0.01.json"
    ))
    .unwrap();
    let unifier = Unifier::new(UnifierProfile::default()).unwrap();
    for table in TABLES {
        let path = dir.path().join(format!("{table}.parquet"));
        unifier
            .register(
                table,
                ListingSpec::new(path.display().to_string(), FileFormatKind::Parquet),
                IfExists::Fail,
            )
            .await
            .unwrap();
    }
    let mut wrong = Vec::new();
    for q in 1..=22u32 {
        let sql = query_text(q).unwrap();
        let Compiled::Allowed(query) = unifier.compile(&sql, Params::None).await.unwrap() else {
            panic!("q{q} denied by read_only");
        };
        let ExecutionResult::Table { batches, .. } = unifier.execute(&query).await.unwrap() else {
            panic!("q{q}: not rows");
        };
        let answer = recorded["queries"]
            .get(q.to_string())
            .unwrap_or_else(|| panic!("no recorded answer for q{q}"));
        let expected = json_cells(&answer["rows"]);
        if !answers_match(&cells(&batches).unwrap(), &expected) {
            wrong.push(q);
        }
    }
    assert!(wrong.is_empty(), "answers differ from DuckDB's: {wrong:?}");
}
