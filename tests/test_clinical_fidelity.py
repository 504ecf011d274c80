"""Clinical rules held to the protocols and clinical.md (issue: clinical fidelity)."""

from __future__ import annotations

import pandas as pd

from dli_etl.adam.adae import build_adae


def test_infection_class_comes_from_the_collected_category():
    """Study A's secondary endpoint counts bacterial, viral and fungal infections. CTCAE v5 has no
    pathogen-specific term for pneumonia ("Lung infection", clinical.md 3.3), so the class is what the site
    collected; the term list only fills in when nothing was collected."""
    usubjid = "DLIPRO-S01-01-001"
    ae = pd.DataFrame({"STUDYID": "DLIPRO", "USUBJID": usubjid, "AESEQ": [1, 2, 3],
                       "AETERM": ["Lung infection", "Sepsis", "Lung infection"],
                       "AEDECOD": ["Lung infection", "Sepsis", "Lung infection"], "AEBODSYS": "Infections and infestations",
                       "AECAT": "INFECTION", "AESER": "N", "AEREL": "NOT RELATED", "AETOXGR": "3",
                       "AESTDTC": ["2026-02-01", "2026-02-10", "2026-03-01"], "AEENDTC": None})
    suppae = pd.DataFrame({"STUDYID": "DLIPRO", "RDOMAIN": "AE", "USUBJID": usubjid, "IDVAR": "AESEQ",
                           "IDVARVAL": ["1", "2"], "QNAM": "INFCAT", "QLABEL": "Infection Category",
                           "QVAL": ["FUNGAL", "BACTERIAL"], "QORIG": "CRF", "QEVAL": ""})
    adsl = pd.DataFrame({"USUBJID": [usubjid], "SITEID": "S01", "ARMCD": "PROPH", "ARM": "Prophylactic DLI",
                         "TRTSDT": [pd.Timestamp("2026-01-15")]})
    adae = build_adae(adsl, {"ae": ae, "suppae": suppae}).set_index("AESEQ")
    assert adae.loc[1, "INFCAT"] == "FUNGAL"        # collected, not guessed from "Lung infection"
    assert adae.loc[2, "INFCAT"] == "BACTERIAL"
    assert adae.loc[3, "INFCAT"] == "UNSPECIFIED"   # nothing collected, and the term does not say


def test_relapse_is_from_cr_only_after_a_cr():
    """CDISC ONCRSR (clinical.md 6.3) has both "RELAPSED DISEASE FROM CR" and "RELAPSED DISEASE"."""
    from dli_etl.sdtm.response import code_relapse_origin

    rs = pd.DataFrame({"USUBJID": ["B1", "B1", "B2", "B3", "B3"],
                       "RSSTRESC": ["CR", "RELAPSED DISEASE", "RELAPSED DISEASE", "PR", "RELAPSED DISEASE"],
                       "RSDTC": ["2026-02-01", "2026-05-01", "2026-03-01", "2026-02-01", "2026-04-01"]})
    study_b = code_relapse_origin(rs, in_cr_at_entry=False)
    assert study_b["RSSTRESC"].tolist() == ["CR", "RELAPSED DISEASE FROM CR", "RELAPSED DISEASE", "PR",
                                            "RELAPSED DISEASE"]
    # Study A enrols only subjects in MRD-negative remission: every relapse is from CR
    study_a = code_relapse_origin(rs, in_cr_at_entry=True)
    assert study_a["RSSTRESC"].tolist() == ["CR", "RELAPSED DISEASE FROM CR", "RELAPSED DISEASE FROM CR", "PR",
                                            "RELAPSED DISEASE FROM CR"]


def _rows(form: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    n = len(frame)
    return frame.assign(study="DLIPRO", site="S01", usubjid="DLIPRO-S01-" + frame["subjid"],
                        src_file=f"{form}.xlsx", src_sha256="0", src_locator=[f"{form}!{i + 2}" for i in range(n)],
                        row_id=[f"{form}#{i}" for i in range(n)])


def _locate(row: pd.Series, field: str) -> str:
    return f"{row['src_locator']}:{field}"


FOLLOWUP = _rows("followup", [
    {"subjid": "01-001", "death": "Y", "death_date": "2026-03-10", "death_cause": "INFECTION", "last_contact": "2026-03-10"},
    {"subjid": "01-002", "death": "Y", "death_date": "2026-04-01", "death_cause": "RELAPSE", "last_contact": "2026-04-01"},
    {"subjid": "01-003", "death": "Y", "death_date": "2026-05-01", "death_cause": "GVHD", "last_contact": "2026-05-01"},
    {"subjid": "01-004", "death": "N", "death_date": None, "death_cause": None, "last_contact": "2026-06-30"},
])


def test_a_non_disease_death_needs_its_grade_5_ae():
    """clinical.md 3.2: a fatal AE is reported as grade 5 under the causative term. A relapse death needs
    none (disease deaths are excluded from AE listings by protocol)."""
    from dli_etl.rules.death_consistency import death_without_fatal_ae_findings

    ae = _rows("adverse_event", [{"subjid": "01-003", "aeterm": "Immune system disorders - Other, specify", "aetoxgr": 5}])
    found = death_without_fatal_ae_findings(FOLLOWUP, ae, ["RELAPSE"], _locate)
    assert [(f.subjid, f.value) for f in found] == [("01-001", "INFECTION")]


def test_nothing_recovers_on_or_after_death():
    from dli_etl.rules.death_consistency import recovered_after_death_findings

    deaths = FOLLOWUP[FOLLOWUP["death"] == "Y"][["usubjid", "death_date"]]
    ae = _rows("adverse_event", [
        {"subjid": "01-001", "aeendt": "2026-03-10", "aeout": "RECOVERED/RESOLVED"},   # on the death day
        {"subjid": "01-001", "aeendt": "2026-03-10", "aeout": "FATAL"},
        {"subjid": "01-002", "aeendt": "2026-03-01", "aeout": "RECOVERED/RESOLVED"},   # before the death
        {"subjid": "01-003", "aeendt": "2026-06-01", "aeout": "RECOVERING/RESOLVING"},  # after the death
    ])
    found = recovered_after_death_findings(ae, deaths, _locate)
    assert [(f.subjid, f.value) for f in found] == [("01-001", "RECOVERED/RESOLVED"), ("01-003", "RECOVERING/RESOLVING")]


def test_records_after_last_contact_of_a_living_subject_are_flagged():
    from dli_etl.rules.death_consistency import after_last_contact_findings

    cbc = _rows("cbc", [{"subjid": "01-004", "lbdtc": "2026-06-30"}, {"subjid": "01-004", "lbdtc": "2026-07-15"},
                        {"subjid": "01-001", "lbdtc": "2026-03-20"}])  # 01-001 died: ORDER-AFTER-DEATH's job
    found = after_last_contact_findings(cbc, "cbc", "lbdtc", FOLLOWUP, _locate)
    assert [(f.subjid, f.value) for f in found] == [("01-004", "2026-07-15")]


def test_ae_end_after_death_is_flagged():
    from dli_etl.rules.treatment_timeline import after_death_findings

    deaths = FOLLOWUP[FOLLOWUP["death"] == "Y"][["usubjid", "death_date"]]
    ae = _rows("adverse_event", [{"subjid": "01-001", "aeendt": "2026-03-18"}, {"subjid": "01-001", "aeendt": "2026-03-10"}])
    found = after_death_findings(ae, "adverse_event", "aeendt", deaths, _locate)
    assert [(f.rule_id, f.value) for f in found] == [("ORDER-AFTER-DEATH", "2026-03-18")]
