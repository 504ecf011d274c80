"""Everything Dagster loads: assets, checks, the job, resources and the IO manager."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetSelection, Definitions, FilesystemIOManager, define_asset_job

from dli_etl.pipeline import STUDIES

from .publishing import published, query_state
from .resources import DliEtlPaths
from .study_assets import build_study_assets

_assets, _checks = [], []
for _study in STUDIES:
    a, c = build_study_assets(_study)
    _assets += a
    _checks += c
ALL_ASSETS = [query_state, *_assets, published]
ALL_CHECKS = _checks

full_refresh_job = define_asset_job("full_refresh", selection=AssetSelection.all(), description="Every study, end to end.")


def build_definitions(paths: DliEtlPaths | None = None) -> Definitions:
    """Definitions with ``paths`` (default: from environment variables)."""
    paths = paths or DliEtlPaths.from_env()
    storage = Path(paths.output_dir) / ".dagster_storage"
    return Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[full_refresh_job],
        resources={"paths": paths, "io_manager": FilesystemIOManager(base_dir=str(storage))},
    )
