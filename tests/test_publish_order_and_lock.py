"""Publishing order and the run lock: files first, then SQL, then the switch; one publisher at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dli_etl import pipeline
from dli_etl.publish import default_warehouse_url, live_run_id
from dli_etl.run_lock import LOCK_NAME, RunLocked


@pytest.fixture
def study_runs(clean_runs):
    return clean_runs


@pytest.fixture
def analysis(clean_analysis):
    return clean_analysis


def _warehouse_run(out: Path) -> str:
    engine = create_engine(default_warehouse_url(out))
    with engine.connect() as connection:
        value = connection.execute(text("select distinct dli_run_id from findings")).scalar()
    engine.dispose()
    return value


def _publish(study_runs, analysis, out, run_id):
    return pipeline.write_outputs(study_runs, out, Path("landing"), run_id=run_id, analysis=analysis)


def test_a_failed_sql_commit_leaves_current_and_the_warehouse_on_the_old_release(study_runs, analysis, tmp_path,
                                                                                    monkeypatch):
    out = tmp_path / "out"
    _publish(study_runs, analysis, out, "run-1")

    def broken(*args, **kwargs):
        raise RuntimeError("killed inside the SQL transaction")

    monkeypatch.setattr(pipeline, "publish_sql", broken)
    with pytest.raises(RuntimeError):
        _publish(study_runs, analysis, out, "run-2")
    assert live_run_id(out) == "run-1" and _warehouse_run(out) == "run-1"
    # every file of the failed release was written before its SQL: the manifest and report are there
    assert (out / "runs" / "run-2" / "run_manifest.json").is_file()
    assert (out / "runs" / "run-2" / "report" / "dq_report.html").is_file()
    assert not (out / LOCK_NAME).exists()  # the lock is released on failure too


def test_a_run_stopped_between_commit_and_switch_is_rolled_forward(study_runs, analysis, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _publish(study_runs, analysis, out, "run-1")
    real_switch = pipeline.switch_release

    def stop(*args, **kwargs):
        raise KeyboardInterrupt("killed after the SQL commit, before the switch")

    monkeypatch.setattr(pipeline, "switch_release", stop)
    with pytest.raises(KeyboardInterrupt):
        _publish(study_runs, analysis, out, "run-2")
    assert live_run_id(out) == "run-1" and _warehouse_run(out) == "run-2"
    monkeypatch.setattr(pipeline, "switch_release", real_switch)
    summary = _publish(study_runs, analysis, out, "run-3")
    assert any("repaired" in note and "run-2" in note for note in summary.notes)
    assert live_run_id(out) == "run-3" and _warehouse_run(out) == "run-3"


def test_a_second_publisher_refuses_and_names_the_holder(study_runs, analysis, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK_NAME).write_text(f'{{"pid": {holder.pid}, "since": "now", "purpose": "publish"}}')
        with pytest.raises(RunLocked, match=str(holder.pid)):
            _publish(study_runs, analysis, out, "run-x")
        assert not (out / "runs").exists() and live_run_id(out) is None
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale, taken over and said so
    summary = _publish(study_runs, analysis, out, "run-y")
    assert live_run_id(out) == "run-y" and any("stale lock" in note for note in summary.notes)
    assert not (out / LOCK_NAME).exists()
