"""The warehouse for real: PostgreSQL from the machine's binaries and the embedded SQLite; bulk loads with
COPY; every row tagged with its run; a publishing process killed mid-way leaves the previous release and
tables intact, and the next run succeeds."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from publish_tables import tables_from_release
from sqlalchemy import create_engine, inspect

import dli_etl.publish as publish_module
from dli_etl.pipeline import run_pipeline
from dli_etl.publish import RUN_ID_COLUMN, publish, published_run_id

TESTS = Path(__file__).resolve().parent


def _tables(url: str) -> dict[str, pd.DataFrame]:
    engine = create_engine(url)
    try:
        names = inspect(engine).get_table_names()
        return {name: pd.read_sql_table(name, engine) for name in names}
    finally:
        engine.dispose()


def _files(release: Path) -> dict[str, str]:
    return {p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(release.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def source(run_clean):
    """The release the clean pipeline run published: its tables are what the tests publish again."""
    return (run_clean.out / "current").resolve()


def test_pipeline_publishes_to_postgresql_like_sqlite(generated_defects, run_defects, postgres_db, tmp_path):
    postgres_url = postgres_db
    summary = run_pipeline(generated_defects.landing, tmp_path / "out", warehouse_url=postgres_url, expectations=False,
                           data_docs=False)
    assert summary.warehouse_url == postgres_url
    ours = _tables(postgres_url)
    sqlite = _tables(f"sqlite:///{run_defects.out / 'warehouse.sqlite'}")
    gx_tables = {"findings", "queries", "query_history", "dli_publish_log"}  # the SQLite run also ran GX
    assert set(ours) == set(sqlite)
    for name in set(ours) - gx_tables:
        assert len(ours[name]) == len(sqlite[name]), name
        assert set(ours[name][RUN_ID_COLUMN]) <= {summary.run_id}, name
    dm = ours["sdtm_dm"].sort_values("USUBJID", ignore_index=True)
    plain = sqlite["sdtm_dm"].sort_values("USUBJID", ignore_index=True)
    pd.testing.assert_frame_equal(dm.drop(columns=[RUN_ID_COLUMN]), plain.drop(columns=[RUN_ID_COLUMN]),
                                  check_dtype=False)
    # the second transfer reads the open queries back from PostgreSQL and carries them forward
    again = run_pipeline(generated_defects.landing, tmp_path / "out", warehouse_url=postgres_url, expectations=False,
                         data_docs=False)
    queries = _tables(postgres_url)["queries"]
    assert set(queries[RUN_ID_COLUMN]) == {again.run_id}
    assert len(queries) > 0 and (queries["first_seen_run"] == summary.run_id).all()
    assert (queries["last_seen_run"] == again.run_id).all()
    log = _tables(postgres_url)["dli_publish_log"]
    assert set(log[RUN_ID_COLUMN]) == {summary.run_id, again.run_id}


def test_postgresql_loads_with_copy(source, postgres_db, tmp_path, monkeypatch):
    postgres_url = postgres_db
    parquet, sql = tables_from_release(source)
    used = []
    real = publish_module._copy_rows

    def spy(table, connection, keys, rows):
        used.append(table.name)
        return real(table, connection, keys, rows)

    monkeypatch.setattr(publish_module, "_copy_rows", spy)
    result = publish(parquet, sql, tmp_path, postgres_url, run_id="copy-run")
    # every table with rows went through COPY, none through INSERT statements
    assert set(used) == {name for name, frame in sql.items() if len(frame)}
    back = _tables(postgres_url)
    for name, frame in sql.items():
        assert len(back[name]) == len(frame) == result.sql_tables[name]
    assert published_run_id(postgres_url, "sdtm_dm") == "copy-run"


@pytest.mark.parametrize("warehouse", ["sqlite", "postgresql"])
@pytest.mark.parametrize("phase", ["parquet", "sql"])
def test_killed_mid_publish_leaves_the_previous_release(source, tmp_path, warehouse, phase, request):
    url = request.getfixturevalue("postgres_db") if warehouse == "postgresql" else f"sqlite:///{tmp_path / 'w.sqlite'}"
    out = tmp_path / "out"
    parquet, sql = tables_from_release(source)
    publish(parquet, sql, out, url, run_id="run-1")
    before_files = _files(out / "current")
    before_rows = {name: len(frame) for name, frame in _tables(url).items() if name != "dli_publish_log"}

    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    halfway = "40" if phase == "parquet" else "8"
    process = subprocess.Popen([sys.executable, str(TESTS / "publish_then_hang.py"), str(source), str(out), url,
                                "run-2", phase, halfway, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, "the publishing process ended before it reached the kill point"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    assert os.readlink(out / "current") == "runs/run-1"
    assert _files(out / "current") == before_files
    assert pd.read_parquet(out / "sdtm" / "pooled" / "dm.parquet").equals(parquet["sdtm/pooled/dm"])
    tables = _tables(url)  # a new connection: SQLite rolls back its hot journal, PostgreSQL the dead session
    after_rows = {name: len(frame) for name, frame in tables.items() if name != "dli_publish_log"}
    assert after_rows == before_rows
    for name, frame in tables.items():
        if name != "dli_publish_log":
            assert set(frame[RUN_ID_COLUMN]) <= {"run-1"}, name

    publish(parquet, sql, out, url, run_id="run-3")
    assert os.readlink(out / "current") == "runs/run-3"
    assert _files(out / "current") == before_files  # same tables, same bytes
    assert published_run_id(url, "sdtm_dm") == "run-3"


def test_run_manifest_traces_inputs_code_and_outputs(run_clean, generated_clean):
    manifest = json.loads((run_clean.out / "run_manifest.json").read_text(encoding="utf-8"))
    release = (run_clean.out / "current").resolve()
    assert release.name == manifest["run_id"] == run_clean.run_id
    landing = Path(generated_clean.landing)
    for item in manifest["inputs"]:
        assert item["sha256"] == hashlib.sha256((landing / item["path"]).read_bytes()).hexdigest()
    code = manifest["code"]
    assert code["ct_package_date"] == "2025-03-25" and len(code["rules_sha256"]) == 64
    assert code["libraries"]["dagster"] and code["libraries"]["pandera"]
    outputs = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert outputs["sdtm/DLIPRO/dm.parquet"] == hashlib.sha256((release / "sdtm" / "DLIPRO" / "dm.parquet").read_bytes()).hexdigest()
    assert manifest["sql_run_id_column"] == RUN_ID_COLUMN
    assert published_run_id(run_clean.warehouse_url, "sdtm_dm") == run_clean.run_id
