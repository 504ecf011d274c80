"""Forked workers: what they inherit, what a batch's ``meanwhile`` gives the next batch, and a GX import
that leaves scipy.stats for whoever uses it."""

import gc
import os
import subprocess
import sys
import textwrap

import pytest
from dagster import Definitions, job, op

from dli_etl.forked_workers import forked_pool, worker_count
from dli_etl.orchestrate import _Runner

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers are Linux only")

MARKER = "DLI_ETL_TEST_MEANWHILE"


@op
def _needs_marker() -> None:
    # a worker forked before the parent's ``meanwhile`` ran has no marker: its run fails
    if os.environ.get(MARKER) != "1":
        raise RuntimeError("forked before the marker was set")


@job
def needs_marker():
    _needs_marker()


def test_a_worker_sets_its_inheritance_aside_and_the_parent_stays_as_it_was():
    frozen_here = gc.get_freeze_count()
    with forked_pool(1) as pool:
        in_worker = pool.submit(gc.get_freeze_count).result()
    # everything the worker inherited is out of its collector's sight, so its pages stay shared
    assert in_worker > 0
    assert gc.get_freeze_count() == frozen_here


def test_worker_count_is_capped_by_the_work_and_the_cap():
    assert worker_count(3, most=2) == 2
    assert worker_count(None, most=100, cap=1) == 1
    assert worker_count(0, most=5) == 0


def test_the_batch_after_meanwhile_runs_in_workers_that_have_what_it_loaded(tmp_path, monkeypatch):
    monkeypatch.delenv(MARKER, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    defs = Definitions(jobs=[needs_marker])
    lines: list[str] = []
    runs = [("needs_marker", None, f"run {n}") for n in range(2)]
    with _Runner(home, defs, workers=2, most=2) as runner:
        # the first batch's workers were forked before the marker: both runs fail
        first = runner.run(runs, lines.append, meanwhile=lambda: os.environ.__setitem__(MARKER, "1"))
        second = runner.run(runs, lines.append)
    assert [r.ok for r in first] == [False, False]
    assert [r.ok for r in second] == [True, True], [r.errors for r in second]
    assert len(lines) == 4


def test_gx_loads_without_scipy_stats_and_scipy_stats_still_works():
    # a fresh interpreter: this one may have loaded scipy.stats already
    script = textwrap.dedent("""
        import sys
        from dli_etl.sdtm.expectation_suites import import_great_expectations
        gx = import_great_expectations()
        assert "scipy.stats._stats_py" not in sys.modules, "scipy.stats was loaded"
        context = gx.get_context(mode="ephemeral")
        assert context is not None
        from scipy import stats
        assert abs(stats.norm.cdf(0.0) - 0.5) < 1e-12
        assert "scipy.stats._stats_py" in sys.modules
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
