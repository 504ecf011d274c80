"""Analysis dates from SDTM ``--DTC`` text: complete dates as they are, partial dates imputed only when a
rule says so, and then always with the ADaM imputation flag (``D`` day imputed, ``M`` month and day)."""

from __future__ import annotations

import pandas as pd


def analysis_date(dtc: pd.Series) -> pd.Series:
    """The complete date part of ISO 8601 text; partial or missing dates stay missing."""
    text = dtc.astype("string")
    return pd.to_datetime(text.where(text.str.len() >= 10).str.slice(0, 10), errors="coerce", format="%Y-%m-%d")


def imputed_date(dtc: pd.Series, not_before: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """(date, flag): a partial date becomes the first day of its month (``D``) or year (``M``), moved
    forward to ``not_before`` (e.g. the last date known alive) when the first day would fall earlier.

    Complete dates are returned unflagged; text that is not an ISO 8601 date stays missing.
    """
    text = dtc.astype("string").str.strip()
    complete = analysis_date(text)
    month = pd.to_datetime(text.where(text.str.fullmatch(r"\d{4}-\d{2}", na=False)) + "-01", errors="coerce",
                           format="%Y-%m-%d")
    year = pd.to_datetime(text.where(text.str.fullmatch(r"\d{4}", na=False)) + "-01-01", errors="coerce",
                          format="%Y-%m-%d")
    flag = pd.Series(pd.NA, index=dtc.index, dtype="string")
    flag[complete.isna() & month.notna()] = "D"
    flag[complete.isna() & year.notna()] = "M"
    date = complete.fillna(month).fillna(year)
    if not_before is not None:
        floor = pd.to_datetime(not_before).reindex(dtc.index)
        same_period = ((flag == "D") & (floor.dt.to_period("M") == date.dt.to_period("M"))) | (
            (flag == "M") & (floor.dt.year == date.dt.year))
        date = date.where(~(same_period.fillna(False) & (floor > date)), floor)
    return date, flag
