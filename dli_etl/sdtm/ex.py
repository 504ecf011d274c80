"""EX (Exposure): DLI, plerixafor and pre-DLI chemotherapy as administered.

CDISC UNIT has no 10^8/kg (clinical.md 6.5), so DLI doses are expressed in 10^7/kg: 1.0x10^8 MNC/kg is
EXDOSE 10 with EXDOSU "10^7/kg"; the CD3+ dose of the same infusion goes to SUPPEX (QNAM EXCD3DOS).
The written dose stays traceable through the EX lineage table. An infusion whose dose or date was
quarantined is still an EX record, with EXDOSE or EXSTDTC null: the subject was infused.
"""

from __future__ import annotations

import pandas as pd

from dli_etl.sdtm.algorithms import conform, sequence_numbers, study_day, with_reference_start
from dli_etl.sdtm.interventions import ex_other_records

EX_LINEAGE_COLUMNS = ("STUDYID", "USUBJID", "EXSEQ", "EXTRT", "src_file", "src_sha256", "src_locator",
                      "mnc_dose_text", "cd3_dose_text")


def build_ex(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """EX, SUPPEX and the EX lineage table (source file and cell of every record)."""
    frames = []
    dli = curated.get("dli")
    if dli is not None and not dli.empty:
        d = with_reference_start(dli, dm)
        frames.append(d.assign(
            EXTRT="DONOR LYMPHOCYTE INFUSION", EXCAT="CELL THERAPY", EXDOSE=(d["mnc_dose"] / 1e7).round(3),
            EXDOSU="10^7/kg", EXDOSFRM="SUSPENSION", EXDOSFRQ="ONCE", EXROUTE="INTRAVENOUS", EXSTDTC=d["dlidt"],
            EXENDTC=d["dlidt"], EXGRPID="DLI" + d["dli_round"].astype("string"),
            CD3=(d["cd3_dose"] / 1e7).round(3)))
    other = ex_other_records(curated, dm)
    if not other.empty:
        frames.append(other)
    if not frames:
        return conform(pd.DataFrame(), "EX"), conform(pd.DataFrame(), "SUPPEX"), pd.DataFrame(columns=EX_LINEAGE_COLUMNS)
    ex = pd.concat(frames, ignore_index=True).assign(STUDYID=study, DOMAIN="EX")
    ex["EXSTDY"] = study_day(ex["EXSTDTC"], ex["RFSTDTC"]).astype("Float64")
    ex["EXENDY"] = study_day(ex["EXENDTC"], ex["RFSTDTC"]).astype("Float64")
    ex = sequence_numbers(ex, "USUBJID", ["EXSTDTC", "EXTRT"], "EXSEQ")
    has_cd3 = ex[ex["CD3"].notna()] if "CD3" in ex.columns else ex.iloc[0:0]
    supp = pd.DataFrame({
        "STUDYID": study, "RDOMAIN": "EX", "USUBJID": has_cd3["USUBJID"], "IDVAR": "EXSEQ",
        "IDVARVAL": has_cd3["EXSEQ"].astype("string"), "QNAM": "EXCD3DOS", "QLABEL": "CD3+ Cell Dose (10^7/kg)",
        "QVAL": has_cd3["CD3"].astype("string"), "QORIG": "CRF", "QEVAL": "",
    })
    for column in ("mnc_dose_text", "cd3_dose_text"):
        if column not in ex.columns:
            ex[column] = pd.NA
    lineage = ex[list(EX_LINEAGE_COLUMNS)].reset_index(drop=True)
    return conform(ex, "EX"), conform(supp, "SUPPEX"), lineage
