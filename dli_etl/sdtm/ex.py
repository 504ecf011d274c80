"""EX (Exposure): one record per DLI with the MNC dose in EXDOSE and the CD3+ dose in SUPPEX.

CDISC UNIT has no 10^8/kg (clinical.md 6.5), so doses are expressed in 10^7/kg: 1.0x10^8 MNC/kg is
EXDOSE 10 with EXDOSU "10^7/kg". The written dose stays traceable through the lineage table.
"""

from __future__ import annotations

import pandas as pd

from dli_etl.sdtm.algorithms import conform, sequence_numbers, study_day

EX_LINEAGE_COLUMNS = ("STUDYID", "USUBJID", "EXSEQ", "src_file", "src_sha256", "src_locator", "mnc_dose_text",
                      "cd3_dose_text")


def build_ex(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """EX, SUPPEX and the EX lineage table (source file and cell of every record)."""
    dli = curated.get("dli")
    if dli is None or dli.empty:
        return conform(pd.DataFrame(), "EX"), conform(pd.DataFrame(), "SUPPEX"), pd.DataFrame(columns=EX_LINEAGE_COLUMNS)
    dli = dli[dli["usubjid"].isin(dm["USUBJID"])]
    ex = dli.merge(dm[["USUBJID", "RFSTDTC"]], left_on="usubjid", right_on="USUBJID", how="left")
    ex = ex.assign(
        STUDYID=study, DOMAIN="EX", EXTRT="DONOR LYMPHOCYTE INFUSION", EXCAT="CELL THERAPY",
        EXDOSE=(ex["mnc_dose"] / 1e7).round(3), EXDOSU="10^7/kg", EXDOSFRM="SUSPENSION", EXROUTE="INTRAVENOUS",
        EXSTDTC=ex["dlidt"], EXENDTC=ex["dlidt"], EXGRPID="DLI" + ex["dli_round"].astype("string"),
    )
    ex["EXSTDY"] = study_day(ex["EXSTDTC"], ex["RFSTDTC"]).astype("Float64")
    ex["EXENDY"] = study_day(ex["EXENDTC"], ex["RFSTDTC"]).astype("Float64")
    ex = sequence_numbers(ex, "USUBJID", ["EXSTDTC", "dli_round"], "EXSEQ")
    supp = pd.DataFrame({
        "STUDYID": study, "RDOMAIN": "EX", "USUBJID": ex["USUBJID"], "IDVAR": "EXSEQ",
        "IDVARVAL": ex["EXSEQ"].astype("string"), "QNAM": "EXCD3DOS", "QLABEL": "CD3+ Cell Dose (10^7/kg)",
        "QVAL": (ex["cd3_dose"] / 1e7).round(3).astype("string"), "QORIG": "CRF", "QEVAL": "",
    })
    lineage = ex[["STUDYID", "USUBJID", "EXSEQ", "src_file", "src_sha256", "src_locator", "mnc_dose_text",
                  "cd3_dose_text"]].reset_index(drop=True)
    return conform(ex, "EX"), conform(supp, "SUPPEX"), lineage
