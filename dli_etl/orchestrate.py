"""Run the Dagster asset graph in process on a real (local, SQLite-backed) Dagster instance.

``dli-etl demo`` and ``dli-etl run`` use this, so the console run and ``dagster dev`` execute the same
assets; the instance lives under ``<out>/.dagster_home`` and ``dagster dev`` can show its run history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path


@dataclass
class OrchestratedRun:
    success: bool
    run_id: str
    published: dict | None
    failed_steps: list[str]
    check_results: dict[str, bool]


def materialize_all(landing: Path, out: Path, warehouse_url: str | None = None,
                    profiles_dir: Path | None = None, expectations: bool = True,
                    data_docs: bool = True) -> OrchestratedRun:
    """Materialize every asset once; returns the published summary or the failing steps."""
    from dagster import DagsterInstance, FilesystemIOManager, materialize

    from dli_etl.assets.definitions import ALL_ASSETS, ALL_CHECKS
    from dli_etl.assets.resources import DliEtlPaths

    for name in ("dagster", "dagster.builtin", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    out = Path(out).resolve()
    home = out / ".dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    paths = DliEtlPaths(landing_dir=str(Path(landing).resolve()), output_dir=str(out),
                        warehouse_url=warehouse_url or "", profiles_dir=str(profiles_dir or ""),
                        expectations=expectations, data_docs=data_docs)
    with DagsterInstance.local_temp(tempdir=str(home)) as instance:
        result = materialize(
            [*ALL_ASSETS, *ALL_CHECKS],
            instance=instance,
            resources={"paths": paths, "io_manager": FilesystemIOManager(base_dir=str(out / ".dagster_storage"))},
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            raise_on_error=False,
        )
        checks = {f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
                  for e in result.get_asset_check_evaluations()}
        failed = [e.step_key for e in result.get_step_failure_events()]
        published = result.output_for_node("published") if result.success else None
        return OrchestratedRun(result.success, result.run_id, published, failed, checks)
