//! Statement text with its literals taken out, as `pg_stat_statements` stores statements:
//! what an audit trail may keep by default without keeping the data a statement carried
//! (`WHERE email = 'a@b.c'`, `VALUES (4111111111111111)`).

use std::ops::ControlFlow;

use sqlparser::ast::{Value, ValueWithSpan, VisitMut, VisitorMut};

use crate::ast::{CopySource, PolicyStatement};

/// The statement with every literal value (strings, numbers, booleans, typed strings
/// such as `DATE '…'`, interval values) replaced by a numbered placeholder `$1`, `$2`, …
/// in order of appearance; `NULL` and existing placeholders stay. Numbering starts after
/// the largest `$n` the statement already has. Statements that differ only in their
/// literals normalize to the same text. Names, keywords and the statement's shape are
/// kept; the options and locations of `CREATE EXTERNAL TABLE` and `COPY … TO` are kept
/// too (configuration, not data).
pub fn normalized_sql(statement: &PolicyStatement) -> String {
    normalize(statement).0
}

/// [`normalized_sql`] and the literals it took out, as they were written (strings
/// without their quotes), in order.
pub fn normalize(statement: &PolicyStatement) -> (String, Vec<String>) {
    let mut statement = statement.clone();
    let mut highest = Highest(0);
    let _ = visit(&mut statement, &mut highest);
    let mut replace = Replace {
        next: highest.0 + 1,
        literals: Vec::new(),
    };
    let _ = visit(&mut statement, &mut replace);
    (statement.to_string(), replace.literals)
}

fn visit<V: VisitorMut<Break = ()>>(statement: &mut PolicyStatement, v: &mut V) -> ControlFlow<()> {
    match statement {
        PolicyStatement::Sql(s) => s.visit(v),
        PolicyStatement::CreateExternalTable(_) | PolicyStatement::Reset(_) => {
            ControlFlow::Continue(())
        }
        PolicyStatement::CopyTo(copy) => match &mut copy.source {
            CopySource::Query(query) => query.visit(v),
            CopySource::Relation(_) => ControlFlow::Continue(()),
        },
        PolicyStatement::Explain(explain) => visit(&mut explain.statement, v),
    }
}

/// The largest `$n` placeholder already in the statement.
struct Highest(u64);

impl VisitorMut for Highest {
    type Break = ();

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<()> {
        if let Value::Placeholder(p) = &value.value
            && let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<u64>().ok())
        {
            self.0 = self.0.max(n);
        }
        ControlFlow::Continue(())
    }
}

struct Replace {
    next: u64,
    literals: Vec<String>,
}

impl VisitorMut for Replace {
    type Break = ();

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<()> {
        if !matches!(value.value, Value::Placeholder(_) | Value::Null) {
            let literal = value
                .value
                .clone()
                .into_string()
                .unwrap_or_else(|| value.value.to_string());
            self.literals.push(literal);
            value.value = Value::Placeholder(format!("${}", self.next));
            self.next += 1;
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Policy, PolicyProfile, Preset};

    fn normalized(sql: &str) -> String {
        let policy = Policy::new(PolicyProfile::preset(Preset::Admin)).unwrap();
        let report = policy.check(sql).unwrap();
        super::normalized_sql(&report.statements[0].statement)
    }

    #[test]
    fn literals_become_numbered_placeholders() {
        assert_eq!(
            normalized(
                "SELECT name FROM users WHERE email = 'a@b.c' AND age > 41 AND ok = true LIMIT 10"
            ),
            "SELECT name FROM users WHERE email = $1 AND age > $2 AND ok = $3 LIMIT $4"
        );
        assert_eq!(
            normalized("INSERT INTO cards VALUES (4111111111111111, 'Ann', NULL)"),
            "INSERT INTO cards VALUES ($1, $2, NULL)"
        );
        assert_eq!(
            normalized(
                "SELECT * FROM t WHERE d >= DATE '1998-12-01' - INTERVAL '90' DAY AND s LIKE '%x%'"
            ),
            "SELECT * FROM t WHERE d >= DATE $1 - INTERVAL $2 DAY AND s LIKE $3"
        );
    }

    #[test]
    fn statements_differing_only_in_literals_normalize_alike() {
        assert_eq!(
            normalized("select * from t where id = 1 and name = 'x'"),
            normalized("select * from t where id = 99 and name = 'secret'")
        );
        assert_ne!(
            normalized("select * from t where id = 1"),
            normalized("select * from u where id = 1")
        );
    }

    #[test]
    fn existing_placeholders_keep_their_numbers() {
        assert_eq!(
            normalized("SELECT * FROM t WHERE id = $2 AND name = 'x' AND k = $1"),
            "SELECT * FROM t WHERE id = $2 AND name = $3 AND k = $1"
        );
    }

    #[test]
    fn nested_statements_are_normalized_too() {
        assert_eq!(
            normalized("EXPLAIN SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE v = 'x')"),
            "EXPLAIN SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE v = $1)"
        );
        assert_eq!(
            normalized("COPY (SELECT * FROM t WHERE id = 5) TO '/tmp/out.parquet'"),
            "COPY (SELECT * FROM t WHERE id = $1) TO '/tmp/out.parquet'"
        );
    }
}
