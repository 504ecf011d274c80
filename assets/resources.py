"""Where dli-etl reads and writes, as a Dagster resource configurable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource

from dli_etl.site_profile import SiteProfile, load_profiles

DEFAULT_HOME = "dli-etl-out"


class DliEtlPaths(ConfigurableResource):
    """Landing folder, output folder, warehouse URL and optional extra site profiles.

    Defaults come from ``DLI_LANDING_DIR``, ``DLI_OUTPUT_DIR``, ``DLI_WAREHOUSE_URL`` and
    ``DLI_PROFILES_DIR``; an empty warehouse URL means the embedded SQLite file under the output folder.
    ``DLI_ALLOW_EMPTY=1`` lets a release drop a study that has no source (refused by default).
    ``DLI_SUBMISSION=study|all`` also writes the SDTM submission package (XPT + Define-XML).
    """

    landing_dir: str
    output_dir: str
    warehouse_url: str = ""
    profiles_dir: str = ""
    expectations: bool = True
    data_docs: bool = False  # the report shows every expectation; Data Docs only when asked
    allow_empty: bool = False  # publish even when a study with data in the live release has no source
    submission: str = "none"  # XPT + Define-XML: "none", per "study", or "all" (studies and pooled)

    def landing(self) -> Path:
        return Path(self.landing_dir)

    def output(self) -> Path:
        return Path(self.output_dir)

    def profiles(self) -> list[SiteProfile]:
        return load_profiles(Path(self.profiles_dir) if self.profiles_dir else None)

    @classmethod
    def from_env(cls) -> DliEtlPaths:
        return cls(
            landing_dir=os.environ.get("DLI_LANDING_DIR", f"{DEFAULT_HOME}/landing"),
            output_dir=os.environ.get("DLI_OUTPUT_DIR", DEFAULT_HOME),
            warehouse_url=os.environ.get("DLI_WAREHOUSE_URL", ""),
            profiles_dir=os.environ.get("DLI_PROFILES_DIR", ""),
            data_docs=os.environ.get("DLI_DATA_DOCS", "0") in ("1", "true", "yes"),
            allow_empty=os.environ.get("DLI_ALLOW_EMPTY", "0") in ("1", "true", "yes"),
            submission=os.environ.get("DLI_SUBMISSION", "none"),
        )
