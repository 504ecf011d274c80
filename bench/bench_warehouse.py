"""Bulk load into PostgreSQL: COPY (what dli-etl uses) against pandas' INSERT paths, in one run.

    python bench/bench_warehouse.py --rows 200000

Starts a throwaway PostgreSQL server (as the tests do), builds a registry-shaped table (lab results:
ids, codes, dates, numbers, text), and loads it in one transaction each way, into a fresh table.
Reported as seconds and as ratios to COPY, all measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from postgres_server import PostgresServer, find_binaries  # noqa: E402

from dli_etl.publish import _copy_rows, publish_sql  # noqa: E402


def lab_table(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "STUDYID": "DLIPRO", "USUBJID": [f"DLIPRO-S0{i % 6 + 1}-{i % 997:03d}" for i in range(rows)],
        "LBSEQ": np.arange(rows, dtype=float), "LBTESTCD": rng.choice(["NEUT", "HGB", "PLAT", "ALT", "BILI"], rows),
        "LBORRES": rng.normal(5, 2, rows).round(2).astype(str), "LBSTRESN": rng.normal(5, 2, rows),
        "LBSTRESU": "10^9/L", "LBTOXGR": rng.choice(["", "1", "2", "3", "4"], rows),
        "LBDTC": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D"),
        "src_locator": [f"CBC!F{i + 2}" for i in range(rows)],
    })


def timed(label: str, load) -> float:
    started = time.perf_counter()
    load()
    seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:8.2f} s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    binaries = find_binaries()
    if binaries is None:
        sys.exit("PostgreSQL binaries not found (bash scripts/ensure-postgres.sh installs them)")
    frame = lab_table(args.rows)
    server = PostgresServer(binaries)
    url = server.start()
    try:
        engine = create_engine(url)
        print(f"{args.rows} rows x {frame.shape[1]} columns into PostgreSQL")

        def insert(method):
            with engine.begin() as connection:
                # 5000 rows x 10 columns stays under PostgreSQL's 65535 bind parameters per statement
                frame.to_sql("lb_insert", connection, if_exists="replace", index=False, chunksize=5_000,
                             method=method)

        copy = timed("COPY (dli_etl.publish)", lambda: publish_sql({"lb_copy": frame}, url, "bench"))
        raw_copy = timed("COPY without run-id column", lambda: insert(_copy_rows))
        multi = timed("to_sql method='multi' (INSERT ... VALUES)", lambda: insert("multi"))
        executemany = timed("to_sql default (executemany)", lambda: insert(None))
        engine.dispose()
    finally:
        server.stop()
    print(f"ratios to COPY: multi-row INSERT {multi / copy:.1f}x, executemany {executemany / copy:.1f}x "
          f"(COPY without the run-id column: {raw_copy / copy:.2f}x)")


if __name__ == "__main__":
    main()
