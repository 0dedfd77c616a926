//! What the audit trail keeps of a statement: normalized text by default (literals out,
//! in the events table and in the JSON-lines file on disk), the full text when the
//! profile asks for it.

use unifier::io::RegisterOptions;
use unifier::policy::Preset;
use unifier::{Params, Unifier, UnifierProfile};

use crate::{batch, profile, rows};

const SECRETS: [&str; 4] = ["secret-value", "424242", "secret-cast", "secret-parse"];

async fn run_statements(full_sql: bool) -> (Unifier, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut p: UnifierProfile = profile(Preset::ReadOnly);
    p.diagnostics.dir = Some(dir.path().to_path_buf());
    p.diagnostics.history = false;
    p.diagnostics.full_sql = full_sql;
    let u = Unifier::new(p).unwrap();
    let b = batch(1..=3);
    u.catalog()
        .register_batches("t", b.schema(), vec![b], RegisterOptions::default())
        .unwrap();
    // Allowed, with literals.
    u.sql(
        "SELECT name FROM t WHERE name = 'secret-value' OR id = 424242",
        Params::None,
    )
    .await
    .unwrap();
    // Fails while running, the engine quoting the literal in its message.
    let failed = u
        .sql("SELECT CAST('secret-cast' AS INT) AS n", Params::None)
        .await;
    assert!(failed.is_err());
    // Does not parse.
    assert!(
        u.sql("SELECT * FROM t WHERE id = 1 'secret-parse'", Params::None)
            .await
            .is_err()
    );
    // Denied, literal included.
    let denied = u
        .sql("DELETE FROM t WHERE name = 'secret-value'", Params::None)
        .await;
    assert!(denied.is_err());
    u.recorder().flush().unwrap();
    (u, dir)
}

fn on_disk(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    text
}

#[tokio::test]
async fn events_keep_statements_normalized_by_default() {
    let (u, dir) = run_statements(false).await;
    let policy = rows(
        &u,
        "SELECT verdict, sql FROM diagnostics.policy ORDER BY event_id",
    )
    .await;
    assert!(
        policy.contains("SELECT name FROM t WHERE name = $1 OR id = $2"),
        "{policy}"
    );
    assert!(policy.contains("DELETE FROM t WHERE name = $1"), "{policy}");
    let events = rows(&u, "SELECT kind, message FROM diagnostics.events").await;
    let file = on_disk(dir.path());
    assert!(file.contains("\"sql\":\"SELECT name FROM t WHERE name = $1 OR id = $2\""));
    for secret in SECRETS {
        assert!(!events.contains(secret), "`{secret}` in events:\n{events}");
        assert!(!file.contains(secret), "`{secret}` in the JSON-lines file");
    }
    // The failures are still there, and say what failed.
    assert!(events.contains("Cannot cast"), "{events}");
}

#[tokio::test]
async fn full_sql_keeps_the_statements_as_written() {
    let (u, dir) = run_statements(true).await;
    let policy = rows(&u, "SELECT sql FROM diagnostics.policy ORDER BY event_id").await;
    assert!(
        policy.contains("SELECT name FROM t WHERE name = 'secret-value' OR id = 424242"),
        "{policy}"
    );
    let file = on_disk(dir.path());
    for secret in SECRETS {
        assert!(file.contains(secret), "`{secret}` kept with full_sql");
    }
}
