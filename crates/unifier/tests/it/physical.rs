//! The facade's physical rules, by their effect on real plans over real parquet files:
//! the merge of disjoint sorted partitions becomes a concatenation (same rows, same order),
//! and a hash join's key filter is evaluated while decoding the probe side.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use unifier::io::{FileFormatKind, IfExists, ListingSpec, SortColumn};
use unifier::policy::Preset;
use unifier::{ExecutionResult, Params, Unifier, UnifierProfile};

use crate::{batch, profile, write_parquet};

fn with_rules(ordered_concat: bool, decode_join_filters: bool) -> UnifierProfile {
    let mut p = profile(Preset::ReadOnly);
    p.runtime.ordered_concat = ordered_concat;
    p.runtime.decode_join_filters = decode_join_filters;
    p
}

async fn physical_plan(u: &Unifier, sql: &str, analyze: bool) -> String {
    let query = u
        .compile(sql, Params::None)
        .await
        .unwrap()
        .allowed()
        .unwrap();
    let explained = u.explain(&query, analyze).await.unwrap();
    explained.physical_plan.unwrap()
}

async fn ids(u: &Unifier, sql: &str) -> Vec<Option<i64>> {
    let ExecutionResult::Table { batches, .. } = u.sql(sql, Params::None).await.unwrap() else {
        panic!("expected rows for {sql}");
    };
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            a.iter().collect::<Vec<_>>()
        })
        .collect()
}

/// Six files of 500 ids each, file `i` holding `i*500 ..`, order declared on `id` in
/// `direction`.
async fn disjoint_files(u: &Unifier, dir: &Path, descending: bool) {
    for i in 0..6 {
        let mut ids: Vec<i64> = (i * 500..i * 500 + 500).collect();
        if descending {
            ids.reverse();
        }
        write_parquet(&dir.join(format!("part-{i}.parquet")), &batch(ids), 100);
    }
    let column = if descending {
        SortColumn::desc("id")
    } else {
        SortColumn::asc("id")
    };
    let spec = ListingSpec::new(dir.to_str().unwrap(), FileFormatKind::Parquet)
        .with_sort_order(vec![column]);
    u.register("t", spec, IfExists::Fail).await.unwrap();
}

#[tokio::test]
async fn disjoint_sorted_partitions_are_concatenated_not_merged() {
    for descending in [false, true] {
        let (dir_on, dir_off) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let on = Unifier::new(with_rules(true, true)).unwrap();
        let off = Unifier::new(with_rules(false, true)).unwrap();
        disjoint_files(&on, dir_on.path(), descending).await;
        disjoint_files(&off, dir_off.path(), descending).await;
        let dir = if descending { "DESC" } else { "ASC" };
        let sql = format!("SELECT id, name FROM t ORDER BY id {dir}");

        let plan = physical_plan(&on, &sql, false).await;
        assert!(plan.contains("OrderedConcatExec"), "{plan}");
        assert!(!plan.contains("SortPreservingMergeExec"), "{plan}");
        assert!(!plan.contains("SortExec"), "{plan}");
        let plan_off = physical_plan(&off, &sql, false).await;
        assert!(plan_off.contains("SortPreservingMergeExec"), "{plan_off}");

        let mut expected: Vec<Option<i64>> = (0..3000).map(Some).collect();
        if descending {
            expected.reverse();
        }
        assert_eq!(ids(&on, &sql).await, expected, "{dir}");
        assert_eq!(ids(&off, &sql).await, expected, "{dir}");
        // With a limit the merge stops early by itself: it stays.
        let limited = physical_plan(&on, &format!("{sql} LIMIT 10"), false).await;
        assert!(!limited.contains("OrderedConcatExec"), "{limited}");
    }
}

/// Four parquet files, file `i` holding `ids(i)`, registered as `t` without a declared
/// order, both rules on.
async fn four_files(ids: impl Fn(i64) -> Vec<i64>) -> (tempfile::TempDir, Unifier) {
    let tmp = tempfile::tempdir().unwrap();
    let u = Unifier::new(with_rules(true, true)).unwrap();
    for i in 0..4 {
        let path = tmp.path().join(format!("part-{i}.parquet"));
        write_parquet(&path, &batch(ids(i)), 100);
    }
    let spec = ListingSpec::new(tmp.path().to_str().unwrap(), FileFormatKind::Parquet);
    u.register("t", spec, IfExists::Fail).await.unwrap();
    (tmp, u)
}

#[tokio::test]
async fn partitions_sorted_by_the_query_are_concatenated_when_disjoint() {
    // No order declared: each partition is sorted by the query; the files' ranges are
    // disjoint, so the sorted partitions are concatenated instead of merged.
    let (_tmp, u) = four_files(|i| (i * 300..i * 300 + 300).rev().collect()).await;
    let sql = "SELECT id FROM t ORDER BY id";
    let plan = physical_plan(&u, sql, false).await;
    assert!(plan.contains("OrderedConcatExec"), "{plan}");
    assert!(plan.contains("SortExec"), "{plan}");
    // Pinned: without it a partition that runs dry takes its sibling's next file, and
    // the partitions are no longer the ranges their statistics describe.
    for _ in 0..20 {
        assert_eq!(ids(&u, sql).await, (0..1200).map(Some).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn overlapping_or_null_keys_keep_the_merge() {
    // Each file is sorted, but their ranges interleave (no order declared: each
    // partition is sorted, then merged): the merge is needed and stays.
    let (_tmp, u) = four_files(|i| (0..400).map(|k| k * 4 + i).collect()).await;
    let sql = "SELECT id FROM t ORDER BY id";
    let plan = physical_plan(&u, sql, false).await;
    assert!(plan.contains("SortPreservingMergeExec"), "{plan}");
    assert!(!plan.contains("OrderedConcatExec"), "{plan}");
    assert_eq!(ids(&u, sql).await, (0..1600).map(Some).collect::<Vec<_>>());

    // Disjoint ranges, but nulls in the key: no statistics-based proof, the merge stays.
    let tmp = tempfile::tempdir().unwrap();
    let u = Unifier::new(with_rules(true, true)).unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    for i in 0..4i64 {
        let mut values: Vec<Option<i64>> = (i * 100..i * 100 + 100).map(Some).collect();
        if i == 3 {
            values.push(None); // nulls last, in the last file
        }
        let b = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from(values))],
        )
        .unwrap();
        write_parquet(&tmp.path().join(format!("part-{i}.parquet")), &b, 50);
    }
    let spec = ListingSpec::new(tmp.path().to_str().unwrap(), FileFormatKind::Parquet)
        .with_sort_order(vec![SortColumn::asc("id")]);
    u.register("t", spec, IfExists::Fail).await.unwrap();
    let sql = "SELECT id FROM t ORDER BY id NULLS LAST";
    let plan = physical_plan(&u, sql, false).await;
    assert!(!plan.contains("OrderedConcatExec"), "{plan}");
    let got = ids(&u, sql).await;
    assert_eq!(got.len(), 401);
    assert_eq!(got[..400], (0..400).map(Some).collect::<Vec<_>>()[..]);
    assert_eq!(got[400], None);
}

#[tokio::test]
async fn concatenation_waits_for_memory_instead_of_failing() {
    // 1 MiB for the whole query: the partitions not yet emitted cannot all be held, so
    // they pause; the answer is still complete and in order.
    let tmp = tempfile::tempdir().unwrap();
    let mut p = with_rules(true, true);
    p.runtime.memory_limit_mb = Some(1);
    let u = Unifier::new(p).unwrap();
    for i in 0..6i64 {
        let ids: Vec<i64> = (i * 50_000..i * 50_000 + 50_000).collect();
        write_parquet(
            &tmp.path().join(format!("part-{i}.parquet")),
            &batch(ids),
            10_000,
        );
    }
    let spec = ListingSpec::new(tmp.path().to_str().unwrap(), FileFormatKind::Parquet)
        .with_sort_order(vec![SortColumn::asc("id")]);
    u.register("t", spec, IfExists::Fail).await.unwrap();
    let sql = "SELECT id, name FROM t ORDER BY id";
    assert!(
        physical_plan(&u, sql, false)
            .await
            .contains("OrderedConcatExec")
    );
    assert_eq!(
        ids(&u, sql).await,
        (0..300_000).map(Some).collect::<Vec<_>>()
    );
}

/// `pushdown_rows_pruned=N` summed over the plan's scans.
fn rows_pruned_while_decoding(plan: &str) -> u64 {
    plan.match_indices("pushdown_rows_pruned=")
        .map(|(at, key)| {
            let rest = &plan[at + key.len()..];
            // "123", "19.99 K", "1.20 M": up to the next `,` or `]`.
            let number = rest.split([',', ']']).next().unwrap_or("").trim();
            let (digits, scale) = match number.split_once(' ') {
                Some((d, "K")) => (d, 1_000.0),
                Some((d, "M")) => (d, 1_000_000.0),
                _ => (number, 1.0),
            };
            (digits.trim().parse::<f64>().unwrap_or(0.0) * scale) as u64
        })
        .sum()
}

#[tokio::test]
async fn a_join_key_filter_is_applied_while_decoding_the_probe_side() {
    let mut answers = Vec::new();
    for decode in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let u = Unifier::new(with_rules(true, decode)).unwrap();
        // A big side whose ids all fall inside the small side's range (so statistics
        // prune nothing), and a small side keeping 10 of its 20,000 ids.
        let big: Vec<i64> = (0..20_000).map(|i| (i * 7919) % 20_000).collect();
        write_parquet(&tmp.path().join("big/part-0.parquet"), &batch(big), 5_000);
        write_parquet(
            &tmp.path().join("small/part-0.parquet"),
            &batch((0..10).map(|i| i * 2_000 + 1)),
            10,
        );
        for name in ["big", "small"] {
            let location = tmp.path().join(name);
            let spec = ListingSpec::new(location.to_str().unwrap(), FileFormatKind::Parquet);
            u.register(name, spec, IfExists::Fail).await.unwrap();
        }
        let sql = "SELECT big.id FROM big JOIN small ON big.id = small.id ORDER BY big.id";
        let plan = physical_plan(&u, sql, true).await;
        let pruned = rows_pruned_while_decoding(&plan);
        if decode {
            assert!(
                pruned >= 19_000,
                "{pruned} rows pruned while decoding\n{plan}"
            );
        } else {
            assert_eq!(pruned, 0, "{plan}");
        }
        answers.push(ids(&u, sql).await);
    }
    assert_eq!(
        answers[0],
        (0..10).map(|i| Some(i * 2_000 + 1)).collect::<Vec<_>>()
    );
    assert_eq!(answers[0], answers[1]);
}
