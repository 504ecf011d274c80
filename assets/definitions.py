"""Everything Dagster loads: each study's assets and checks, the release, jobs, the sensors and schedule,
resources and the IO manager."""

from pathlib import Path

from dagster import Definitions

from dli_etl.pipeline import STUDIES

from .automation import (
    INGEST_JOBS,
    ROLLUP_JOBS,
    daily_full_rebuild,
    landing_files,
    publish_job,
    study_rollups,
)
from .publishing import published
from .resources import DliEtlPaths
from .storage import PickleIOManager
from .study_assets import study_assets

ALL_ASSETS = [*(a for study in STUDIES for a in study_assets(study)), published]
JOBS = [*INGEST_JOBS.values(), *ROLLUP_JOBS.values(), publish_job]


def build_definitions(paths: DliEtlPaths | None = None) -> Definitions:
    """Definitions with ``paths`` (default: from ``DLI_*`` environment variables)."""
    paths = paths or DliEtlPaths.from_env()
    storage = Path(paths.output_dir) / ".dagster_storage"
    return Definitions(
        assets=ALL_ASSETS,
        jobs=JOBS,
        sensors=[landing_files, study_rollups(ALL_ASSETS)],
        schedules=[daily_full_rebuild],
        resources={"paths": paths, "io_manager": PickleIOManager(base_dir=str(storage))},
    )


def job_from_environment(name: str):
    """A job resolved with paths from ``DLI_*`` variables: what the multiprocess executor's worker processes
    rebuild (``build_reconstructable_job("dli_etl.assets.definitions", "job_from_environment", ("ingest_sites_DLIPRO",))``)."""
    return build_definitions().resolve_job_def(name)
