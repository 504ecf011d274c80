"""ADAE: adverse events with analysis dates, treatment-emergence relative to the first DLI, CTCAE grade,
worst-grade flags and the infection pathogen class (from SDTM AE and ADSL)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dli_etl.adam.dates import imputed_date
from dli_etl.specs import load_spec

ADAE_COLUMNS = ("STUDYID", "USUBJID", "SITEID", "ARMCD", "ARM", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AECAT",
                "AESER", "AEREL", "ASTDT", "ASTDTF", "AENDT", "ADY", "ATOXGRN", "TRTEMFL", "TRAE1MFL", "INFFL", "INFCAT",
                "AOCCPFL", "AOCCIFL")


def infection_category(aedecod: pd.Series, aecat: pd.Series) -> pd.Series:
    """BACTERIAL, VIRAL or FUNGAL from the spec's term list; UNSPECIFIED for other infections; empty otherwise."""
    categories = load_spec("endpoints")["infection_categories"]
    is_infection = aecat.astype("string").str.upper().eq("INFECTION").fillna(False)
    mapped = aedecod.astype(object).map(categories).fillna("UNSPECIFIED")
    return mapped.where(is_infection.to_numpy(), "")


def _worst_flag(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """'Y' on the first record with the highest grade per key group (ties: earliest start, then AESEQ)."""
    candidates = frame[frame["TRTEMFL"] == "Y"].sort_values(
        keys + ["ATOXGRN", "ASTDT", "AESEQ"], ascending=[True] * len(keys) + [False, True, True], na_position="last")
    first = candidates.drop_duplicates(keys).index
    return pd.Series(np.where(frame.index.isin(first), "Y", ""), index=frame.index)


def build_adae(adsl: pd.DataFrame, sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per AE record; ``TRTEMFL`` = onset on or after the first DLI (subjects never infused have
    no treatment-emergent AEs); ``TRAE1MFL`` = related and starting within the spec's window after it."""
    ae = sdtm.get("ae", pd.DataFrame())
    if ae.empty:
        return pd.DataFrame(columns=list(ADAE_COLUMNS))
    window = load_spec("endpoints")["trae_window_days"]
    keys = adsl.set_index("USUBJID")
    out = ae[["STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AECAT", "AESER", "AEREL"]].copy()
    for column in ("SITEID", "ARMCD", "ARM"):
        out[column] = out["USUBJID"].astype(object).map(keys[column].to_dict())
    first_dli = pd.to_datetime(out["USUBJID"].astype(object).map(keys["TRTSDT"].to_dict()))
    out["ASTDT"], out["ASTDTF"] = imputed_date(ae["AESTDTC"], not_before=first_dli)
    out["AENDT"], _ = imputed_date(ae["AEENDTC"])
    out["ADY"] = (out["ASTDT"] - first_dli).dt.days.astype("Float64")
    out["ATOXGRN"] = pd.to_numeric(ae["AETOXGR"], errors="coerce").astype("Float64")
    emergent = (out["ADY"] >= 0).fillna(False)
    out["TRTEMFL"] = np.where(emergent, "Y", "N")
    related = ae["AEREL"].astype("string").str.upper().eq("RELATED").fillna(False)
    out["TRAE1MFL"] = np.where(emergent & related & (out["ADY"] <= window).fillna(False), "Y", "N")
    out["INFCAT"] = infection_category(ae["AEDECOD"], ae["AECAT"])
    out["INFFL"] = np.where(out["INFCAT"] != "", "Y", "N")
    out["AOCCPFL"] = _worst_flag(out, ["USUBJID", "AEDECOD"])
    infections = out[out["INFFL"] == "Y"]
    out["AOCCIFL"] = ""
    if not infections.empty:
        out.loc[infections.index, "AOCCIFL"] = _worst_flag(infections, ["USUBJID", "INFCAT"])
    return out[list(ADAE_COLUMNS)].reset_index(drop=True)
