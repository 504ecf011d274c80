"""ADRS: every overall-response assessment, the response at 3 months, the best response and the
overall response at 3 months (responder Y/N), derived from SDTM RS and ADSL."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dli_etl.adam.dates import analysis_date
from dli_etl.specs import load_spec

ADRS_COLUMNS = ("STUDYID", "USUBJID", "SITEID", "ARMCD", "PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", "ADY", "ANL01FL")
PARAMS = {"OVRLRESP": "Overall Response", "RESP3M": "Response at 3 Months", "BESTRSP": "Best Overall Response",
          "ORR3M": "Overall Response (Responder) at 3 Months"}


def _response_code(value: pd.Series) -> pd.Series:
    return value.astype("string").str.upper().replace({"CRI": "CRi", "CRH": "CRh"})


def build_adrs(adsl: pd.DataFrame, sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A subject with no assessment in the 3-month window gets RESP3M = ``NE`` and counts as a
    non-responder in ORR3M (intention to treat). An assessment with a blank response is kept as an
    OVRLRESP record with AVALC ``NE`` and no ANL01FL, so it never chooses RESP3M or BESTRSP."""
    spec = load_spec("endpoints")
    order = spec["response_order"]
    low, high = spec["response_3m"]["window"]
    target = spec["response_3m"]["target_day"]
    rs = sdtm.get("rs", pd.DataFrame())
    keys = adsl[adsl["ITTFL"] == "Y"].set_index("USUBJID")
    if rs.empty:
        rs = pd.DataFrame(columns=["USUBJID", "RSORRES", "RSDTC"])
    rs = rs[rs["USUBJID"].isin(keys.index)]
    records = pd.DataFrame({"USUBJID": rs["USUBJID"].astype(object), "AVALC": _response_code(rs["RSORRES"]),
                            "ADT": analysis_date(rs["RSDTC"])})
    origin = pd.to_datetime(records["USUBJID"].map(keys["ORIGDT"].to_dict()))
    records["ADY"] = (records["ADT"] - origin).dt.days.astype("Float64")
    records["PARAMCD"] = "OVRLRESP"
    # an assessment whose response the site left blank (a REQ-MISSING query) stays as NE for the trace but
    # is not analysed: a data gap must not stand in for a real assessment nearer the 3-month target
    recorded = records["AVALC"].notna()
    records["AVALC"] = records["AVALC"].fillna("NE")
    records["ANL01FL"] = np.where(recorded & records["ADY"].notna() & (records["ADY"] >= 0).fillna(False), "Y", "")
    usable = records[records["ANL01FL"] == "Y"]
    window = usable[usable["ADY"].between(low, high)].assign(distance=lambda f: (f["ADY"] - target).abs())
    nearest = window.sort_values(["USUBJID", "distance", "ADT"]).drop_duplicates("USUBJID").set_index("USUBJID")
    rank = {code: i for i, code in enumerate(order)}
    best = (usable.assign(rank=usable["AVALC"].map(rank)).dropna(subset=["rank"]).sort_values(["USUBJID", "rank", "ADT"])
            .drop_duplicates("USUBJID").set_index("USUBJID"))
    subjects = pd.DataFrame({"USUBJID": keys.index.to_numpy()})
    resp3m = subjects.assign(PARAMCD="RESP3M", AVALC=subjects["USUBJID"].map(nearest["AVALC"].to_dict()).fillna("NE"),
                             ADT=subjects["USUBJID"].map(nearest["ADT"].to_dict()),
                             ADY=subjects["USUBJID"].map(nearest["ADY"].to_dict()), ANL01FL="Y")
    bestrsp = subjects.assign(PARAMCD="BESTRSP", AVALC=subjects["USUBJID"].map(best["AVALC"].to_dict()).fillna("NE"),
                              ADT=subjects["USUBJID"].map(best["ADT"].to_dict()),
                              ADY=subjects["USUBJID"].map(best["ADY"].to_dict()), ANL01FL="Y")
    orr = resp3m.assign(PARAMCD="ORR3M", AVALC=np.where(resp3m["AVALC"].isin(spec["responders"]), "Y", "N"))
    out = pd.concat([records, resp3m, bestrsp, orr], ignore_index=True)
    out["ADT"] = pd.to_datetime(out["ADT"])
    out["ADY"] = pd.to_numeric(out["ADY"], errors="coerce").astype("Float64")
    out["AVAL"] = out["AVALC"].map({code: float(i + 1) for i, code in enumerate(order)}).astype("Float64")
    out.loc[out["PARAMCD"] == "ORR3M", "AVAL"] = (out["AVALC"] == "Y").astype(float)
    out["PARAM"] = out["PARAMCD"].map(PARAMS)
    for column in ("STUDYID", "SITEID", "ARMCD"):
        out[column] = out["USUBJID"].map(keys[column].to_dict())
    return out[list(ADRS_COLUMNS)].sort_values(["USUBJID", "PARAMCD", "ADT"], kind="stable").reset_index(drop=True)
