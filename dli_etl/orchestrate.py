"""Run the Dagster asset graph in process on a real (local, SQLite-backed) Dagster instance.

``dli-etl demo`` and ``dli-etl run`` use this, so the console run and ``dagster dev`` execute the same
assets; the instance lives under ``<out>/.dagster_home`` and ``dagster dev`` can show its run history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dli_etl.progress import progress_line


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
                    echo: Callable[[str], None] | None = None, submission: str = "none") -> OrchestratedRun:
    """Materialize the graph once, the way the sensor and automation would: one run per study x site
    partition, one per study, then the release. Returns the published summary or the failing steps.

    A site partition that fails is reported and the other sites go on (their study is rolled up from the
    partitions that succeeded); a failed study roll-up stops before the release, since nothing may be
    published past a blocking check. ``echo`` gets one progress line per run."""
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
    # failures are reported as one plain line each (OrchestratedRun.errors); the full log stays in the instance
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    sites = sorted(landing_sites(paths.landing(), STUDIES, load_profiles(profiles_dir)))
    checks: dict[str, bool] = {}
    failed: list[str] = []
    run_id = ""
    published = None
    errors: list[str] = []
    with DagsterInstance.local_temp(tempdir=str(home)) as instance:
        for study in STUDIES:
            partitions = site_partitions(study)
            known = set(instance.get_dynamic_partitions(partitions.name))
            instance.add_dynamic_partitions(partitions.name, sorted({site for s, site in sites if s == study} - known))
        # (job, its partition, the study, what the progress line names)
        plan = [(ingest_job_name(study), site, study, f"ingest_sites {study}|{site}") for study, site in sites]
        plan += [(rollup_job_name(study), None, study, f"study_rollup {study}")
                 for study in STUDIES if any(s == study for s, _ in sites)]
        plan += [("publish", None, None, "publish")]
        blocked: set[str] = set()  # studies with a failed site: not rolled up, nothing released
        for number, (job_name, partition, study, label) in enumerate(plan, start=1):
            rollup = job_name.startswith("study_rollup")
            if (rollup and study in blocked) or (job_name == "publish" and blocked):
                say(progress_line(number, len(plan), f"{label}: skipped, "
                    f"a site of {', '.join(sorted(blocked))} failed (the live release stays as it is)"))
                continue
            started = time.perf_counter()
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, partition_key=partition, run_config=quiet, raise_on_error=False)
            for evaluation in result.get_asset_check_evaluations():
                where = f"[{partition}]" if partition else ""
                checks[f"{evaluation.asset_key.to_user_string()}{where}:{evaluation.check_name}"] = evaluation.passed
            failures = result.get_step_failure_events()
            failed += [e.step_key for e in failures]
            for event in failures:
                error = event.event_specific_data.error if event.event_specific_data else None
                while error is not None and error.cause is not None:
                    error = error.cause  # Dagster wraps the asset's own exception: say that one
                message = (error.message.strip().splitlines() or [""])[-1] if error is not None else "failed"
                errors.append(f"{label}: {event.step_key}: {message}")
            run_id = result.run_id
            say(progress_line(number, len(plan), f"{label}: {'ok' if result.success else 'FAILED'} "
                                                 f"({time.perf_counter() - started:.1f} s)"))
            if job_name == "publish" and result.success:
                published = result.output_for_node("published")
            if not result.success and job_name.startswith("ingest_sites"):
                blocked.add(study)
            elif not result.success:
                break
    return OrchestratedRun(not failed and published is not None, run_id, published, failed, checks, errors)
