"""ADLB: laboratory values with CTCAE v5.0 grades, baseline and change, and the marrow-suppression flags
(neutropenia, anaemia, thrombocytopenia, and pancytopenia when all three occur on one sample date)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dli_etl.adam.dates import analysis_date
from dli_etl.specs import load_spec

ADLB_COLUMNS = ("STUDYID", "USUBJID", "SITEID", "ARMCD", "LBSEQ", "PARAMCD", "PARAM", "PARCAT1", "AVAL", "AVALC",
                "AVALU", "ADT", "ADY", "ATOXGRN", "ABLFL", "BASE", "CHG", "BTOXGRN", "ONTRTFL", "MSUPFL", "MSUPCAT",
                "PANCYTFL")


def build_adlb(adsl: pd.DataFrame, sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Baseline = last value on or before the reference date (first DLI, or the time origin for subjects
    never infused); on-treatment = after the first DLI."""
    lb = sdtm.get("lb", pd.DataFrame())
    if lb.empty:
        return pd.DataFrame(columns=list(ADLB_COLUMNS))
    spec = load_spec("endpoints")["marrow_suppression"]
    keys = adsl.set_index("USUBJID")
    out = pd.DataFrame({"STUDYID": lb["STUDYID"], "USUBJID": lb["USUBJID"], "LBSEQ": lb["LBSEQ"],
                        "PARAMCD": lb["LBTESTCD"], "PARAM": lb["LBTEST"], "PARCAT1": lb["LBCAT"],
                        "AVAL": pd.to_numeric(lb["LBSTRESN"], errors="coerce").astype("Float64"),
                        "AVALC": lb["LBSTRESC"], "AVALU": lb["LBSTRESU"], "ADT": analysis_date(lb["LBDTC"]),
                        "ATOXGRN": pd.to_numeric(lb["LBTOXGR"], errors="coerce").astype("Float64")})
    for column in ("SITEID", "ARMCD"):
        out[column] = out["USUBJID"].astype(object).map(keys[column].to_dict())
    first_dli = pd.to_datetime(out["USUBJID"].astype(object).map(keys["TRTSDT"].to_dict()))
    origin = pd.to_datetime(out["USUBJID"].astype(object).map(keys["ORIGDT"].to_dict()))
    reference = first_dli.fillna(origin)
    out["ADY"] = (out["ADT"] - reference).dt.days.astype("Float64")
    candidates = out[out["AVAL"].notna() & (out["ADY"] <= 0).fillna(False)].sort_values(["USUBJID", "PARAMCD", "ADT", "LBSEQ"])
    baseline = candidates.drop_duplicates(["USUBJID", "PARAMCD"], keep="last")
    out["ABLFL"] = np.where(out.index.isin(baseline.index), "Y", "")
    base = baseline.set_index(["USUBJID", "PARAMCD"])
    pair = pd.MultiIndex.from_frame(out[["USUBJID", "PARAMCD"]].astype(object))
    out["BASE"] = base["AVAL"].reindex(pair).to_numpy()
    out["BTOXGRN"] = base["ATOXGRN"].reindex(pair).to_numpy()
    out["BASE"] = out["BASE"].astype("Float64")
    out["BTOXGRN"] = out["BTOXGRN"].astype("Float64")
    out["CHG"] = out["AVAL"] - out["BASE"]
    on_treatment = first_dli.notna() & (out["ADT"] > first_dli).fillna(False)
    out["ONTRTFL"] = np.where(on_treatment, "Y", "")
    suppressed = on_treatment & out["PARAMCD"].isin(list(spec["tests"])) & (out["ATOXGRN"] >= spec["min_grade"]).fillna(False)
    out["MSUPFL"] = np.where(suppressed, "Y", "")
    out["MSUPCAT"] = np.where(suppressed, out["PARAMCD"].astype(object).map(spec["tests"]).str.upper(), "")
    lines = out[suppressed].groupby(["USUBJID", "ADT"])["PARAMCD"].nunique()
    all_three = lines[lines == len(spec["tests"])].index
    # (USUBJID, ADT) pairs matched as an index, not as Python tuples built row by row
    on_all_three = pd.MultiIndex.from_arrays([out["USUBJID"], out["ADT"]]).isin(all_three)
    out["PANCYTFL"] = np.where(suppressed & on_all_three, "Y", "")
    return out[list(ADLB_COLUMNS)].reset_index(drop=True)


def marrow_suppression_by_subject(adsl: pd.DataFrame, adlb: pd.DataFrame) -> pd.DataFrame:
    """ADSL subjects with Y/N flags: NEUTRFL, ANEMFL, THROMBFL (any post-DLI count at the spec's grade) and
    PANCYTFL (all three on one date)."""
    tests = load_spec("endpoints")["marrow_suppression"]["tests"]
    flags = {"NEUT": "NEUTRFL", "HGB": "ANEMFL", "PLAT": "THROMBFL"}
    out = adsl[["USUBJID"]].copy()
    hit = adlb[adlb["MSUPFL"] == "Y"] if not adlb.empty else adlb
    for test in tests:
        subjects = set(hit.loc[hit["PARAMCD"] == test, "USUBJID"]) if not hit.empty else set()
        out[flags[test]] = np.where(out["USUBJID"].isin(subjects), "Y", "N")
    pancyto = set(hit.loc[hit["PANCYTFL"] == "Y", "USUBJID"]) if not hit.empty else set()
    out["PANCYTFL"] = np.where(out["USUBJID"].isin(pancyto), "Y", "N")
    return out
