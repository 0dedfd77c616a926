//! The one table of constructs that parse but that DataFusion 55 cannot run faithfully.
//!
//! Each row was read off `datafusion-sql` 55.2's planner: either it returns a
//! "not implemented" error, or — worse — it ignores the clause and runs something else
//! than what was written. `unsupported_level` decides what the gate does with them.
//! `docs/policy.md` lists the same rows; a test keeps the two in step.

/// One construct DataFusion 55 cannot run as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsupportedConstruct {
    /// Stable identifier, used in messages and docs.
    pub id: &'static str,
    /// The SQL that triggers it.
    pub construct: &'static str,
    /// What DataFusion 55 does with it.
    pub datafusion: &'static str,
}

macro_rules! constructs {
    ($( $name:ident = ($id:literal, $construct:literal, $df:literal); )*) => {
        $(
            #[doc = concat!("`", $id, "`: ", $construct)]
            pub(crate) const $name: UnsupportedConstruct =
                UnsupportedConstruct { id: $id, construct: $construct, datafusion: $df };
        )*
        /// Every row of the table, in documentation order.
        pub const UNSUPPORTED: &[UnsupportedConstruct] = &[$($name),*];
    };
}

constructs! {
    STATEMENT = ("statement", "a statement kind DataFusion does not plan (e.g. GRANT, VACUUM, CALL, LOCK, cursors, scripting)", "error: unsupported SQL statement");
    TOP = ("top", "SELECT TOP n", "error: TOP not implemented");
    CLUSTER_BY = ("cluster_by", "SELECT ... CLUSTER BY", "error: not implemented");
    SORT_BY = ("sort_by", "SELECT ... SORT BY", "error: not implemented");
    LATERAL_VIEW = ("lateral_view", "LATERAL VIEW explode(...)", "error: not implemented");
    FETCH = ("fetch", "FETCH FIRST n ROWS", "error: not implemented (use LIMIT)");
    LIMIT_BY = ("limit_by", "LIMIT n BY expr", "error: not implemented");
    PREWHERE = ("prewhere", "PREWHERE condition", "ignored: the filter is silently dropped");
    CONNECT_BY = ("connect_by", "START WITH ... CONNECT BY", "ignored: the hierarchy clause is silently dropped");
    LOCKS = ("locks", "FOR UPDATE / FOR SHARE", "ignored: no rows are locked");
    FOR_CLAUSE = ("for_clause", "FOR XML / FOR JSON / FOR BROWSE", "ignored: the result is not reshaped");
    SETTINGS = ("settings", "SETTINGS key = value (ClickHouse)", "ignored");
    FORMAT_CLAUSE = ("format_clause", "FORMAT name (ClickHouse)", "ignored");
    UNNEST_ORDINALITY = ("unnest_ordinality", "UNNEST(...) WITH ORDINALITY", "error: not implemented");
    UPDATE_FROM = ("update_from", "UPDATE ... FROM other_table", "error: not implemented");
    DELETE_JOIN = ("delete_join", "DELETE with several tables, USING or joins", "error: not implemented");
    DESCRIBE_STATEMENT = ("describe_statement", "DESCRIBE of anything but a query or a table", "error: not implemented");
}
