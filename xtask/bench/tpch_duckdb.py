"""TPC-H through DuckDB for `cargo xtask bench tpch`: the baseline engine.

usage: tpch_duckdb.py DATA_DIR QUERIES_DIR RUNS QUERIES OUT_JSON

Views over the parquet files of DATA_DIR (one per table), then each query of QUERIES
(comma-separated numbers) RUNS times; writes, per query, every run's milliseconds and the
last run's rows (decimals as floats, dates as ISO text) to OUT_JSON.
"""

import datetime
import decimal
import json
import sys
import time

import duckdb

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def value(v):
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    return v


def main():
    data, queries, runs, which, out = sys.argv[1:6]
    con = duckdb.connect()
    for table in TABLES:
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{data}/{table}.parquet')"
        )
    results = {"engine": f"duckdb {duckdb.__version__}", "queries": {}}
    for q in which.split(","):
        with open(f"{queries}/q{q}.sql") as f:
            sql = f.read()
        times = []
        rows, columns = [], []
        for _ in range(int(runs)):
            started = time.perf_counter()
            cursor = con.execute(sql)
            rows = cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000.0)
            columns = [d[0] for d in cursor.description]
        results["queries"][q] = {
            "times_ms": times,
            "columns": columns,
            "rows": [[value(v) for v in row] for row in rows],
        }
        print(f"duckdb q{q}: {min(times):.1f} ms", file=sys.stderr)
    with open(out, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
