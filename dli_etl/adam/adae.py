"""ADAE: adverse events with analysis dates, treatment-emergence relative to the first DLI, CTCAE grade,
worst-grade flags and the infection pathogen class (from SDTM AE and ADSL)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dli_etl.adam.dates import imputed_date
from dli_etl.specs import load_spec

ADAE_COLUMNS = ("STUDYID", "USUBJID", "SITEID", "ARMCD", "ARM", "SAFFL", "ITTFL", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AECAT",
                "AESER", "AEREL", "ASTDT", "ASTDTF", "AENDT", "ADY", "ATOXGRN", "TRTEMFL", "TRAE1MFL", "INFFL", "INFCAT",
                "AOCCPFL", "AOCCIFL")


def infection_category(aedecod: pd.Series, aecat: pd.Series, collected: pd.Series | None = None) -> pd.Series:
    """BACTERIAL, VIRAL or FUNGAL for infection AEs: the category the site collected (SUPPAE INFCAT) when
    there is one, else the spec's CTCAE term list (a term such as "Lung infection" says nothing about the
    pathogen), else UNSPECIFIED; empty for AEs that are not infections."""
    categories = load_spec("endpoints")["infection_categories"]
    is_infection = aecat.astype("string").str.upper().eq("INFECTION").fillna(False)
    mapped = aedecod.astype(object).map(categories)
    if collected is not None:
        mapped = collected.astype(object).where(collected.notna() & (collected.astype("string") != ""), mapped)
    return mapped.fillna("UNSPECIFIED").where(is_infection.to_numpy(), "")


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
    # population flags travel with each record, so an analyst filters ADAE without a join to ADSL
    for column in ("SITEID", "ARMCD", "ARM", "SAFFL", "ITTFL"):
        out[column] = out["USUBJID"].astype(object).map(keys[column].to_dict()) if column in keys.columns else pd.NA
    first_dli = pd.to_datetime(out["USUBJID"].astype(object).map(keys["TRTSDT"].to_dict()))
    out["ASTDT"], out["ASTDTF"] = imputed_date(ae["AESTDTC"], not_before=first_dli)
    out["AENDT"], _ = imputed_date(ae["AEENDTC"])
    out["ADY"] = (out["ASTDT"] - first_dli).dt.days.astype("Float64")
    out["ATOXGRN"] = pd.to_numeric(ae["AETOXGR"], errors="coerce").astype("Float64")
    emergent = (out["ADY"] >= 0).fillna(False)
    out["TRTEMFL"] = np.where(emergent, "Y", "N")
    related = ae["AEREL"].astype("string").str.upper().eq("RELATED").fillna(False)
    out["TRAE1MFL"] = np.where(emergent & related & (out["ADY"] <= window).fillna(False), "Y", "N")
    supp = sdtm.get("suppae", pd.DataFrame())
    collected = None
    if not supp.empty:
        infcat = supp[supp["QNAM"] == "INFCAT"].drop_duplicates(["USUBJID", "IDVARVAL"])
        keys = zip(infcat["USUBJID"], infcat["IDVARVAL"].astype(str), strict=True)
        by_record = dict(zip(keys, infcat["QVAL"], strict=True))
        collected = pd.Series([by_record.get((u, str(int(s))) if pd.notna(s) else None)
                               for u, s in zip(ae["USUBJID"], ae["AESEQ"], strict=True)], index=ae.index, dtype="string")
    out["INFCAT"] = infection_category(ae["AEDECOD"], ae["AECAT"], collected)
    out["INFFL"] = np.where(out["INFCAT"] != "", "Y", "N")
    out["AOCCPFL"] = _worst_flag(out, ["USUBJID", "AEDECOD"])
    infections = out[out["INFFL"] == "Y"]
    out["AOCCIFL"] = ""
    if not infections.empty:
        out.loc[infections.index, "AOCCIFL"] = _worst_flag(infections, ["USUBJID", "INFCAT"])
    return out[list(ADAE_COLUMNS)].reset_index(drop=True)
