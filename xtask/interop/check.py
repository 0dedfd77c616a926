"""Reads the Delta tables unifier wrote (crates/unifier/examples/interop_tables.rs) with
python `deltalake`, DuckDB's `delta` extension and polars, and compares every table, and
the change feed, with what unifier read back. Prints one line per check and a closing
`N passed, M failed`; exits 1 on any failure.

Usage: python check.py TABLES_DIR
"""

import datetime
import glob
import json
import math
import os
import sys

import duckdb
import duckdb_extension_delta
import polars as pl
import pyarrow as pa
from deltalake import DeltaTable

COLUMNS = ["id", "city", "amount", "day"]


def norm(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    return value


def rows_of(records, columns):
    out = [tuple(norm(r.get(c)) for c in columns) for r in records]
    return sorted(out, key=lambda t: tuple((v is None, str(v)) for v in t))


def expected(path, columns):
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return rows_of(records, columns)


def duckdb_connection():
    pattern = os.path.join(
        os.path.dirname(duckdb_extension_delta.__file__), "extensions", "**", "*.duckdb_extension"
    )
    extension = glob.glob(pattern, recursive=True)[0]
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"LOAD '{extension}'")
    return con


def main(root):
    passed, failed = 0, 0

    def check(name, got, want):
        nonlocal passed, failed
        if got == want:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name}\n  unifier: {want}\n  reader:  {got}")

    con = duckdb_connection()
    for table in ["appended", "overwritten", "partitioned", "changes"]:
        location = os.path.join(root, table)
        want = expected(os.path.join(root, f"{table}.rows.json"), COLUMNS)
        dt = DeltaTable(location)
        check(f"{table}: deltalake (version {dt.version()})", rows_of(dt.to_pyarrow_table().to_pylist(), COLUMNS), want)
        records = con.execute(f"SELECT * FROM delta_scan('{location}')").to_arrow_table().to_pylist()
        check(f"{table}: duckdb delta_scan", rows_of(records, COLUMNS), want)
        check(f"{table}: polars read_delta", rows_of(pl.read_delta(location).to_dicts(), COLUMNS), want)

    cdf_columns = COLUMNS + ["_change_type", "_commit_version"]
    reader = DeltaTable(os.path.join(root, "changes")).load_cdf(starting_version=0)
    cdf = pa.RecordBatchReader.from_stream(reader).read_all().to_pylist()
    check(
        "changes: deltalake load_cdf equals table_changes",
        rows_of(cdf, cdf_columns),
        expected(os.path.join(root, "changes.cdf.json"), cdf_columns),
    )
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
