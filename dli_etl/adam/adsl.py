"""ADSL: one row per subject of both studies, derived only from SDTM (DM, DS, PR/SUPPPR, EX, MH, and
every dated record for the last date known alive).

Dates are complete-date ``datetime64`` columns; a partial SDTM date stays missing, except the death
date, because dropping it would turn a death into a censoring: a death known to the month (year) is
imputed to the first day of that month (year), moved forward to the last date known alive when that is
later in the same period, and flagged ``D`` (``M``) in ``DTHDTF``; a death with no usable date at all is
placed on the last date known alive and flagged ``Y``.

Populations follow pre-specified rules only, never data-cleaning status (``specs/studies.yaml``):
ITT is every randomized (Study A) or enrolled (Study B) subject; safety is every subject with any
recorded study treatment in EX, whatever the validity of its dose or date.
"""

from __future__ import annotations

import pandas as pd

from dli_etl.adam.dates import analysis_date, imputed_date
from dli_etl.specs import load_spec

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


# dated SDTM records that show a subject alive on that date (death records and end dates excluded)
_ALIVE_DATES = {"ex": ("EXSTDTC",), "lb": ("LBDTC",), "ae": ("AESTDTC",), "rs": ("RSDTC",), "fa": ("FADTC",),
                "cm": ("CMSTDTC",), "pr": ("PRSTDTC",), "ds": ("DSSTDTC",), "sv": ("SVSTDTC", "SVENDTC"),
                "mh": ("MHSTDTC",)}


def last_known_alive(dm: pd.DataFrame, sdtm: dict[str, pd.DataFrame]) -> pd.Series:
    """Per DM row: the latest complete date of any SDTM record that shows the subject alive, and of the
    last contact (RFPENDTC of a subject not known to have died); death records are not counted."""
    frames = [pd.DataFrame({"USUBJID": dm["USUBJID"], "ADT": analysis_date(dm[c])})
              for c in ("RFICDTC", "RFSTDTC", "RFXENDTC") if c in dm.columns]
    # RFPENDTC is the death date of a subject who died, but the last contact when that date is unusable
    alive_end = (dm["DTHFL"].ne("Y") | dm["DTHDTC"].isna() | dm["RFPENDTC"].ne(dm["DTHDTC"])).fillna(True).astype(bool)
    frames.append(pd.DataFrame({"USUBJID": dm.loc[alive_end, "USUBJID"],
                                "ADT": analysis_date(dm.loc[alive_end, "RFPENDTC"])}))
    for name, columns in _ALIVE_DATES.items():
        frame = sdtm.get(name, pd.DataFrame())
        if frame.empty:
            continue
        if name == "ds":
            frame = frame[frame["DSDECOD"] != "DEATH"]
        for column in columns:
            if column in frame.columns:
                frames.append(pd.DataFrame({"USUBJID": frame["USUBJID"], "ADT": analysis_date(frame[column])}))
    dates = pd.concat(frames, ignore_index=True).dropna(subset=["ADT"])
    latest = dates.groupby(dates["USUBJID"].astype(object))["ADT"].max()
    return pd.to_datetime(dm["USUBJID"].astype(object).map(latest.to_dict()))


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
    out["LSTALVDT"] = last_known_alive(dm, sdtm).to_numpy()
    death, flag = imputed_date(dm["DTHDTC"], not_before=out["LSTALVDT"])
    unknown = pd.Series(died, index=out.index) & death.isna()
    out["DTHDT"] = death.where(died).mask(unknown, out["LSTALVDT"])
    out["DTHDTF"] = flag.where(died).mask(unknown & out["LSTALVDT"].notna(), "Y")
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
    population = load_spec("studies")[study].get("itt_population", "enrolled")
    if population == "randomized":
        randomized = set(ds.loc[ds["DSDECOD"] == "RANDOMIZED", "USUBJID"]) if not ds.empty else set()
        itt = out["USUBJID"].isin(randomized) | out["ARMCD"].notna()
    else:
        itt = pd.Series(True, index=out.index)
    out["ITTFL"] = itt.map({True: "Y", False: "N"}).astype("string")
    treated = set(ex["USUBJID"]) if not ex.empty else set()
    out["SAFFL"] = out["USUBJID"].isin(treated).map({True: "Y", False: "N"}).astype("string")
    return out[list(ADSL_COLUMNS)].reset_index(drop=True)
