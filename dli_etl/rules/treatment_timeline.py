"""Order and window rules for DLI: after transplant, after consent, and (Study A prophylactic arm)
on transplant day +45..+60. Transplant days count from day 0 = HSCT, unlike SDTM --DY."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]


def transplant_day(event_date: pd.Series, hsct_date: pd.Series) -> pd.Series:
    """Days since HSCT with day 0 = infusion day; null where either date is not complete."""
    return (pd.to_datetime(event_date, errors="coerce", format="%Y-%m-%d")
            - pd.to_datetime(hsct_date, errors="coerce", format="%Y-%m-%d")).dt.days.astype("Int64")


def _first(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=["usubjid", *columns])
    return frame.drop_duplicates("usubjid", keep="first")[["usubjid", *columns]]


def dli_timeline_findings(dli: pd.DataFrame, transplant: pd.DataFrame, enrollment: pd.DataFrame,
                          randomization: pd.DataFrame, window: list[int] | None, locate: Locate) -> list[Finding]:
    """DLI before HSCT or consent (errors); prophylactic DLI outside the window (protocol deviation)."""
    if dli.empty:
        return []
    merged = dli.merge(_first(transplant, ["hsctdt"]), on="usubjid", how="left")
    merged = merged.merge(_first(enrollment, ["rficdtc"]), on="usubjid", how="left")
    merged = merged.merge(_first(randomization, ["armcd"]), on="usubjid", how="left")
    merged.index = dli.index
    day = transplant_day(merged["dlidt"], merged["hsctdt"])
    consent_gap = transplant_day(merged["dlidt"], merged["rficdtc"])
    out: list[Finding] = []

    def emit(rule: str, mask: pd.Series, expected_col: str | None, expected: str = "", detail: pd.Series | None = None):
        for idx in merged.index[mask.fillna(False).to_numpy(dtype=bool)]:
            row = merged.loc[idx]
            out.append(Finding(rule, str(row["study"]), str(row["site"]), str(row["subjid"]), "dli", "dlidt",
                               str(row["dlidt"]), str(row[expected_col]) if expected_col else expected,
                               "" if detail is None else str(detail.loc[idx]), str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, "dlidt"), str(row["row_id"])))

    emit("ORDER-DLI-BEFORE-HSCT", day <= 0, "hsctdt")
    emit("ORDER-DLI-BEFORE-CONSENT", (consent_gap < 0) & (day > 0), "rficdtc")
    if window is not None:
        low, high = window
        proph = (merged["armcd"] == "PROPH") & (merged["dli_round"] == 1)
        emit("PD-PROPH-DLI-WINDOW", proph & (day > 0) & ((day < low) | (day > high)), None,
             f"day +{low}..+{high}", day)
    return out
