//! The SQL dialects a policy can read and write, as data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlparser::dialect::{
    AnsiDialect, BigQueryDialect, ClickHouseDialect, DatabricksDialect, Dialect, DuckDbDialect,
    GenericDialect, HiveDialect, MsSqlDialect, MySqlDialect, PostgreSqlDialect, RedshiftSqlDialect,
    SQLiteDialect, SnowflakeDialect,
};

use crate::error::Error;

/// A sqlparser dialect that a [`PolicyProfile`](crate::PolicyProfile) reads or writes.
///
/// The names are the lowercase names used in TOML profiles and on the command line.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SqlDialect {
    /// sqlparser's generic dialect: what DataFusion parses by default.
    #[default]
    Generic,
    /// ANSI SQL.
    Ansi,
    /// PostgreSQL (also accepted as `postgres`).
    #[serde(alias = "postgres")]
    Postgresql,
    /// MySQL.
    Mysql,
    /// SQLite.
    Sqlite,
    /// DuckDB.
    Duckdb,
    /// Apache Hive.
    Hive,
    /// Google BigQuery.
    Bigquery,
    /// Snowflake.
    Snowflake,
    /// Microsoft SQL Server.
    Mssql,
    /// ClickHouse.
    Clickhouse,
    /// Databricks.
    Databricks,
    /// Amazon Redshift.
    Redshift,
}

impl SqlDialect {
    /// Every dialect, in a stable order.
    pub const ALL: [SqlDialect; 13] = [
        SqlDialect::Generic,
        SqlDialect::Ansi,
        SqlDialect::Postgresql,
        SqlDialect::Mysql,
        SqlDialect::Sqlite,
        SqlDialect::Duckdb,
        SqlDialect::Hive,
        SqlDialect::Bigquery,
        SqlDialect::Snowflake,
        SqlDialect::Mssql,
        SqlDialect::Clickhouse,
        SqlDialect::Databricks,
        SqlDialect::Redshift,
    ];

    /// The lowercase name of the dialect, as written in profiles.
    pub fn name(self) -> &'static str {
        match self {
            SqlDialect::Generic => "generic",
            SqlDialect::Ansi => "ansi",
            SqlDialect::Postgresql => "postgresql",
            SqlDialect::Mysql => "mysql",
            SqlDialect::Sqlite => "sqlite",
            SqlDialect::Duckdb => "duckdb",
            SqlDialect::Hive => "hive",
            SqlDialect::Bigquery => "bigquery",
            SqlDialect::Snowflake => "snowflake",
            SqlDialect::Mssql => "mssql",
            SqlDialect::Clickhouse => "clickhouse",
            SqlDialect::Databricks => "databricks",
            SqlDialect::Redshift => "redshift",
        }
    }

    /// The sqlparser dialect that parses (and, for the write dialect, re-parses) SQL.
    pub fn parser_dialect(self) -> &'static dyn Dialect {
        static GENERIC: GenericDialect = GenericDialect {};
        static ANSI: AnsiDialect = AnsiDialect {};
        static POSTGRESQL: PostgreSqlDialect = PostgreSqlDialect {};
        static MYSQL: MySqlDialect = MySqlDialect {};
        static SQLITE: SQLiteDialect = SQLiteDialect {};
        static DUCKDB: DuckDbDialect = DuckDbDialect {};
        static HIVE: HiveDialect = HiveDialect {};
        static BIGQUERY: BigQueryDialect = BigQueryDialect {};
        static SNOWFLAKE: SnowflakeDialect = SnowflakeDialect {};
        static MSSQL: MsSqlDialect = MsSqlDialect {};
        static CLICKHOUSE: ClickHouseDialect = ClickHouseDialect {};
        static DATABRICKS: DatabricksDialect = DatabricksDialect {};
        static REDSHIFT: RedshiftSqlDialect = RedshiftSqlDialect {};
        match self {
            SqlDialect::Generic => &GENERIC,
            SqlDialect::Ansi => &ANSI,
            SqlDialect::Postgresql => &POSTGRESQL,
            SqlDialect::Mysql => &MYSQL,
            SqlDialect::Sqlite => &SQLITE,
            SqlDialect::Duckdb => &DUCKDB,
            SqlDialect::Hive => &HIVE,
            SqlDialect::Bigquery => &BIGQUERY,
            SqlDialect::Snowflake => &SNOWFLAKE,
            SqlDialect::Mssql => &MSSQL,
            SqlDialect::Clickhouse => &CLICKHOUSE,
            SqlDialect::Databricks => &DATABRICKS,
            SqlDialect::Redshift => &REDSHIFT,
        }
    }
}

impl fmt::Display for SqlDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SqlDialect {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "postgres" {
            return Ok(SqlDialect::Postgresql);
        }
        SqlDialect::ALL
            .into_iter()
            .find(|d| d.name() == lower)
            .ok_or_else(|| Error::UnknownName {
                what: "dialect",
                name: s.to_owned(),
                expected: SqlDialect::ALL.map(SqlDialect::name).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str() {
        for d in SqlDialect::ALL {
            assert_eq!(d.name().parse::<SqlDialect>().unwrap(), d);
            assert_eq!(
                d.to_string().to_uppercase().parse::<SqlDialect>().unwrap(),
                d
            );
        }
        assert_eq!(
            "postgres".parse::<SqlDialect>().unwrap(),
            SqlDialect::Postgresql
        );
    }

    #[test]
    fn unknown_dialect_names_the_input_and_the_choices() {
        let err = "oracle9".parse::<SqlDialect>().unwrap_err().to_string();
        assert!(err.contains("`oracle9`"), "{err}");
        assert!(err.contains("generic, ansi, postgresql"), "{err}");
    }
}
