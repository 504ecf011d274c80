"""A publishing process killed (SIGKILL) at each step of ``write_outputs``: after every kind of file of the
release, inside the SQL transaction, before and after the switch, on SQLite and PostgreSQL. Whatever the
step, once the next run has reconciled (its first act), ``current``, the warehouse's tables and
``dli_publish_log`` name the same release, and the next run publishes. Two runs started together: one
refuses, naming the holder, the other publishes.

The publisher is a forked child of the test process, so it starts with the pipeline's tables in memory
and is killed exactly where a marker file says it stands."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from postgres_server import create_database

from dli_etl import pipeline
from dli_etl import publish as publish_module
from dli_etl.publish import live_run_id, reconcile_release, release_state
from dli_etl.run_lock import LOCK_NAME, RunLocked

# step -> (module, function, hang before or after the call, on its n-th call)
STEPS = {
    "after the triage workbooks": (pipeline, "write_triage_workbooks", "after", 1),
    "after the Parquet files": (pipeline, "write_release_files", "after", 1),
    "after findings.xlsx": (pipeline, "write_findings_xlsx", "after", 1),
    "after XPT and Define-XML": (pipeline, "write_submission_files", "after", 1),
    "after the report": (pipeline, "render_report", "after", 1),
    "after the manifest, before SQL": (pipeline, "publish_sql", "before", 1),
    "inside SQL, first table": (publish_module, "write_sql_table", "after", 1),
    "inside SQL, half the tables": (publish_module, "write_sql_table", "after", 30),
    "inside SQL, publish log written": (publish_module, "_log", "after", 1),
    "committed, before the switch": (pipeline, "switch_release", "before", 1),
    "after the switch": (pipeline, "switch_release", "after", 1),
}
# the next run publishes after these: one per kind of outcome (old release kept before SQL, inside the open
# transaction, rolled forward after the commit, new release live)
NEXT_RUN_AFTER = {"after the manifest, before SQL", "inside SQL, half the tables", "committed, before the switch",
                  "after the switch"}
COMMITTED = {"committed, before the switch", "after the switch"}
# a kill while only files are written leaves the warehouse untouched whichever it is: those steps run on
# SQLite; every step from the last one before SQL on runs on both warehouses
FILES_ONLY = {"after the triage workbooks", "after the Parquet files", "after findings.xlsx",
              "after XPT and Define-XML", "after the report"}
CASES = [pytest.param(warehouse, step, id=f"{warehouse}: {step}") for warehouse in ("sqlite", "postgresql")
         for step in STEPS if warehouse == "sqlite" or step not in FILES_ONLY]


def _publish(runs, analysis, out: Path, url: str, run_id: str, submission: str = "none"):
    return pipeline.write_outputs(runs, out, Path("landing"), url, run_id=run_id, analysis=analysis,
                                  submission=submission)


def _stop_at(step: str, marker: Path, resume: Path | None = None) -> None:
    """In the child: wrap the step's function so that it writes ``marker`` and waits there (for ever, or
    until ``resume`` exists)."""
    module, name, when, nth = STEPS[step]
    real = getattr(module, name)
    calls = {"n": 0}

    def wait() -> None:
        marker.write_text(step, encoding="utf-8")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not (resume and resume.exists()):
            time.sleep(0.05)

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if when == "before" and calls["n"] == nth:
            wait()
        result = real(*args, **kwargs)
        if when == "after" and calls["n"] == nth:
            wait()
        return result

    setattr(module, name, wrapped)


def _child(runs, analysis, out, url, run_id, step, marker, resume=None) -> None:
    if step:
        _stop_at(step, marker, resume)
    try:
        # the XPT package only where its step is under test: it is the slowest file kind to write
        _publish(runs, analysis, out, url, run_id, "study" if step == "after XPT and Define-XML" else "none")
    except RunLocked as refused:
        marker.with_suffix(".refused").write_text(str(refused), encoding="utf-8")
        os._exit(3)
    os._exit(0)


def _start(*args) -> multiprocessing.Process:
    process = multiprocessing.get_context("fork").Process(target=_child, args=args)
    process.start()
    return process


def _wait_for(marker: Path, process: multiprocessing.Process) -> None:
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.is_alive(), f"the publisher ended (exit {process.exitcode}) before it reached the step"
        assert time.monotonic() < deadline, "the publisher never reached the step"
        time.sleep(0.05)


def _parquet_hashes(release: Path) -> dict[str, str]:
    return {p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(release.rglob("*.parquet"))}


def _assert_one_release(out: Path, url: str, expected: str, logged_runs: set[str]) -> None:
    state = release_state(out, url)
    assert state.live == expected
    assert {name for name, runs in state.tables.items() if runs and runs != {expected}} == set()
    assert state.logged == logged_runs and state.consistent
    assert (out / "current" / "run_manifest.json").is_file()


@pytest.fixture(scope="module")
def first_release(clean_runs, clean_analysis, tmp_path_factory, request):
    """run-1 published once per warehouse; each case starts from a copy."""
    made = {}

    def make(warehouse: str):
        if warehouse not in made:
            root = tmp_path_factory.mktemp(f"first_{warehouse}")
            out = root / "out"
            if warehouse == "sqlite":
                url = f"sqlite:///{root / 'warehouse.sqlite'}"
            else:
                url = create_database(request.getfixturevalue("postgres_url"))
            _publish(clean_runs, clean_analysis, out, url, "run-1")
            made[warehouse] = (root, out, url)
        return made[warehouse]
    return make


def _copy_release(first_release, warehouse: str, tmp_path: Path) -> tuple[Path, str]:
    root, out, url = first_release(warehouse)
    copy = tmp_path / "out"
    shutil.copytree(out, copy, symlinks=True)
    if warehouse == "sqlite":
        shutil.copy(root / "warehouse.sqlite", tmp_path / "warehouse.sqlite")
        return copy, f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    return copy, create_database(url, template=url.rsplit("/", 1)[1])


@pytest.mark.parametrize(("warehouse", "step"), CASES)
def test_a_kill_at_any_publish_step_leaves_one_release(first_release, clean_runs, clean_analysis, tmp_path,
                                                       warehouse, step):
    out, url = _copy_release(first_release, warehouse, tmp_path)
    before = _parquet_hashes(out / "current")
    marker = tmp_path / "marker"
    process = _start(clean_runs, clean_analysis, out, url, "run-2", step, marker)
    try:
        _wait_for(marker, process)
        os.kill(process.pid, signal.SIGKILL)
        process.join(30)
    finally:
        if process.is_alive():
            process.kill()
    assert process.exitcode == -signal.SIGKILL

    note = reconcile_release(out, url)  # the first thing the next run does
    if step == "committed, before the switch":
        assert note and "repaired" in note and "run-2" in note
    else:
        assert note is None
    expected = "run-2" if step in COMMITTED else "run-1"
    _assert_one_release(out, url, expected, {"run-1", expected})
    if expected == "run-1":
        assert _parquet_hashes(out / "current") == before  # what readers see did not change by a byte

    assert (out / LOCK_NAME).exists()  # the killed run's lock: stale, its holder is gone
    if step not in NEXT_RUN_AFTER:
        return  # a publish after every kill costs a full release; one per kind of outcome is enough
    summary = _publish(clean_runs, clean_analysis, out, url, "run-3")
    assert any("stale lock" in n for n in summary.notes)  # taken over, and said so
    _assert_one_release(out, url, "run-3", {"run-1", expected, "run-3"})
    assert not (out / LOCK_NAME).exists()


def test_two_runs_started_together_one_refuses_the_other_publishes(first_release, clean_runs, clean_analysis,
                                                                  tmp_path):
    out, url = _copy_release(first_release, "sqlite", tmp_path)
    holding, resume = tmp_path / "a.marker", tmp_path / "a.resume"
    first = _start(clean_runs, clean_analysis, out, url, "run-a", "after the triage workbooks", holding, resume)
    try:
        _wait_for(holding, first)  # run-a holds the lock, half-way through its release
        second = _start(clean_runs, clean_analysis, out, url, "run-b", None, tmp_path / "b.marker")
        second.join(120)
        assert second.exitcode == 3
        refusal = (tmp_path / "b.refused").read_text(encoding="utf-8")
        assert f"pid {first.pid}" in refusal and "nothing was published" in refusal
        resume.write_text("go", encoding="utf-8")
        first.join(120)
        assert first.exitcode == 0
    finally:
        for process in (first,):
            if process.is_alive():
                process.kill()
    _assert_one_release(out, url, "run-a", {"run-1", "run-a"})
    assert not (out / "runs" / "run-b").exists()


def test_two_runs_on_one_postgresql_warehouse_from_two_folders_one_refuses(first_release, clean_runs,
                                                                          clean_analysis, tmp_path):
    """Two output folders, one warehouse: the folder lock cannot see the other run, PostgreSQL's advisory
    lock does. The second refuses inside its transaction and commits nothing."""
    out, url = _copy_release(first_release, "postgresql", tmp_path)
    other = tmp_path / "other_out"
    shutil.copytree(out, other, symlinks=True)
    holding, resume = tmp_path / "a.marker", tmp_path / "a.resume"
    first = _start(clean_runs, clean_analysis, out, url, "run-a", "inside SQL, first table", holding, resume)
    try:
        _wait_for(holding, first)  # run-a is inside its SQL transaction, holding the advisory lock
        second = _start(clean_runs, clean_analysis, other, url, "run-b", None, tmp_path / "b.marker")
        second.join(120)
        assert second.exitcode == 3
        assert "another dli-etl run is publishing into this PostgreSQL warehouse" in \
            (tmp_path / "b.refused").read_text(encoding="utf-8")
        resume.write_text("go", encoding="utf-8")
        first.join(120)
        assert first.exitcode == 0
    finally:
        if first.is_alive():
            first.kill()
    _assert_one_release(out, url, "run-a", {"run-1", "run-a"})
    assert live_run_id(other) == "run-1"  # the refused run switched nothing
