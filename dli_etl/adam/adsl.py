"""ADSL: one row per subject of both studies, derived only from SDTM (DM, DS, PR/SUPPPR, EX, MH).

Dates are complete-date ``datetime64`` columns; a partial SDTM date stays missing, except the death
date: a death known to the month is imputed to the first of that month (never before the last date known
alive) and flagged in ``DTHDTF``, because dropping it would turn a death into a censoring.
"""

from __future__ import annotations

import pandas as pd

from dli_etl.adam.dates import analysis_date, imputed_date

ADSL_COLUMNS = ("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "ARMCD", "ARM", "ACTARMCD", "TRT01P",
                "TRT01A", "DIAGNOSIS", "DONORTYP", "HSCTDT", "ENRLDT", "RANDDT", "TRTSDT", "TRTEDT", "ORIGDT",
                "LSTALVDT", "DTHDT", "DTHDTF", "DTHFL", "ITTFL", "SAFFL")
# time origin of the protocol endpoints: randomization (Study A) or enrollment (Study B)
ORIGIN = {"DLIPRO": "RANDDT", "DLIPLX": "ENRLDT"}


def _per_subject(frame: pd.DataFrame, mask: pd.Series, column: str, how: str = "min") -> pd.Series:
    if frame.empty:
        return pd.Series(dtype="datetime64[ns]")
    part = frame[mask]
    return analysis_date(part[column]).groupby(part["USUBJID"]).agg(how)


def _by_subject(out: pd.DataFrame, dates: pd.Series) -> pd.Series:
    """Per-subject dates aligned to ADSL rows (object keys: a string-dtype map would try to cast dates)."""
    if dates.empty:  # e.g. no randomization in a single-arm study
        return pd.Series(pd.NaT, index=out.index, dtype="datetime64[us]")
    return pd.to_datetime(out["USUBJID"].astype(object).map(dates.to_dict()))


def build_adsl(study: str, sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Subject-level analysis dataset for one study."""
    dm = sdtm["dm"]
    if dm.empty:
        return pd.DataFrame(columns=list(ADSL_COLUMNS))
    out = dm[["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "ARMCD", "ARM", "ACTARMCD"]].copy()
    out["TRT01P"] = dm["ARM"]
    out["TRT01A"] = dm["ACTARM"]
    ds, ex, pr, mh = (sdtm.get(k, pd.DataFrame()) for k in ("ds", "ex", "pr", "mh"))
    supppr = sdtm.get("supppr", pd.DataFrame())
    out["ENRLDT"] = _by_subject(out, _per_subject(ds, ds.get("DSDECOD", pd.Series(dtype=str)) == "INFORMED CONSENT OBTAINED", "DSSTDTC"))
    out["RANDDT"] = _by_subject(out, _per_subject(ds, ds.get("DSDECOD", pd.Series(dtype=str)) == "RANDOMIZED", "DSSTDTC"))
    out["HSCTDT"] = _by_subject(out, _per_subject(pr, pd.Series(True, index=pr.index), "PRSTDTC"))
    dli = ex.get("EXTRT", pd.Series(dtype=str)) == "DONOR LYMPHOCYTE INFUSION"
    out["TRTSDT"] = _by_subject(out, _per_subject(ex, dli, "EXSTDTC", "min"))
    out["TRTEDT"] = _by_subject(out, _per_subject(ex, dli, "EXENDTC", "max"))
    died = (dm["DTHFL"] == "Y").fillna(False).to_numpy()
    out["LSTALVDT"] = analysis_date(dm["RFPENDTC"])
    death, flag = imputed_date(dm["DTHDTC"], not_before=out["LSTALVDT"])
    out["DTHDT"] = death.where(died)
    out["DTHDTF"] = flag.where(died)
    out["DTHFL"] = dm["DTHFL"].fillna("N")
    out["ORIGDT"] = out[ORIGIN[study]]
    if not mh.empty:
        diagnosis = mh[mh["MHCAT"] == "PRIMARY DIAGNOSIS"].drop_duplicates("USUBJID").set_index("USUBJID")["MHDECOD"]
        out["DIAGNOSIS"] = out["USUBJID"].astype(object).map(diagnosis).astype("string")
    else:
        out["DIAGNOSIS"] = pd.NA
    if not supppr.empty:
        donor = supppr[supppr["QNAM"] == "DONORTYP"].drop_duplicates("USUBJID").set_index("USUBJID")["QVAL"]
        out["DONORTYP"] = out["USUBJID"].astype(object).map(donor).astype("string")
    else:
        out["DONORTYP"] = pd.NA
    out["ITTFL"] = out["ORIGDT"].notna().map({True: "Y", False: "N"})
    out["SAFFL"] = out["TRTSDT"].notna().map({True: "Y", False: "N"})
    return out[list(ADSL_COLUMNS)].reset_index(drop=True)
