"""Tables to publish in the warehouse tests, taken from a release a pipeline run already wrote."""

from pathlib import Path

import pandas as pd


def tables_from_release(release: Path) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """(Parquet key -> frame, SQL table -> frame): every file of the release, and its pooled tables in SQL."""
    parquet = {p.relative_to(release).with_suffix("").as_posix(): pd.read_parquet(p)
               for p in sorted(release.rglob("*.parquet"))}
    sql = {}
    for key, frame in parquet.items():
        parts = key.split("/")
        if parts[0] in ("sdtm", "curated", "adam") and parts[1] == "pooled":
            sql[f"{parts[0]}_{parts[2]}"] = frame
        elif parts[0] in ("findings", "endpoints", "queries"):
            sql[parts[-1]] = frame
    return parquet, sql
