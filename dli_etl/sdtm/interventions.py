"""The non-DLI EX records (plerixafor, pre-DLI chemotherapy); PR and CM are mapped by the spec."""

from __future__ import annotations

import pandas as pd

from dli_etl.sdtm.algorithms import with_reference_start


def ex_other_records(curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    """Plerixafor (dose in ug/kg as converted, frequency from the doses given that day) and chemotherapy as
    EX rows, before sequencing."""
    frames = []
    plx = curated.get("plerixafor")
    if plx is not None and not plx.empty:
        p = with_reference_start(plx, dm)
        # the dose was converted to ug/kg when harmonized; the frequency is what was given that day
        frequency = p["plx_doses_given"].map({1: "QD", 2: "BID"}).astype("string")
        frames.append(p.assign(EXTRT="PLERIXAFOR", EXCAT="MOBILIZING AGENT", EXDOSE=p["plx_dose"].astype("Float64"),
                               EXDOSU="ug/kg", EXDOSFRM="INJECTION", EXDOSFRQ=frequency, EXROUTE="SUBCUTANEOUS",
                               EXSTDTC=p["plx_date"], EXENDTC=p["plx_date"], EXGRPID=pd.NA))
    chemo = curated.get("chemo")
    if chemo is not None and not chemo.empty:
        c = with_reference_start(chemo, dm)
        frames.append(c.assign(EXTRT=c["regimen"], EXCAT="PRE-DLI CHEMOTHERAPY", EXDOSE=pd.NA, EXDOSU=pd.NA,
                               EXDOSFRM=pd.NA, EXDOSFRQ=pd.NA, EXROUTE=pd.NA, EXSTDTC=c["chemo_start"],
                               EXENDTC=c["chemo_end"], EXGRPID=pd.NA))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
