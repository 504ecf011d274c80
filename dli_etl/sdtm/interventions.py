"""Interventions and procedures: PR (the allo-HSCT, donor type in SUPPPR), CM (post-DLI CsA/MTX),
and the non-DLI EX records (plerixafor, pre-DLI chemotherapy)."""

from __future__ import annotations

import pandas as pd

from dli_etl.sdtm.algorithms import conform, finish_domain, study_day, supp_records, with_reference_start

CM_NAMES = {"CSA": "CYCLOSPORINE", "MTX": "METHOTREXATE"}


def build_pr(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    hsct = curated.get("transplant")
    if hsct is None or hsct.empty:
        return conform(pd.DataFrame(), "PR"), conform(pd.DataFrame(), "SUPPPR")
    hsct = with_reference_start(hsct.drop_duplicates("usubjid"), dm)
    out = hsct.assign(PRTRT="ALLOGENEIC HEMATOPOIETIC STEM CELL TRANSPLANTATION", PRCAT="TRANSPLANT",
                      PRSTDTC=hsct["hsctdt"], PRSTDY=study_day(hsct["hsctdt"], hsct["RFSTDTC"]).astype("Float64"),
                      PRSEQ=1)
    supp = supp_records(out, study, "PR", {"donor_type": ("DONORTYP", "Donor Type"),
                                           "graft_source": ("GRAFTSRC", "Graft Source"),
                                           "conditioning": ("CONDREG", "Conditioning Regimen")})
    return finish_domain(out, study, "PR", ["PRSTDTC"]), supp


def build_cm(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    ist = curated.get("immunosuppression")
    if ist is None or ist.empty:
        return conform(pd.DataFrame(), "CM")
    ist = with_reference_start(ist, dm)
    out = ist.assign(CMTRT=ist["ist_drug"].map(CM_NAMES), CMCAT="GVHD PROPHYLAXIS AFTER DLI",
                     CMINDC="GRAFT VERSUS HOST DISEASE PROPHYLAXIS", CMSTDTC=ist["ist_start"], CMENDTC=ist["ist_end"],
                     CMSTDY=study_day(ist["ist_start"], ist["RFSTDTC"]).astype("Float64"),
                     CMENDY=study_day(ist["ist_end"], ist["RFSTDTC"]).astype("Float64"))
    return finish_domain(out, study, "CM", ["CMSTDTC", "CMTRT"])


def ex_other_records(curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    """Plerixafor (240 ug/kg SC twice daily) and chemotherapy as EX rows, before sequencing."""
    frames = []
    plx = curated.get("plerixafor")
    if plx is not None and not plx.empty:
        p = with_reference_start(plx, dm)
        dose = pd.to_numeric(p["plx_dose"].str.extract(r"(\d+(?:\.\d+)?)")[0], errors="coerce")
        frames.append(p.assign(EXTRT="PLERIXAFOR", EXCAT="MOBILIZING AGENT", EXDOSE=dose, EXDOSU="ug/kg",
                               EXDOSFRM="INJECTION", EXDOSFRQ="BID", EXROUTE="SUBCUTANEOUS",
                               EXSTDTC=p["plx_date"], EXENDTC=p["plx_date"], EXGRPID=pd.NA))
    chemo = curated.get("chemo")
    if chemo is not None and not chemo.empty:
        c = with_reference_start(chemo, dm)
        frames.append(c.assign(EXTRT=c["regimen"], EXCAT="PRE-DLI CHEMOTHERAPY", EXDOSE=pd.NA, EXDOSU=pd.NA,
                               EXDOSFRM=pd.NA, EXDOSFRQ=pd.NA, EXROUTE=pd.NA, EXSTDTC=c["chemo_start"],
                               EXENDTC=c["chemo_end"], EXGRPID=pd.NA))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
