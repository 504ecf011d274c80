"""Run the Dagster asset graph on a real (local, SQLite-backed) Dagster instance, from this process and
its forked workers.

``dli-etl demo`` and ``dli-etl run`` use this, so the console run and ``dagster dev`` execute the same
assets; the instance lives under ``<out>/.dagster_home`` and ``dagster dev`` can show its run history.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from dli_etl.forked_workers import forked_pool, worker_count
from dli_etl.progress import progress_line

DEFAULT_WORKERS_CAP = 8


@dataclass
class OrchestratedRun:
    success: bool
    run_id: str
    published: dict | None
    failed_steps: list[str]
    check_results: dict[str, bool]
    errors: list[str] = field(default_factory=list)  # one plain line per failed step: where and why


def materialize_all(landing: Path, out: Path, warehouse_url: str | None = None,
                    profiles_dir: Path | None = None, expectations: bool = True,
                    data_docs: bool = False, allow_empty: bool = False,
                    echo: Callable[[str], None] | None = None, submission: str = "none",
                    workers: int | None = None) -> OrchestratedRun:
    """Materialize the graph once, the way the sensor and automation would: one run per study x site
    partition, one per study, then the release. Returns the published summary or the failing steps.

    Site partitions are independent of each other, and so are the studies' roll-ups once their sites are
    in: each batch runs side by side in ``workers`` forked processes (default: one per core, at most
    ``DEFAULT_WORKERS_CAP``; 1 runs every run here, one after the other). Every run is recorded in the
    same Dagster instance either way.

    A site partition that fails is reported and the other sites go on (their study is not rolled up); a
    failed study roll-up stops before the release, since nothing may be published past a blocking check.
    ``echo`` gets one progress line per run, in the order the runs finish."""
    say = echo or (lambda _line: None)
    from dagster import DagsterInstance

    from dli_etl.assets.automation import ingest_job_name, rollup_job_name
    from dli_etl.assets.definitions import build_definitions
    from dli_etl.assets.partitions import site_partitions
    from dli_etl.assets.resources import DliEtlPaths
    from dli_etl.ingest.apply_profile import landing_sites
    from dli_etl.pipeline import STUDIES
    from dli_etl.site_profile import load_profiles

    for name in ("dagster", "dagster.builtin", "alembic"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    out = Path(out).resolve()
    home = out / ".dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    paths = DliEtlPaths(landing_dir=str(Path(landing).resolve()), output_dir=str(out),
                        warehouse_url=warehouse_url or "", profiles_dir=str(profiles_dir or ""),
                        expectations=expectations, data_docs=data_docs, allow_empty=allow_empty,
                        submission=submission)
    defs = build_definitions(paths)
    sites = sorted(landing_sites(paths.landing(), STUDIES, load_profiles(profiles_dir)))
    with DagsterInstance.local_temp(tempdir=str(home)) as instance:
        for study in STUDIES:
            partitions = site_partitions(study)
            known = set(instance.get_dynamic_partitions(partitions.name))
            instance.add_dynamic_partitions(partitions.name, sorted({site for s, site in sites if s == study} - known))
    ingests = [(ingest_job_name(study), site, f"ingest_sites {study}|{site}") for study, site in sites]
    studies = [study for study in STUDIES if any(s == study for s, _ in sites)]
    total = len(ingests) + len(studies) + 1
    done = 0

    def report(line: str) -> None:
        nonlocal done
        done += 1
        say(progress_line(done, total, line))

    with _Runner(home, defs, workers, len(ingests)) as runner:
        # what the roll-ups and the release load (GX, matplotlib, pandera's backends: seconds) is loaded here
        # while the workers read the sites, and the roll-ups go to workers forked after it: once on the
        # machine, not once per study and again in the release, on the critical path
        site_runs = runner.run(ingests, report, meanwhile=lambda: _import_heavy_modules(expectations))
        blocked = sorted({study for (study, _), result in zip(sites, site_runs, strict=True) if not result.ok})
        for study in blocked:
            report(f"study_rollup {study}: skipped, a site of {study} failed (the live release stays as it is)")
        ready = [study for study in studies if study not in blocked]
        rolled = runner.run([(rollup_job_name(study), None, f"study_rollup {study}") for study in ready], report)
    results = site_runs + rolled
    stopped = [study for study, result in zip(ready, rolled, strict=True) if not result.ok]
    checks = {k: v for result in results for k, v in result.checks.items()}
    failed = [step for result in results for step in result.failed]
    errors = [error for result in results for error in result.errors]
    run_id = next((r.run_id for r in reversed(results) if r.run_id), "")
    published = None
    if blocked:
        report(f"publish: skipped, a site of {', '.join(blocked)} failed (the live release stays as it is)")
    elif stopped:
        report(f"publish: skipped, the roll-up of {', '.join(stopped)} failed (the live release stays as it is)")
    else:
        with DagsterInstance.local_temp(tempdir=str(home)) as instance:
            release = _execute(instance, defs, "publish", None, "publish")
        report(release.line)
        checks.update(release.checks)
        failed += release.failed
        errors += release.errors
        run_id = release.run_id or run_id
        published = release.published
    return OrchestratedRun(not failed and published is not None, run_id, published, failed, checks, errors)


@dataclass
class _RunResult:
    """What one run left, for the caller to merge (picklable: it may come from a worker process)."""

    line: str = ""
    ok: bool = True
    checks: dict[str, bool] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    run_id: str = ""
    published: dict | None = None


class _Runner:
    """Runs one batch of independent runs at a time: the site partitions, then the studies' roll-ups.
    With cores and runs to spare they go to forked worker processes, which start with everything this
    process imported (no second start-up) and keep one instance open each; otherwise they run here, one
    after the other. Either way every run is recorded in the instance in ``home``. A worker that dies
    (killed, out of memory) fails the runs it had, by name; the batches after it run here."""

    def __init__(self, home: Path, defs, workers: int | None, most: int):
        self.home, self.defs = home, defs
        # every worker writes its runs' events into the same SQLite files: beyond a few writers they mostly
        # wait on each other's locks (a PostgreSQL instance and Dagster's own executors scale further)
        self.count = worker_count(workers, most, DEFAULT_WORKERS_CAP)
        if self.count > 1:
            from dagster import DagsterInstance

            # the workers open the instance at once: its databases must exist before, or two of them create
            # them together, alembic's version table gets two heads and every later open of it fails
            with DagsterInstance.local_temp(tempdir=str(home)):
                pass
        # one worker would only wait in place of this process
        self.pool = forked_pool(self.count, _start_worker, (home, defs)) if self.count > 1 else None
        self.stale = False

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *_exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)  # workers leave through their finalizers: each closes its instance

    def run(self, runs: list[tuple[str, str | None, str]], report: Callable[[str], None],
            meanwhile: Callable[[], None] | None = None) -> list[_RunResult]:
        """Every run of ``runs``, results in the same order; ``report`` gets each one's line as it ends.
        ``meanwhile`` runs here while the workers work; the next batch's workers are forked after it, so
        they start with what it loaded."""
        results: dict[int, _RunResult] = {}
        if self.pool is None or len(runs) < 2:
            from dagster import DagsterInstance

            with DagsterInstance.local_temp(tempdir=str(self.home)) as instance:
                for number, (job_name, partition, label) in enumerate(runs):
                    results[number] = _execute(instance, self.defs, job_name, partition, label)
                    report(results[number].line)
            return [results[number] for number in range(len(runs))]
        if self.stale:
            self.pool.shutdown(wait=True)
            self.pool = forked_pool(self.count, _start_worker, (self.home, self.defs))
            self.stale = False
        futures = {self.pool.submit(_worker_execute, task): number for number, task in enumerate(runs)}
        # a thread, so this process still reports each run as it ends; it is over before the next fork
        helper = threading.Thread(target=meanwhile, name="dli-etl-meanwhile") if meanwhile is not None else None
        if helper is not None:
            helper.start()
        try:
            for future in as_completed(futures):
                number = futures[future]
                try:
                    results[number] = future.result()
                except BrokenProcessPool:
                    job_name, _, label = runs[number]
                    results[number] = _RunResult(f"{label}: FAILED (a worker process died)", ok=False,
                                                 failed=[job_name],
                                                 errors=[f"{label}: a worker process died (killed, or out of memory) "
                                                         "before this run ended; run again to finish it"])
                report(results[number].line)
        finally:
            if helper is not None:
                helper.join()
                self.stale = True
        if any(isinstance(f.exception(), BrokenProcessPool) for f in futures):
            self.pool.shutdown(wait=True)
            self.pool = None
        return [results[number] for number in range(len(runs))]


_WORKER: dict = {}


def _import_heavy_modules(expectations: bool) -> None:
    from dli_etl.endpoints.curves import import_matplotlib
    from dli_etl.schemas.failures import register_pandera_backends
    from dli_etl.sdtm.expectation_suites import import_great_expectations

    # a broken install is not this thread's to report: a run that needs the module fails on it with its own
    # error, in its own run, where a data engineer looks
    with contextlib.suppress(Exception):
        import_matplotlib()
    with contextlib.suppress(Exception):
        register_pandera_backends()  # the roll-ups validate every form, the release every ADaM dataset
    if expectations:
        with contextlib.suppress(Exception):
            import_great_expectations()


def _start_worker(home: Path, defs) -> None:
    from multiprocessing.util import Finalize

    from dagster import DagsterInstance

    context = DagsterInstance.local_temp(tempdir=str(home))
    _WORKER.update(defs=defs, instance=context.__enter__())
    Finalize(None, context.__exit__, args=(None, None, None), exitpriority=10)


def _worker_execute(task: tuple[str, str | None, str]) -> _RunResult:
    job_name, partition, label = task
    return _execute(_WORKER["instance"], _WORKER["defs"], job_name, partition, label)


def _execute(instance, defs, job_name: str, partition: str | None, label: str) -> _RunResult:
    """One run of ``job_name`` (for ``partition``) on ``instance``; its progress line says how it went."""
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    step = _RunResult()
    started = time.perf_counter()
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, partition_key=partition, run_config=quiet, raise_on_error=False)
    for evaluation in result.get_asset_check_evaluations():
        where = f"[{partition}]" if partition else ""
        step.checks[f"{evaluation.asset_key.to_user_string()}{where}:{evaluation.check_name}"] = evaluation.passed
    for event in result.get_step_failure_events():
        step.failed.append(event.step_key)
        error = event.event_specific_data.error if event.event_specific_data else None
        while error is not None and error.cause is not None:
            error = error.cause  # Dagster wraps the asset's own exception: say that one
        message = (error.message.strip().splitlines() or [""])[-1] if error is not None else "failed"
        step.errors.append(f"{label}: {event.step_key}: {message}")
    step.ok = result.success
    step.run_id = result.run_id
    if job_name == "publish" and result.success:
        step.published = result.output_for_node("published")
    step.line = f"{label}: {'ok' if result.success else 'FAILED'} ({time.perf_counter() - started:.1f} s)"
    return step
