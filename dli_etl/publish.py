"""Publish a run: Parquet files in a release folder, SQL tables in one transaction, then one atomic switch.

Every run writes into ``<out>/runs/<run_id>/``; nothing a reader uses changes while it is written. The
SQL warehouse (an embedded SQLite file by default, PostgreSQL in production) gets all tables of the run
in one transaction, each row tagged with ``dli_run_id``. Only then does ``<out>/current`` switch to the
new release (a symlink replaced by ``rename``, atomic on POSIX), and ``<out>/sdtm``, ``<out>/report``...
point through ``current``. A run killed at any point leaves the previous release and the previous SQL
tables as they were; the next run simply writes a new release.

Parquet files carry no run id or timestamp, so the same inputs give byte-identical files; the run id and
every file's sha256 are in the release's ``run_manifest.json``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.schema import CreateTable
from sqlalchemy.types import TypeEngine

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Connection as AdbcConnection

RUN_ID_COLUMN = "dli_run_id"
PUBLISH_LOG = "dli_publish_log"
# every release replaces this table in its SQL transaction: the run that did so last is the warehouse's
PUBLISH_LOG_TABLE_PROBE = "findings"
KEEP_RELEASES = 5


@dataclass(frozen=True)
class PublishResult:
    parquet_files: tuple[Path, ...]
    warehouse_url: str
    sql_tables: dict[str, int]


def default_warehouse_url(out: Path) -> str:
    return f"sqlite:///{(Path(out) / 'warehouse.sqlite').resolve()}"


def release_dir(out: Path, run_id: str) -> Path:
    """Where run ``run_id`` writes its files before they are switched live."""
    return Path(out) / "runs" / run_id


def write_parquet(frame: pd.DataFrame, path: Path, labels: dict[str, str] | None = None) -> Path:
    """Deterministic Parquet: same frame, same bytes (no timestamps in the file). ``labels`` become each
    column's field metadata (``label``), so a reader sees "Unique Subject Identifier", not only USUBJID."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if labels:
        fields = [f.with_metadata({**(f.metadata or {}), b"label": labels[f.name].encode()}) if f.name in labels else f
                  for f in table.schema]
        table = table.cast(pa.schema(fields, metadata=table.schema.metadata))
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return path


def sql_types(frame: pd.DataFrame) -> dict[str, TypeEngine]:
    """SQL types pandas would not choose: ADaM names a date ``*DT`` (a datetime is ``*DTM``), so such a
    column is a DATE in the warehouse, not a timestamp at midnight."""
    return {str(c): Date() for c in frame.columns
            if str(c).endswith("DT") and pd.api.types.is_datetime64_any_dtype(frame[c].dtype)}


SQL_BATCH_ROWS = 20_000


def _sql_columns(frame: pd.DataFrame, dates: Iterable[str] = ()) -> pa.Table:
    """``frame`` in Arrow with the values a warehouse stores: dates and timestamps as ISO text (the form
    SQLite stores and PostgreSQL's COPY reads), categories decoded. Converted column by column in Arrow,
    not value by value in pandas: the per-value path was most of a publish."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # an object column mixing types (numbers and text) goes in as text, as pandas' to_sql wrote it
        mixed = {c: "string" for c in frame.columns if frame[c].dtype == object}
        table = pa.Table.from_pandas(frame.astype(mixed), preserve_index=False)
    dates = set(dates)
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, "%Y-%m-%d" if name in dates else "%Y-%m-%d %H:%M:%S")
        elif pa.types.is_date(column.type):
            column = pc.strftime(column, "%Y-%m-%d")
        elif pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _sql_rows(frame: pd.DataFrame, run_id: str, dates: Iterable[str] = (),
              batch_rows: int = SQL_BATCH_ROWS) -> Iterator[list[tuple]]:
    """The rows of ``frame`` plus the run id, as plain Python values with None for every null, in batches.

    Python tuples cost about 20 times the Arrow bytes, so only one batch of them exists at a time: built
    for a whole table they were the largest part of a run's peak memory (480 MiB for LB at 16x)."""
    table = _sql_columns(frame, dates)
    for start in range(0, table.num_rows, batch_rows):
        size = min(batch_rows, table.num_rows - start)
        values = [column.slice(start, size).to_pylist() for column in table.columns]
        yield list(zip(*values, [run_id] * size, strict=True))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _insert_rows(connection: Connection, name: str, keys: list[str], batches: Iterable[list[tuple]]) -> int:
    """Bulk insert, batch by batch: COPY on PostgreSQL, DBAPI ``executemany`` on SQLite (and anything
    else). Returns the number of rows."""
    columns = ", ".join(_quoted(k) for k in keys)
    count = 0
    if connection.dialect.name == "postgresql":
        sql = f"COPY {_quoted(name)} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for rows in batches:
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                for row in rows:
                    writer.writerow(["\\N" if v is None else v for v in row])
                copy.write(buffer.getvalue())
                count += len(rows)
        return count
    marks = ", ".join("?" if connection.dialect.paramstyle == "qmark" else "%s" for _ in keys)
    for rows in batches:
        connection.exec_driver_sql(f"INSERT INTO {_quoted(name)} ({columns}) VALUES ({marks})", rows)
        count += len(rows)
    return count


def _column_type(series: pd.Series, override: TypeEngine | None) -> TypeEngine:
    """The SQL type pandas' ``to_sql`` would give (so both warehouses keep their schema), decided here
    because asking pandas costs a reflection of the database per table."""
    if override is not None:
        return override
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return Boolean()
    if pd.api.types.is_integer_dtype(dtype):
        return BigInteger()
    if pd.api.types.is_float_dtype(dtype):
        return Float(precision=53)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DateTime(timezone=getattr(dtype, "tz", None) is not None)
    return Text()


def _sql_table(name: str, frame: pd.DataFrame, types: dict[str, TypeEngine]) -> Table:
    """Table ``name`` as the warehouse holds it: pandas' types (and ``types``, from ``sql_types``), the
    variable labels as column comments, and the ``dli_run_id`` column."""
    labels = sql_column_labels(name)
    columns = [Column(str(c), _column_type(frame[c], types.get(str(c))), comment=labels.get(str(c)))
               for c in frame.columns]
    return Table(name, MetaData(), *columns,
                 Column(RUN_ID_COLUMN, Text(), comment="The dli-etl run that published this row"))


def write_sql_table(connection: Connection | AdbcConnection, name: str, frame: pd.DataFrame, run_id: str) -> int:
    """Replace table ``name`` with ``frame`` plus a ``dli_run_id`` column, inside the caller's transaction:
    DROP, CREATE (``_sql_table``), then the rows in bulk. ``connection``: SQLAlchemy's (PostgreSQL: COPY;
    another database: ``executemany``) or an ADBC SQLite connection (the Arrow table bound in C)."""
    dates = sql_types(frame)
    table = _sql_table(name, frame, dates)
    if isinstance(connection, Connection):
        table.drop(connection, checkfirst=True)
        table.create(connection)
        batches = _sql_rows(frame, run_id, dates, SQL_BATCH_ROWS)
        return _insert_rows(connection, name, [c.name for c in table.columns], batches)
    rows = _sql_columns(frame, dates)
    rows = rows.append_column(RUN_ID_COLUMN, pa.array([run_id] * rows.num_rows, pa.string()))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_quoted(name)}")
        cursor.execute(str(CreateTable(table).compile(dialect=sqlite_dialect())))
        cursor.adbc_ingest(name, rows, mode="append")
    return rows.num_rows


def _transactional_engine(url: str) -> Engine:
    """An engine whose ``begin()`` really wraps DDL too. Python's sqlite3 driver runs DROP/CREATE TABLE
    outside any transaction (it only opens one before INSERT/UPDATE), so a run killed while replacing a
    table would leave it empty; SQLAlchemy's documented fix is to let SQLite see an explicit BEGIN."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _explicit_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN")
    return engine


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for any other database and for an in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def publish_sql(sql: dict[str, pd.DataFrame], url: str, run_id: str) -> dict[str, int]:
    """Replace every table of ``sql`` and append to the publish log, all in one transaction.

    A SQLite file is written through ADBC (``adbc-driver-sqlite``), which binds Arrow columns in C: 2 to
    4 times faster than DBAPI ``executemany`` over Python tuples (``bench/bench_warehouse.py``; 3 times on
    the 16x release), which had become the largest part of a publish at registry scale. Other databases
    go through SQLAlchemy."""
    path = sqlite_file(url)
    if path is not None:
        return _publish_sqlite(sql, path, run_id)
    engine = _transactional_engine(url)
    counts: dict[str, int] = {}
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # two publishers on one warehouse: the second waits for nothing and refuses
                locked = connection.exec_driver_sql("SELECT pg_try_advisory_xact_lock(7316001)").scalar()
                if not locked:
                    from dli_etl.run_lock import RunLocked

                    raise RunLocked("another dli-etl run is publishing into this PostgreSQL warehouse")
            for name, frame in sorted(sql.items()):
                counts[name] = write_sql_table(connection, name, frame, run_id)
            _log(connection, run_id, counts)
    finally:
        engine.dispose()
    return counts


# a reader (a notebook, the Dagster UI) holding the file must delay a commit, not fail it
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _publish_sqlite(sql: dict[str, pd.DataFrame], path: str, run_id: str) -> dict[str, int]:
    """``publish_sql`` on a SQLite file: one ADBC connection, autocommit off, so the DROPs, CREATEs and
    rows of every table and the log line commit together or not at all (a killed run leaves SQLite's
    journal, which the next connection rolls back)."""
    import adbc_driver_sqlite.dbapi

    connection = adbc_driver_sqlite.dbapi.connect(path)
    counts: dict[str, int] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        for name, frame in sorted(sql.items()):
            counts[name] = write_sql_table(connection, name, frame, run_id)
        _log(connection, run_id, counts)
        connection.commit()
    except BaseException:
        with contextlib.suppress(Exception):  # a broken connection must not hide why the publish failed
            connection.rollback()
        raise
    finally:
        connection.close()
    return counts


def _log(connection: Connection | AdbcConnection, run_id: str, counts: dict[str, int]) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    log = pd.DataFrame({RUN_ID_COLUMN: run_id, "published_at": now, "table_name": list(counts),
                        "rows": list(counts.values())})
    if isinstance(connection, Connection):
        log.to_sql(PUBLISH_LOG, connection, if_exists="append", index=False)
        return
    # the table pandas' to_sql creates, so a warehouse begun by either path goes on with the other
    table = Table(PUBLISH_LOG, MetaData(), Column(RUN_ID_COLUMN, Text()), Column("published_at", Text()),
                  Column("table_name", Text()), Column("rows", BigInteger()))
    with connection.cursor() as cursor:
        cursor.execute(str(CreateTable(table, if_not_exists=True).compile(dialect=sqlite_dialect())))
        cursor.adbc_ingest(PUBLISH_LOG, pa.Table.from_pandas(log, preserve_index=False), mode="append")


def published_run_id(url: str, table: str) -> str | None:
    """The run that last published ``table`` in the warehouse (None if it is not there)."""
    engine = create_engine(url)
    try:
        if table not in inspect(engine).get_table_names():
            return None
        with engine.connect() as connection:
            value = connection.exec_driver_sql(f'SELECT {RUN_ID_COLUMN} FROM "{table}" LIMIT 1').scalar()
    finally:
        engine.dispose()
    return value


def switch_release(out: Path, run_id: str, keep: int = KEEP_RELEASES) -> Path:
    """Make ``runs/<run_id>`` the live release in one rename; link top-level names through ``current``."""
    out = Path(out)
    release = release_dir(out, run_id)
    link = out / "current"
    tmp = out / f".current-{run_id}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(Path("runs") / run_id)
    os.replace(tmp, link)  # readers follow either the old or the new target, never a mix
    for entry in sorted(release.iterdir()):
        public = out / entry.name
        if public.is_symlink():
            continue
        if public.exists():  # a folder from the layout before releases: derived output, replaced by the link
            shutil.rmtree(public) if public.is_dir() else public.unlink()
        public.symlink_to(Path("current") / entry.name)
    _prune(out, keep, run_id)
    return release


def _prune(out: Path, keep: int, live: str) -> None:
    runs = sorted((p for p in (out / "runs").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[:-keep]:
        if old.name != live:
            shutil.rmtree(old, ignore_errors=True)


def write_release_files(parquet: dict[str, pd.DataFrame], out: Path, run_id: str) -> tuple[Path, ...]:
    """Every Parquet file of the run into its release folder (nothing live changes)."""
    release = release_dir(out, run_id)
    return tuple(write_parquet(frame, release / f"{key}.parquet", column_labels(key))
                 for key, frame in sorted(parquet.items()))


def column_labels(key: str) -> dict[str, str]:
    """Variable labels for a published table: SDTM from the variable metadata, ADaM from the data
    dictionary ``specs/adam_variables.csv``, curated forms from ``forms.yaml``; other tables describe
    themselves in docs/analyst.md."""
    from dli_etl.sdtm.algorithms import labels
    from dli_etl.specs import load_spec

    parts = key.split("/")
    if parts[0] == "sdtm" and len(parts) == 3:
        return labels(parts[2].upper())
    if parts[0] == "adam" and len(parts) == 3:
        return adam_dictionary().get(parts[2].upper(), {})
    if parts[0] == "curated" and len(parts) == 3:
        fields = load_spec("forms").get(parts[2], {}).get("fields", {})
        return {name: str(spec.get("label", name)) for name, spec in fields.items()}
    return {}


@cache
def adam_dictionary() -> dict[str, dict[str, str]]:
    """The ADaM data dictionary (``specs/adam_variables.csv``: dataset, variable, label, type,
    derivation): dataset -> variable -> label."""
    text = (resources.files("dli_etl") / "specs" / "adam_variables.csv").read_text(encoding="utf-8")
    out: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        out.setdefault(row["dataset"], {})[row["variable"]] = row["label"]
    return out


def sql_column_labels(table: str) -> dict[str, str]:
    """Labels for a warehouse table, written as column comments where the database keeps them
    (PostgreSQL); the SQL names are the Parquet keys with the study folder pooled."""
    for prefix, folder in (("sdtm_", "sdtm/pooled/"), ("adam_", "adam/pooled/"), ("curated_", "curated/any/")):
        if table.startswith(prefix):
            return column_labels(folder + table[len(prefix):])
    return {}


def live_run_id(out: Path) -> str | None:
    """The run ``<out>/current`` points at (None before the first release)."""
    link = Path(out) / "current"
    return link.readlink().name if link.is_symlink() else None


@dataclass(frozen=True)
class ReleaseState:
    """What a reader sees: the live release, the run ids in each warehouse table, the runs the publish log
    lists. ``consistent`` when every table with rows holds the live run and the log lists it."""

    live: str | None
    tables: dict[str, frozenset[str]]
    logged: frozenset[str]

    @property
    def consistent(self) -> bool:
        return (self.live is not None and self.live in self.logged
                and all(runs == {self.live} for runs in self.tables.values() if runs))


def release_state(out: Path, warehouse_url: str | None = None) -> ReleaseState:
    """Read ``current`` and the warehouse of ``out`` (tables tagged with ``dli_run_id``, and the log)."""
    url = warehouse_url or default_warehouse_url(out)
    engine = create_engine(url)
    try:
        names = inspect(engine).get_table_names()
        with engine.connect() as connection:
            def runs(table: str) -> frozenset[str]:
                rows = connection.exec_driver_sql(f"SELECT DISTINCT {RUN_ID_COLUMN} FROM {_quoted(table)}")
                return frozenset(r[0] for r in rows)
            tables = {name: runs(name) for name in names if name != PUBLISH_LOG}
            logged = runs(PUBLISH_LOG) if PUBLISH_LOG in names else frozenset()
    finally:
        engine.dispose()
    return ReleaseState(live_run_id(out), tables, logged)


def reconcile_release(out: Path, warehouse_url: str | None = None) -> str | None:
    """After a run killed between its SQL commit and its switch, the warehouse holds a release that is not
    live. Every file of a release is written before its SQL commit, so that release is complete: switch
    to it, and say so. Returns a note when something was repaired."""
    url = warehouse_url or default_warehouse_url(out)
    in_sql = published_run_id(url, PUBLISH_LOG_TABLE_PROBE)
    live = live_run_id(out)
    if in_sql is None or in_sql == live:
        return None
    if not (release_dir(out, in_sql) / "run_manifest.json").is_file():
        return f"the warehouse holds run {in_sql}, whose release folder is incomplete; {live} stays live"
    switch_release(out, in_sql)
    return f"repaired: the warehouse held run {in_sql} but {live} was live (a run stopped before its switch); switched to {in_sql}"


def publish(parquet: dict[str, pd.DataFrame], sql: dict[str, pd.DataFrame], out: Path,
            warehouse_url: str | None = None, run_id: str = "adhoc", switch: bool = True) -> PublishResult:
    """Write ``parquet`` (relative path without suffix -> frame) into the run's release folder and ``sql``
    (table name -> frame) into the warehouse; with ``switch``, make the release live afterwards."""
    files = write_release_files(parquet, out, run_id)
    url = warehouse_url or default_warehouse_url(out)
    counts = publish_sql(sql, url, run_id)
    if switch:
        switch_release(out, run_id)
    return PublishResult(files, url, counts)
