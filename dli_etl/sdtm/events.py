"""Events-class domains: AE (CTCAE-graded, infections categorised), MH (diagnosis), DS (disposition)."""

from __future__ import annotations

import pandas as pd

from dli_etl.reference.ctcae_terms import ctcae_terms
from dli_etl.sdtm.algorithms import conform, finish_domain, study_day, supp_records, with_reference_start

DIAGNOSIS_TERMS = {"AML": "ACUTE MYELOID LEUKEMIA", "MDS-IB": "MYELODYSPLASTIC SYNDROME WITH INCREASED BLASTS",
                   "ALL": "ACUTE LYMPHOBLASTIC LEUKEMIA"}


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
        AESDTH=(ae["aetoxgr"] == 5).map({True: "Y", False: "N"}), AESTDTC=ae["aestdt"], AEENDTC=ae["aeendt"],
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


def build_mh(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    """Primary diagnosis and disease status at transplant."""
    enrol = curated.get("enrollment")
    if enrol is None or enrol.empty:
        return conform(pd.DataFrame(), "MH")
    enrol = with_reference_start(enrol.drop_duplicates("usubjid"), dm)
    diagnosis = enrol.assign(MHTERM=enrol["diagnosis"].map(DIAGNOSIS_TERMS), MHDECOD=enrol["diagnosis"].map(DIAGNOSIS_TERMS),
                             MHCAT="PRIMARY DIAGNOSIS")
    frames = [diagnosis]
    if "disease_status" in enrol.columns and enrol["disease_status"].notna().any():
        status = enrol[enrol["disease_status"].notna()]
        frames.append(status.assign(MHTERM=status["disease_status"] + " DISEASE AT TRANSPLANT",
                                    MHDECOD=pd.NA, MHCAT="DISEASE STATUS AT TRANSPLANT"))
    return finish_domain(pd.concat(frames, ignore_index=True), study, "MH", ["MHCAT", "MHTERM"])


def build_ds(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    """Informed consent and randomization milestones, death, and completion of one year of follow-up."""
    rows = []
    enrol = curated.get("enrollment")
    if enrol is not None and not enrol.empty:
        e = with_reference_start(enrol.drop_duplicates("usubjid"), dm)
        rows.append(e.assign(DSTERM="INFORMED CONSENT OBTAINED", DSDECOD="INFORMED CONSENT OBTAINED",
                             DSCAT="PROTOCOL MILESTONE", DSSTDTC=e["rficdtc"]))
    rand = curated.get("randomization")
    if rand is not None and not rand.empty:
        r = with_reference_start(rand.drop_duplicates("usubjid"), dm)
        rows.append(r.assign(DSTERM="RANDOMIZED", DSDECOD="RANDOMIZED", DSCAT="PROTOCOL MILESTONE", DSSTDTC=r["randdt"]))
    follow = curated.get("followup")
    if follow is not None and not follow.empty:
        f = with_reference_start(follow.drop_duplicates("usubjid"), dm)
        died = f[f["death"] == "Y"]
        rows.append(died.assign(DSTERM="DEATH", DSDECOD="DEATH", DSCAT="DISPOSITION EVENT", DSSTDTC=died["death_date"]))
        alive = f[f["death"] != "Y"]
        followed = study_day(alive["last_contact"], alive["RFSTDTC"]) > 365
        done = alive[followed.fillna(False).to_numpy(dtype=bool)]
        rows.append(done.assign(DSTERM="COMPLETED", DSDECOD="COMPLETED", DSCAT="DISPOSITION EVENT",
                                DSSTDTC=done["last_contact"]))
    if not rows:
        return conform(pd.DataFrame(), "DS")
    ds = pd.concat(rows, ignore_index=True)
    ds["DSSTDY"] = study_day(ds["DSSTDTC"], ds["RFSTDTC"]).astype("Float64")
    return finish_domain(ds, study, "DS", ["DSSTDTC", "DSDECOD"])
