"""Bulk load into the warehouse: dli-etl's writer against pandas' INSERT paths, on SQLite and PostgreSQL,
in one run.

    python bench/bench_warehouse.py --rows 200000

Builds a registry-shaped table (lab results: ids, codes, dates, numbers, text) and loads it in one
transaction each way into a fresh table: ``dli_etl.publish.publish_sql`` (an ADBC bulk load of the Arrow
table on SQLite, COPY on PostgreSQL, rows converted column by column in Arrow), on SQLite also dli-etl's
generic SQLAlchemy path (DBAPI ``executemany`` of Python tuples in batches, what SQLite used before ADBC),
and pandas ``to_sql`` (its default per-row parameter sets, and ``method='multi'``). PostgreSQL is a throwaway server started as the tests
do. Reported as seconds and as ratios to dli-etl's writer, all measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from postgres_server import PostgresServer, find_binaries  # noqa: E402

from dli_etl.publish import _transactional_engine, publish_sql, sqlite_file, write_sql_table  # noqa: E402


def lab_table(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "STUDYID": "DLIPRO", "USUBJID": [f"DLIPRO-S0{i % 6 + 1}-{i % 997:03d}" for i in range(rows)],
        "LBSEQ": np.arange(rows, dtype=float), "LBTESTCD": rng.choice(["NEUT", "HGB", "PLAT", "ALT", "BILI"], rows),
        "LBORRES": rng.normal(5, 2, rows).round(2).astype(str), "LBSTRESN": rng.normal(5, 2, rows),
        "LBSTRESU": "10^9/L", "LBTOXGR": rng.choice(["", "1", "2", "3", "4"], rows),
        "LBDTC": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D"),
        "src_locator": [f"CBC!F{i + 2}" for i in range(rows)],
    }).astype({"STUDYID": "str", "USUBJID": "str", "LBTESTCD": "str", "LBORRES": "str", "LBSTRESU": "str",
               "LBTOXGR": "str", "src_locator": "str"})


def timed(label: str, load) -> float:
    started = time.perf_counter()
    load()
    seconds = time.perf_counter() - started
    print(f"  {label:<46} {seconds:8.2f} s", flush=True)
    return seconds


def compare(url: str, frame: pd.DataFrame, chunk: int) -> None:
    engine = create_engine(url)

    def insert(method):
        with engine.begin() as connection:
            frame.to_sql("lb_pandas", connection, if_exists="replace", index=False, chunksize=chunk, method=method)

    ours = timed("dli_etl.publish.publish_sql", lambda: publish_sql({"lb_bulk": frame}, url, "bench"))
    generic = None
    if sqlite_file(url) is not None:
        def executemany() -> None:
            generic_engine = _transactional_engine(url)
            with generic_engine.begin() as connection:
                write_sql_table(connection, "lb_executemany", frame, "bench")
            generic_engine.dispose()

        generic = timed("dli-etl's SQLAlchemy path (executemany)", executemany)
    default = timed("pandas to_sql default (a parameter set per row)", lambda: insert(None))
    multi = timed("pandas to_sql method='multi'", lambda: insert("multi"))
    engine.dispose()
    also = f", its executemany path {generic / ours:.1f}x" if generic is not None else ""
    print(f"  ratios to dli-etl: pandas default {default / ours:.1f}x, multi-row INSERT {multi / ours:.1f}x{also}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    frame = lab_table(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.rows} rows x {frame.shape[1]} columns into SQLite")
        # SQLite allows 32766 bind parameters per statement: 3000 rows x 10 columns for method='multi'
        compare(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", frame, 3_000)
    binaries = find_binaries()
    if binaries is None:
        sys.exit("PostgreSQL binaries not found (bash scripts/ensure-postgres.sh installs them)")
    server = PostgresServer(binaries)
    url = server.start()
    try:
        print(f"{args.rows} rows x {frame.shape[1]} columns into PostgreSQL")
        # 5000 rows x 10 columns stays under PostgreSQL's 65535 bind parameters per statement
        compare(url, frame, 5_000)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
