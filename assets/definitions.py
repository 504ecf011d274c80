"""Everything Dagster loads: assets, checks, jobs, the sensors and schedule, resources and the IO manager."""

from pathlib import Path

from dagster import Definitions, FilesystemIOManager

from .automation import (
    daily_full_rebuild,
    ingest_sites_job,
    landing_files,
    publish_job,
    study_rollup_job,
    study_rollups,
)
from .publishing import published
from .resources import DliEtlPaths
from .study_assets import adam, harmonized, sdtm, source_files

ALL_ASSETS = [source_files, harmonized, sdtm, adam, published]
JOBS = [ingest_sites_job, study_rollup_job, publish_job]


def build_definitions(paths: DliEtlPaths | None = None) -> Definitions:
    """Definitions with ``paths`` (default: from ``DLI_*`` environment variables)."""
    paths = paths or DliEtlPaths.from_env()
    storage = Path(paths.output_dir) / ".dagster_storage"
    return Definitions(
        assets=ALL_ASSETS,
        jobs=JOBS,
        sensors=[landing_files, study_rollups],
        schedules=[daily_full_rebuild],
        resources={"paths": paths, "io_manager": FilesystemIOManager(base_dir=str(storage))},
    )


def job_from_environment(name: str):
    """A job resolved with paths from ``DLI_*`` variables: what the multiprocess executor's worker processes
    rebuild (``build_reconstructable_job("dli_etl.assets.definitions", "job_from_environment", ("ingest_sites",))``)."""
    return build_definitions().resolve_job_def(name)
