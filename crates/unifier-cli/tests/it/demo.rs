//! `unifier demo`: the README's main job, run as a new user runs it.

use crate::unifier_in;

#[test]
fn the_demo_runs_every_step_twice_and_leaves_a_catalog_to_keep_using() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = unifier_in(home.path(), &["demo"], None);
    assert_eq!(code, 0, "{out}{err}");
    // Each step of the story, as the user sees it.
    for shown in [
        "generated in process by tpchgen",
        "orders (listing, parquet), 10 columns, 7 files, 15000 rows, partitioned by o_year:int, sorted by o_orderdate ASC NULLS LAST (verified)",
        "changeDataFeed",
        "sort: sort elided: a verified ordering serves ORDER BY",
        "violation multiple_statements at line 1, column 30",
        "(exit code 3)",
        "rows appended to `urgent_orders`: version 0 -> 1",
        "rows updated in `urgent_orders`: version 1 -> 2",
        "rows deleted from `urgent_orders`: version 2 -> 3",
        "update_preimage",
        "no new changes of `urgent_orders` for cursor `demo` (at version 3)",
        "| policy   | denied |",
        "[multiple_statements, class_denied]",
        "demo finished in",
    ] {
        assert!(out.contains(shown), "`{shown}` missing from:\n{out}");
    }
    // Statistics pruned row groups of the one year read.
    let pruning = out.lines().find(|l| l.contains("pruning:")).unwrap();
    assert!(pruning.contains("1 file read"), "{pruning}");
    assert!(!pruning.contains(" 0 row groups pruned"), "{pruning}");

    // A second run reuses the data and tells the same story from a new table.
    let (code, again, err) = unifier_in(home.path(), &["demo"], None);
    assert_eq!(code, 0, "{again}{err}");
    assert!(
        again.contains("reusing the data of an earlier run"),
        "{again}"
    );
    assert!(again.contains("version 0 -> 1"), "{again}");

    // The files it leaves are a catalog to keep using.
    let (code, out, err) = unifier_in(
        home.path(),
        &[
            "--catalog",
            "unifier-demo/unifier.toml",
            "query",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM lineitem",
        ],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "n\n60175\n"), "{err}");
    let q5 = std::fs::read(home.path().join("unifier-demo/queries/q5.sql")).unwrap();
    let (code, out, err) = unifier_in(
        home.path(),
        &[
            "--catalog",
            "unifier-demo/unifier.toml",
            "query",
            "--format",
            "csv",
        ],
        Some(&q5),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().next(), Some("n_name,revenue"), "{out}");
}

#[test]
fn the_demo_refuses_a_directory_it_did_not_make() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("mine")).unwrap();
    std::fs::write(home.path().join("mine/notes.txt"), "keep me").unwrap();
    let (code, _, err) = unifier_in(home.path(), &["demo", "--dir", "mine"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("`mine` exists and was not made by `unifier demo`"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join("mine/notes.txt")).unwrap(),
        "keep me"
    );
}
