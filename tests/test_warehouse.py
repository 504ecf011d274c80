"""The warehouse for real: PostgreSQL from the machine's binaries and the embedded SQLite; bulk loads
(COPY on PostgreSQL, ADBC on SQLite); every row tagged with its run. Kills mid-publish: ``test_publish_kills.py``."""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from publish_tables import tables_from_release
from sqlalchemy import Date, DateTime, create_engine, event, inspect
from sqlalchemy.engine import Engine

from dli_etl.pipeline import run_pipeline
from dli_etl.publish import PUBLISH_LOG, RUN_ID_COLUMN, publish, published_run_id

TESTS = Path(__file__).resolve().parent


def _spy_on_adbc_ingest(monkeypatch) -> list[tuple[str, int]]:
    """(table, rows) of every ADBC bulk load from now on."""
    from adbc_driver_manager.dbapi import Cursor

    loads: list[tuple[str, int]] = []
    real = Cursor.adbc_ingest

    def spy(self, table_name, data, *args, **kwargs):
        loads.append((table_name, data.num_rows))
        return real(self, table_name, data, *args, **kwargs)

    monkeypatch.setattr(Cursor, "adbc_ingest", spy)
    return loads


def _tables(url: str) -> dict[str, pd.DataFrame]:
    engine = create_engine(url)
    try:
        names = inspect(engine).get_table_names()
        return {name: pd.read_sql_table(name, engine) for name in names}
    finally:
        engine.dispose()


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
    assert set(ours) == set(sqlite)
    for name in ours:  # both runs without GX: the same findings and queries too
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


@pytest.mark.parametrize("warehouse", ["sqlite", "postgresql"])
def test_tables_load_in_bulk_with_typed_dates(source, tmp_path, warehouse, request, monkeypatch):
    """Rows go in with COPY (PostgreSQL) or one ADBC bulk load of each Arrow table (SQLite), never an
    INSERT statement per row; ADaM *DT columns are DATE, the other timestamps keep their time."""
    url = request.getfixturevalue("postgres_db") if warehouse == "postgresql" else f"sqlite:///{tmp_path / 'w.sqlite'}"
    parquet, sql = tables_from_release(source)
    statements = []
    loads = _spy_on_adbc_ingest(monkeypatch)

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement.split("(")[0].strip(), executemany))

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        result = publish(parquet, sql, tmp_path / "out", url, run_id="bulk-run")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    inserts = [(s, many) for s, many in statements if s.upper().startswith("INSERT")]
    if warehouse == "postgresql":
        assert all(PUBLISH_LOG in s for s, _ in inserts), inserts  # the data went through COPY
        assert loads == []
    else:
        assert inserts == []  # nothing row by row through SQLAlchemy
        assert sorted(loads) == sorted([(name, len(frame)) for name, frame in sql.items()] + [(PUBLISH_LOG, len(sql))])
    back = _tables(url)
    for name, frame in sql.items():
        assert len(back[name]) == len(frame) == result.sql_tables[name]
    assert published_run_id(url, "sdtm_dm") == "bulk-run"
    engine = create_engine(url)
    try:
        columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("adam_adsl")}
        adsl = pd.read_sql_table("adam_adsl", engine)
    finally:
        engine.dispose()
    assert isinstance(columns["TRTSDT"], Date) and not isinstance(columns["TRTSDT"], DateTime)
    if warehouse == "postgresql":  # labels as column comments (SQLite keeps none)
        engine = create_engine(url)
        try:
            comments = {c["name"]: c.get("comment") for c in inspect(engine).get_columns("sdtm_dm")}
            adsl_comments = {c["name"]: c.get("comment") for c in inspect(engine).get_columns("adam_adsl")}
        finally:
            engine.dispose()
        assert comments["USUBJID"] == "Unique Subject Identifier" and comments["dli_run_id"]
        assert adsl_comments["TRTSDT"] == "Date of First DLI"
    expected = sql["adam_adsl"]["TRTSDT"].dt.date
    assert list(pd.to_datetime(adsl["TRTSDT"]).dt.date.fillna("null")) == list(expected.fillna("null"))
    numbers = sql["adam_adsl"].select_dtypes("number").columns
    pd.testing.assert_frame_equal(adsl[numbers].astype("float64"), sql["adam_adsl"][numbers].astype("float64"))


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


@pytest.mark.parametrize("warehouse", ["sqlite", "postgresql"])
def test_a_table_larger_than_a_batch_goes_in_whole_batch_by_batch(tmp_path, warehouse, request, monkeypatch):
    """PostgreSQL: rows are converted to Python values one batch at a time (memory), and every batch
    arrives. SQLite: the table goes in as one Arrow table (no Python values). Either way nulls, dates and
    text are as one whole-table write would leave them."""
    import dli_etl.publish as publish_module

    url = request.getfixturevalue("postgres_db") if warehouse == "postgresql" else f"sqlite:///{tmp_path / 'w.sqlite'}"
    monkeypatch.setattr(publish_module, "SQL_BATCH_ROWS", 7)
    frame = pd.DataFrame({
        "USUBJID": pd.array([f"S-{i:03d}" for i in range(50)], dtype="string"),
        "LBSTRESN": pd.array([None if i % 5 == 0 else i / 4 for i in range(50)], dtype="Float64"),
        "TRTSDT": pd.to_datetime([None if i % 9 == 0 else f"2026-01-{1 + i % 28:02d}" for i in range(50)]),
    })
    statements = []
    loads = _spy_on_adbc_ingest(monkeypatch)

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.upper().startswith('INSERT INTO "BATCHED"'):
            statements.append(len(parameters) if executemany else 1)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        result = publish({"batched/batched": frame}, {"batched": frame}, tmp_path / "out", url, run_id="batch-run")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert result.sql_tables["batched"] == 50
    if warehouse == "sqlite":
        assert statements == [] and ("batched", 50) in loads
    back = _tables(url)["batched"].sort_values("USUBJID").reset_index(drop=True)
    assert back["USUBJID"].tolist() == frame["USUBJID"].tolist()
    assert back["LBSTRESN"].isna().tolist() == frame["LBSTRESN"].isna().tolist()
    assert back["LBSTRESN"].dropna().tolist() == frame["LBSTRESN"].dropna().astype(float).tolist()
    assert pd.to_datetime(back["TRTSDT"]).dt.date.tolist() == frame["TRTSDT"].dt.date.tolist()
    assert set(back[RUN_ID_COLUMN]) == {"batch-run"}
