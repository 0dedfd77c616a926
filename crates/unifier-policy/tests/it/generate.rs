//! Generated SQL for property tests and the fuzz run (`examples/fuzz_policy.rs` includes
//! this file): statements built from a small grammar with hostile pieces — quotes and
//! escapes in literals and identifiers, unicode, deep nesting, comments, keywords as
//! names — plus byte-level mutations of them.

use proptest::prelude::*;

/// An identifier: plain, a keyword, or quoted with anything inside (quotes doubled).
pub(crate) fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,6}",
        1 => prop::sample::select(vec!["select", "from", "table", "user", "order", "key", "date"])
            .prop_map(str::to_owned),
        1 => "[ -~é漢\u{1F600}]{1,6}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
    ]
}

/// A literal: numbers, strings with quotes and backslashes, typed strings, NULL, booleans.
pub(crate) fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (any::<u32>(), 0u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        "[ -~é\\\\\n]{0,8}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(|d| format!("DATE '{d}'")),
        (1u32..100).prop_map(|n| format!("INTERVAL '{n}' DAY")),
        Just("NULL".to_owned()),
        Just("TRUE".to_owned()),
        Just("FALSE".to_owned()),
    ]
}

/// An expression over columns of `t` and `u`, nested up to a few levels.
pub(crate) fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        literal(),
        ident(),
        (ident(), ident()).prop_map(|(t, c)| format!("{t}.{c}")),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "%", "=", "<>", "<", ">=", "AND", "OR", "||", "LIKE",
                ]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("NOT {a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (
                prop::sample::select(vec!["abs", "coalesce", "upper", "sum", "count", "max"]),
                prop::collection::vec(inner.clone(), 1..3)
            )
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("CASE WHEN {a} THEN {b} ELSE {c} END")),
            (
                inner.clone(),
                prop::sample::select(vec![
                    "INT",
                    "BIGINT",
                    "VARCHAR",
                    "DOUBLE",
                    "DATE",
                    "DECIMAL(10, 2)"
                ])
            )
                .prop_map(|(a, t)| format!("CAST({a} AS {t})")),
            (inner.clone(), prop::collection::vec(literal(), 1..4))
                .prop_map(|(a, list)| format!("{a} IN ({})", list.join(", "))),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, lo, hi)| format!("{a} BETWEEN {lo} AND {hi}")),
            inner.clone().prop_map(|a| format!("{a} IS NOT NULL")),
            inner.clone().prop_map(|a| format!("(SELECT {a} FROM u)")),
            inner.prop_map(|a| format!("EXISTS (SELECT 1 FROM u WHERE {a})")),
        ]
    })
}

/// A query: projection, joins, filters, grouping, order, limit, set operations, CTEs.
pub(crate) fn query() -> impl Strategy<Value = String> {
    (
        prop::bool::ANY,
        prop::collection::vec((expr(), prop::option::of(ident())), 1..4),
        ident(),
        prop::option::of((ident(), expr())),
        prop::option::of(expr()),
        prop::option::of(expr()),
        prop::option::of((expr(), prop::bool::ANY)),
        prop::option::of(0u32..1000),
        prop::sample::select(vec!["", " UNION ALL SELECT 1", " /* c */", " -- tail\n"]),
        prop::bool::ANY,
    )
        .prop_map(
            |(distinct, items, from, join, filter, group, order, limit, tail, cte)| {
                let items: Vec<String> = items
                    .into_iter()
                    .map(|(e, alias)| match alias {
                        Some(a) => format!("{e} AS {a}"),
                        None => e,
                    })
                    .collect();
                let mut sql = format!(
                    "SELECT {}{} FROM {from}",
                    if distinct { "DISTINCT " } else { "" },
                    items.join(", ")
                );
                if let Some((other, on)) = join {
                    sql.push_str(&format!(" JOIN {other} ON {on}"));
                }
                if let Some(f) = filter {
                    sql.push_str(&format!(" WHERE {f}"));
                }
                if let Some(g) = group {
                    sql.push_str(&format!(" GROUP BY {g}"));
                }
                if let Some((o, desc)) = order {
                    sql.push_str(&format!(
                        " ORDER BY {o}{}",
                        if desc { " DESC NULLS FIRST" } else { "" }
                    ));
                }
                if let Some(n) = limit {
                    sql.push_str(&format!(" LIMIT {n}"));
                }
                sql.push_str(tail);
                if cte {
                    sql = format!("WITH w AS ({sql}) SELECT * FROM w");
                }
                sql
            },
        )
}

/// A statement of any class the gate knows.
pub(crate) fn statement() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => query(),
        1 => (ident(), prop::collection::vec(literal(), 1..4))
            .prop_map(|(t, v)| format!("INSERT INTO {t} VALUES ({})", v.join(", "))),
        1 => (ident(), expr()).prop_map(|(t, w)| format!("DELETE FROM {t} WHERE {w}")),
        1 => (ident(), ident(), expr(), expr())
            .prop_map(|(t, c, v, w)| format!("UPDATE {t} SET {c} = {v} WHERE {w}")),
        1 => (ident(), query()).prop_map(|(v, q)| format!("CREATE VIEW {v} AS {q}")),
        1 => query().prop_map(|q| format!("EXPLAIN {q}")),
        1 => (ident(), literal()).prop_map(|(k, v)| format!("SET datafusion.execution.{k} = {v}")),
        1 => (ident(), literal()).prop_map(|(t, l)| {
            format!("CREATE EXTERNAL TABLE {t} STORED AS CSV LOCATION {l}")
        }),
        1 => (ident(), literal()).prop_map(|(t, l)| format!("COPY {t} TO {l}")),
    ]
}

/// A statement, sometimes two, sometimes damaged: cut short, a byte changed, a piece
/// repeated — what a fuzzer feeds a parser.
pub(crate) fn hostile() -> impl Strategy<Value = String> {
    (
        statement(),
        prop::option::of(statement()),
        0usize..4,
        any::<usize>(),
        any::<char>(),
    )
        .prop_map(|(first, second, mutation, at, c)| {
            let mut sql = match second {
                Some(second) => format!("{first}; {second}"),
                None => first,
            };
            let cut = |s: &str, at: usize| {
                let at = at % (s.len() + 1);
                let mut i = at;
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                i
            };
            match mutation {
                1 => {
                    let i = cut(&sql, at);
                    sql.truncate(i);
                }
                2 => {
                    let i = cut(&sql, at);
                    sql.insert(i, c);
                }
                3 => {
                    let i = cut(&sql, at);
                    let piece = sql[i..].to_owned();
                    sql.push_str(&piece);
                }
                _ => {}
            }
            sql
        })
}
