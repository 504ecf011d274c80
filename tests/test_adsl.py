"""ADSL from a tiny hand-made SDTM set whose values are known by hand, and from generated data."""

import pandas as pd

from dli_etl.adam.adsl import build_adsl


def _sdtm():
    dm = pd.DataFrame({
        "STUDYID": ["DLIPRO"] * 2, "USUBJID": ["DLIPRO-S01-01-001", "DLIPRO-S01-01-002"], "SUBJID": ["01-001", "01-002"],
        "SITEID": ["S01"] * 2, "AGE": [40.0, 55.0], "AGEU": ["YEARS"] * 2, "SEX": ["F", "M"], "ARMCD": ["PROPH", "PREEMPT"],
        "ARM": ["Prophylactic DLI", "Preemptive DLI"], "ACTARMCD": ["PROPH", "PREEMPT"],
        "ACTARM": ["Prophylactic DLI", "Preemptive DLI"], "DTHFL": [pd.NA, "Y"], "DTHDTC": [pd.NA, "2026-09-30"],
        "RFPENDTC": ["2026-11-01", "2026-09-30"]})
    ds = pd.DataFrame({"USUBJID": ["DLIPRO-S01-01-001"] * 2 + ["DLIPRO-S01-01-002"] * 3,
                       "DSDECOD": ["INFORMED CONSENT OBTAINED", "RANDOMIZED", "INFORMED CONSENT OBTAINED", "RANDOMIZED", "DEATH"],
                       "DSSTDTC": ["2025-12-20", "2026-02-05", "2025-12-22", "2026-02-03", "2026-09-30"]})
    pr = pd.DataFrame({"USUBJID": dm["USUBJID"], "PRSTDTC": ["2026-01-01", "2026-01-02"]})
    ex = pd.DataFrame({"USUBJID": ["DLIPRO-S01-01-001", "DLIPRO-S01-01-001"], "EXTRT": ["DONOR LYMPHOCYTE INFUSION"] * 2,
                       "EXSTDTC": ["2026-02-20", "2026-04-01"], "EXENDTC": ["2026-02-20", "2026-04-01"]})
    mh = pd.DataFrame({"USUBJID": dm["USUBJID"], "MHCAT": ["PRIMARY DIAGNOSIS"] * 2,
                       "MHDECOD": ["ACUTE MYELOID LEUKEMIA", "MYELODYSPLASTIC SYNDROME WITH INCREASED BLASTS"]})
    supppr = pd.DataFrame({"USUBJID": dm["USUBJID"], "QNAM": ["DONORTYP"] * 2, "QVAL": ["HAPLOIDENTICAL", "MATCHED"]})
    return {"dm": dm, "ds": ds, "pr": pr, "ex": ex, "mh": mh, "supppr": supppr}


def test_adsl_by_hand():
    adsl = build_adsl("DLIPRO", _sdtm()).set_index("USUBJID")
    first, second = adsl.loc["DLIPRO-S01-01-001"], adsl.loc["DLIPRO-S01-01-002"]
    assert first["RANDDT"] == pd.Timestamp("2026-02-05") and first["ORIGDT"] == first["RANDDT"]
    assert first["HSCTDT"] == pd.Timestamp("2026-01-01")
    assert (first["TRTSDT"], first["TRTEDT"]) == (pd.Timestamp("2026-02-20"), pd.Timestamp("2026-04-01"))
    assert first["SAFFL"] == "Y" and second["SAFFL"] == "N"  # preemptive subject never converted to MRD+
    assert second["DTHFL"] == "Y" and second["DTHDT"] == pd.Timestamp("2026-09-30") and pd.isna(first["DTHDT"])
    assert first["DONORTYP"] == "HAPLOIDENTICAL" and second["DIAGNOSIS"].startswith("MYELODYSPLASTIC")
    assert set(adsl["ITTFL"]) == {"Y"}


def test_adsl_on_generated_data(run_clean):
    adsl = pd.read_parquet(run_clean.out / "adam" / "pooled" / "adsl.parquet")
    assert adsl.groupby("STUDYID").size().to_dict() == {"DLIPLX": 28, "DLIPRO": 200}
    pro = adsl[adsl["STUDYID"] == "DLIPRO"]
    # prophylactic DLI on transplant day +45..+60 (day 0 = HSCT)
    days = (pro["TRTSDT"] - pro["HSCTDT"]).dt.days[pro["ARMCD"] == "PROPH"].dropna()
    assert days.between(45, 60).all() and len(days) > 50
    plx = adsl[adsl["STUDYID"] == "DLIPLX"]
    assert (plx["ORIGDT"] == plx["ENRLDT"]).all()
