"""Trends across transfers: per run, study and site, the findings by severity and the queries still
waiting on the site. Each release appends its rows to the warehouse table ``dli_transfer_trends`` (the
release folders themselves are pruned to the last five), and the report shows the latest runs."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import create_engine, inspect

from dli_etl.queries import ANSWERED, OPEN

TREND_TABLE = "dli_transfer_trends"
TREND_COLUMNS = ("run_id", "published_at", "study", "site", "errors", "warnings", "infos", "open_queries")
_COUNTS = ("errors", "warnings", "infos", "open_queries")


def empty_trends() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c in _COUNTS else "string") for c in TREND_COLUMNS})


def load_trends(warehouse_url: str) -> pd.DataFrame:
    """Every earlier run's trend rows from the warehouse (empty before the first release that kept them)."""
    engine = create_engine(warehouse_url)
    try:
        if TREND_TABLE not in inspect(engine).get_table_names():
            return empty_trends()
        frame = pd.read_sql_table(TREND_TABLE, engine)
    finally:
        engine.dispose()
    return _typed(frame.reindex(columns=list(TREND_COLUMNS)))


def run_trends(run_id: str, published_at: str, findings: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
    """This run's rows: per study and site, findings by severity and queries Open or Answered."""
    keys = ["study", "site"]
    found = findings[[*keys, "severity"]].astype("string").fillna("")
    waiting = queries.loc[queries["status"].isin([OPEN, ANSWERED]), keys].astype("string").fillna("")
    # one row per finding or waiting query with its count columns, then summed per study and site
    rows = pd.concat([
        found[keys].assign(errors=(found["severity"] == "error").astype(int),
                           warnings=(found["severity"] == "warning").astype(int),
                           infos=(found["severity"] == "info").astype(int), open_queries=0),
        waiting.assign(errors=0, warnings=0, infos=0, open_queries=1)], ignore_index=True)
    if rows.empty:
        return empty_trends()
    out = rows.groupby(keys, as_index=False)[list(_COUNTS)].sum()
    out.insert(0, "published_at", published_at)
    out.insert(0, "run_id", run_id)
    return _typed(out.reindex(columns=list(TREND_COLUMNS)))


def with_run(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The trend table after this run: earlier rows (a re-published run id replaced) plus this run's."""
    runs = set(current["run_id"])
    kept = previous[~previous["run_id"].isin(runs)] if not previous.empty else previous
    frames = [f for f in (kept, current) if not f.empty]
    return _typed(pd.concat(frames, ignore_index=True)) if frames else empty_trends()


def trend_by_run(trends: pd.DataFrame, last: int = 10) -> pd.DataFrame:
    """Totals per run (the latest ``last`` runs, oldest first): one line per transfer for the report."""
    if trends.empty:
        return pd.DataFrame(columns=["run_id", "published_at", *_COUNTS])
    totals = trends.groupby(["run_id", "published_at"], as_index=False)[list(_COUNTS)].sum()
    return totals.sort_values(["published_at", "run_id"]).tail(last).reset_index(drop=True)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in TREND_COLUMNS:
        out[column] = pd.to_numeric(out[column]).astype("Int64") if column in _COUNTS else out[column].astype("string")
    return out
