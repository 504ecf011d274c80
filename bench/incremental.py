"""What one changed cell costs under Dagster, against a full run: the landing sensor asks for the one site
partition whose files changed, automation asks for that study's roll-up, then the release.

    python bench/incremental.py [--scale 1] [--gx]

The full run is ``materialize_all`` (every site partition, both studies' roll-ups, the release). The
incremental run changes one value in one site's workbook (DLIPRO S01, one haemoglobin result), then does
what the daemon would: a sensor tick, the runs it requests, automation, the runs it requests, until none
is left. Both are timed in this process, one after the other, and both run one run at a time (the full
run with ``workers=1``, though ``dli-etl demo`` spreads it over the cores); the figure is their ratio.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import tempfile
import time
from pathlib import Path


def _change_one_cell(landing: Path) -> str:
    import openpyxl

    path = next((landing / "DLIPRO" / "sites" / "S01").glob("*.xlsx"))
    book = openpyxl.load_workbook(path)
    sheet = book["CBC"]
    header = [c.value for c in sheet[1]]
    column = next(i for i, h in enumerate(header, start=1) if h and str(h).startswith("Hb"))
    cell = sheet.cell(row=2, column=column)
    cell.value = round(float(cell.value) + 0.1, 1)
    book.save(path)
    return f"{path.name} CBC!{cell.coordinate}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--gx", action="store_true", help="run the Great Expectations suites too (the demo's default)")
    args = parser.parse_args()
    os.environ.setdefault("DLI_PSEUDONYM_KEY", secrets.token_hex(32))
    for name in ("dagster", "dagster.builtin", "alembic"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from dagster import DagsterInstance, build_sensor_context, evaluate_automation_conditions
    from dli_etl.assets.automation import landing_files, rollup_job_name
    from dli_etl.assets.definitions import build_definitions
    from dli_etl.assets.resources import DliEtlPaths

    from dli_etl.orchestrate import materialize_all
    from dli_etl.synth.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        data = generate(Path(tmp) / "data", defect_rate=0.03, scale=args.scale)
        out = Path(tmp) / "out"
        started = time.perf_counter()
        # one run after the other, as the incremental runs below are: the ratio compares work, not cores
        full = materialize_all(data.landing, out, profiles_dir=data.profiles, expectations=args.gx, data_docs=False,
                               workers=1)
        full_s = time.perf_counter() - started
        assert full.success, full.failed_steps
        paths = DliEtlPaths(landing_dir=str(data.landing), output_dir=str(out), profiles_dir=str(data.profiles or ""),
                            expectations=args.gx, data_docs=False)
        defs = build_definitions(paths)
        quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
        steps: list[tuple[str, float]] = []
        with DagsterInstance.local_temp(tempdir=str(out / ".dagster_home")) as instance:
            # the daemon's state before the change: the sensor's cursor and automation's last evaluation
            before = landing_files(build_sensor_context(instance=instance, resources={"paths": paths}))
            assert before.run_requests == []
            cursor = evaluate_automation_conditions(defs=defs, instance=instance).cursor
            where = _change_one_cell(data.landing)
            started = time.perf_counter()
            tick = landing_files(build_sensor_context(instance=instance, cursor=before.cursor,
                                                      resources={"paths": paths}))
            for request in tick.run_requests:
                began = time.perf_counter()
                assert defs.resolve_job_def(request.job_name).execute_in_process(
                    instance=instance, partition_key=request.partition_key, run_config=quiet).success
                steps.append((f"{request.job_name}[{request.partition_key}]", time.perf_counter() - began))
            for _ in range(4):  # roll-up, then release: automation asks for each once its inputs are ready
                evaluation = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
                cursor = evaluation.cursor
                wanted = {r.key.to_user_string() for r in evaluation.results if r.true_subset.size}
                # the jobs the daemon would launch for them: a study's roll-up, or the release
                jobs = sorted({rollup_job_name(k.split("/")[0]) if "/" in k else "publish" for k in wanted})
                if not jobs:
                    break
                for job in jobs:
                    began = time.perf_counter()
                    assert defs.resolve_job_def(job).execute_in_process(instance=instance, run_config=quiet).success
                    steps.append((job, time.perf_counter() - began))
            incremental_s = time.perf_counter() - started
    print(f"scale {args.scale}x, GX {'on' if args.gx else 'off'}; changed {where}")
    print(f"full run (every partition, both roll-ups, release): {full_s:.1f} s")
    for name, seconds in steps:
        print(f"  incremental step {name}: {seconds:.1f} s")
    print(f"incremental run: {incremental_s:.1f} s = {incremental_s / full_s:.2f} of the full run")


if __name__ == "__main__":
    main()
