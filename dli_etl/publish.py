"""Publish tables as Parquet files and into a SQL warehouse through SQLAlchemy.

The embedded default is a SQLite file under the output folder; any SQLAlchemy URL (e.g. PostgreSQL)
can be given instead. All tables of a run are written in one transaction, so a reader sees either the
previous run's tables or this run's, never a mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine


@dataclass(frozen=True)
class PublishResult:
    parquet_files: tuple[Path, ...]
    warehouse_url: str
    sql_tables: dict[str, int]


def default_warehouse_url(out: Path) -> str:
    return f"sqlite:///{(Path(out) / 'warehouse.sqlite').resolve()}"


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Deterministic Parquet: same frame, same bytes (no timestamps in the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)  # atomic on one filesystem: readers never see a half-written file
    return path


def _sql_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def publish(parquet: dict[str, pd.DataFrame], sql: dict[str, pd.DataFrame], out: Path,
            warehouse_url: str | None = None) -> PublishResult:
    """Write ``parquet`` (relative path without suffix -> frame) and ``sql`` (table name -> frame)."""
    out = Path(out)
    files = tuple(write_parquet(frame, out / f"{key}.parquet") for key, frame in sorted(parquet.items()))
    url = warehouse_url or default_warehouse_url(out)
    engine = create_engine(url)
    counts: dict[str, int] = {}
    try:
        with engine.begin() as connection:
            for name, frame in sorted(sql.items()):
                _sql_ready(frame).to_sql(name, connection, if_exists="replace", index=False, chunksize=10_000)
                counts[name] = len(frame)
    finally:
        engine.dispose()
    return PublishResult(files, url, counts)
