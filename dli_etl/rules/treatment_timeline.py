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


def emit_row_findings(out: list[Finding], frame: pd.DataFrame, mask: pd.Series, rule: str, form: str, field: str,
                      expected: pd.Series | str, locate: Locate, detail: pd.Series | None = None) -> None:
    """Append one finding of ``rule`` on ``form.field`` for each row of ``frame`` where ``mask`` holds."""
    for idx in frame.index[mask.fillna(False).to_numpy(dtype=bool)]:
        row = frame.loc[idx]
        exp = str(expected.loc[idx]) if isinstance(expected, pd.Series) else expected
        out.append(Finding(rule, str(row["study"]), str(row["site"]), str(row["subjid"]), form, field, str(row[field]),
                           exp, "" if detail is None else str(detail.loc[idx]), str(row["src_file"]),
                           str(row["src_sha256"]), locate(row, field), str(row["row_id"])))


def end_before_start_findings(frame: pd.DataFrame, form: str, start: str, end: str, locate: Locate) -> list[Finding]:
    """An end date before its start date (both complete)."""
    if frame.empty:
        return []
    gap = transplant_day(frame[end], frame[start])
    out: list[Finding] = []
    emit_row_findings(out, frame, gap < 0, "ORDER-END-BEFORE-START", form, end, frame[start], locate)
    return out


def after_death_findings(frame: pd.DataFrame, form: str, date_field: str, deaths: pd.DataFrame,
                         locate: Locate) -> list[Finding]:
    """Records dated after the subject's death (``deaths``: usubjid, death_date)."""
    if frame.empty or deaths.empty:
        return []
    merged = frame.merge(deaths, on="usubjid", how="left")
    merged.index = frame.index
    gap = transplant_day(merged[date_field], merged["death_date"])
    out: list[Finding] = []
    emit_row_findings(out, merged, gap > 0, "ORDER-AFTER-DEATH", form, date_field, merged["death_date"], locate)
    return out


def chemo_timing_findings(chemo: pd.DataFrame, dli: pd.DataFrame, allowed_days: list[int], locate: Locate) -> list[Finding]:
    """Chemotherapy end to DLI, per subject and round order: outside ``allowed_days`` is a deviation."""
    if chemo.empty or dli.empty:
        return []
    c = chemo.assign(_round=chemo.groupby("usubjid").cumcount() + 1)
    d = dli[["usubjid", "dli_round", "dlidt"]].rename(columns={"dli_round": "_round"})
    d["_round"] = d["_round"].astype("Int64")
    c["_round"] = c["_round"].astype("Int64")
    merged = c.merge(d, on=["usubjid", "_round"], how="left")
    merged.index = c.index
    gap = transplant_day(merged["dlidt"], merged["chemo_end"])
    out: list[Finding] = []
    low, high = allowed_days
    emit_row_findings(out, merged, (gap < low) | (gap > high), "PD-CHEMO-TIMING", "chemo", "chemo_end",
               str(low) if low == high else f"{low}-{high}", locate, gap.astype("Int64"))
    return out


def plerixafor_timing_findings(plx: pd.DataFrame, dli: pd.DataFrame, window: list[int], locate: Locate) -> list[Finding]:
    """Plerixafor days relative to the DLI of the same round (REDCap event)."""
    if plx.empty or dli.empty:
        return []
    d = dli[["usubjid", "event_oid", "dlidt"]].drop_duplicates(["usubjid", "event_oid"])
    merged = plx.merge(d, on=["usubjid", "event_oid"], how="left")
    merged.index = plx.index
    day = transplant_day(merged["plx_date"], merged["dlidt"])
    out: list[Finding] = []
    low, high = window
    signed = day.map(lambda d: "" if pd.isna(d) else f"{int(d):+d}")
    emit_row_findings(out, merged, (day < low) | (day > high), "PD-PLERIXAFOR-TIMING", "plerixafor", "plx_date",
               f"+{low}..+{high}", locate, signed)
    return out
