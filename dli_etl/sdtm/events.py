"""AE: CTCAE-graded, infections categorised (MH and DS are mapped by the spec in specs/sdtm_mapping.csv)."""

from __future__ import annotations

import pandas as pd

from dli_etl.reference.ctcae_terms import ctcae_terms
from dli_etl.rules.ae_seriousness import SERIOUSNESS_CRITERIA
from dli_etl.sdtm.algorithms import conform, finish_domain, study_day, supp_records, with_reference_start


def build_ae(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """AE with AETOXGR (CTCAE v5.0) and AEBODSYS from the CTCAE term list; infection category and
    pathogen in SUPPAE. AEDECOD holds the CTCAE term (MedDRA coding of verbatims needs a licensed release)."""
    ae = curated.get("adverse_event")
    if ae is None or ae.empty:
        return conform(pd.DataFrame(), "AE"), conform(pd.DataFrame(), "SUPPAE")
    ae = with_reference_start(ae, dm)
    terms = ctcae_terms()
    soc = ae["aeterm"].map(lambda t: terms.get(str(t).casefold(), {}).get("soc"))
    out = ae.assign(
        AETERM=ae["aeterm"], AEDECOD=ae["aeterm"], AEBODSYS=soc,
        AECAT=ae["infection_category"].map(lambda c: "INFECTION" if pd.notna(c) else pd.NA),
        AESER=ae["aeser"], AEREL=ae["aerel"], AEOUT=ae["aeout"], AETOXGR=ae["aetoxgr"].astype("string"),
        AESDTH=(ae["aetoxgr"] == 5).map({True: "Y", False: "N"}),
        **{criterion.upper(): ae.get(criterion, pd.NA) for criterion in SERIOUSNESS_CRITERIA},
        AESTDTC=ae["aestdt"], AEENDTC=ae["aeendt"],
        AESTDY=study_day(ae["aestdt"], ae["RFSTDTC"]).astype("Float64"),
        AEENDY=study_day(ae["aeendt"], ae["RFSTDTC"]).astype("Float64"),
        INFCAT=ae["infection_category"], PATHOGEN=ae["pathogen"],
    )
    domain = finish_domain(out, study, "AE", ["AESTDTC", "AETERM"])
    keyed = out.sort_values(["USUBJID", "AESTDTC", "AETERM"], kind="mergesort")
    keyed["AESEQ"] = keyed.groupby("USUBJID").cumcount() + 1
    supp = supp_records(keyed, study, "AE", {"INFCAT": ("INFCAT", "Infection Category"),
                                            "PATHOGEN": ("PATHOGEN", "Pathogen")})
    return domain, supp

