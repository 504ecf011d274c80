"""Quarantine the value, not the record: one hand-written site transfer with the bad values a trial meets,
followed through harmonize -> SDTM -> ADaM -> endpoints. Each test asserts what reaches SDTM and ADaM.

DLIPRO site S01, four randomized subjects (HSCT 2025-10-01, randomized 2025-11-01):
  01-001 PROPH    DLI 2025-11-20 with a CD3+ dose off by 100; last contact blank; aGVHD recorded grade II
                  whose stages (lower GI stage 2) give grade III; CTCAE grade 1 neutropenia on a day
                  the ANC (0.4) gives grade 4; a CBC draw with an unreadable Hb.
  01-002 PROPH    sex blank; DLI on 2025-11-18; death recorded with the impossible date 2025-09-31.
  01-003 PREEMPT  relapse on 2026-03-29 and death known only to the month (2026-03); a grade 3
                  thrombocytopenia on a day the platelets (80) give grade 0-1 (the episode's worst grade).
  01-004 PREEMPT  no DLI (preemptive DLI only follows MRD positivity); alive at last contact 2026-06-30.
"""

from __future__ import annotations

import pandas as pd
import pytest

from dli_etl.adam.build import adam_findings, build_adam
from dli_etl.endpoints.protocol import endpoint_table
from dli_etl.ingest.raw_form import IngestResult, RawForm
from dli_etl.pipeline import harmonize, map_sdtm
from dli_etl.release_gates import dm_subjects, endpoint_populations, sdtm_reconciles

STUDY, SITE = "DLIPRO", "S01"
IDS = ["01-001", "01-002", "01-003", "01-004"]


def _raw(form: str, rows: list[dict]) -> RawForm:
    frame = pd.DataFrame(rows).astype("string")
    src_file = f"{STUDY}/sites/{SITE}/{form}.xlsx"
    frame.insert(0, "study", STUDY)
    frame.insert(1, "site", SITE)
    frame["src_file"] = src_file
    frame["src_sha256"] = "0" * 64
    frame["src_format"] = "xlsx"
    frame["src_row"] = [str(i + 2) for i in range(len(frame))]
    frame["src_locator"] = [f"{form}!{r}" for r in frame["src_row"]]
    frame["row_id"] = src_file + "#" + frame["src_locator"] + "#" + frame["src_row"]
    fields = [c for c in rows[0] if c != "subjid"]
    columns = {name: chr(ord("B") + i) for i, name in enumerate(fields)}
    return RawForm(STUDY, form, "xlsx", src_file, frame.astype("string"), source_columns=columns)


def _transfer() -> IngestResult:
    enrollment = [{"subjid": s, "rficdtc": "2025-09-15", "brthdtc": "1970-05-05", "sex": sex, "diagnosis": "AML",
                   "disease_status": "RELAPSED", "ph_status": "NEGATIVE", "mrd_1m": "NEGATIVE"}
                  for s, sex in zip(IDS, ["M", "", "F", "M"], strict=True)]
    randomization = [{"subjid": s, "randdt": "2025-11-01", "armcd": arm}
                     for s, arm in zip(IDS, ["PROPH", "PROPH", "PREEMPT", "PREEMPT"], strict=True)]
    transplant = [{"subjid": s, "hsctdt": "2025-10-01", "donor_type": "MATCHED"} for s in IDS]
    dli = [{"subjid": "01-001", "dli_round": "1", "dlidt": "2025-11-20", "mnc_dose": "1.0x10^8/kg",
            "cd3_dose": "3.0x10^5/kg"},
           {"subjid": "01-002", "dli_round": "1", "dlidt": "2025-11-18", "mnc_dose": "1.0x10^8/kg",
            "cd3_dose": "3.0x10^7/kg"},
           {"subjid": "01-003", "dli_round": "1", "dlidt": "2026-01-10", "mnc_dose": "1.0x10^8/kg",
            "cd3_dose": "3.0x10^7/kg"}]
    followup = [{"subjid": "01-001", "last_contact": "", "relapse": "N", "relapse_date": "", "death": "N",
                 "death_date": "", "death_cause": ""},
                {"subjid": "01-002", "last_contact": "2025-12-20", "relapse": "N", "relapse_date": "", "death": "Y",
                 "death_date": "2025-09-31", "death_cause": "Infection"},
                {"subjid": "01-003", "last_contact": "2026-03-29", "relapse": "Y", "relapse_date": "2026-03-29",
                 "death": "Y", "death_date": "2026-03", "death_cause": "Relapse"},
                {"subjid": "01-004", "last_contact": "2026-06-30", "relapse": "N", "relapse_date": "", "death": "N",
                 "death_date": "", "death_cause": ""}]
    agvhd = [{"subjid": "01-001", "assessment_date": "2025-12-10", "skin_bsa": "", "bilirubin_mg_dl": "",
              "stool_ml_day": "", "upper_gi_symptoms": "", "skin_stage": "1", "liver_stage": "0", "upper_gi_stage": "0",
              "lower_gi_stage": "2", "magic_overall_grade": "2"}]
    cbc = [{"subjid": "01-001", "lbdtc": "2025-12-01", "wbc": "1.2", "anc": "0.4", "hgb": "9.1", "plt": "120",
            "lym": "0.5"},
           {"subjid": "01-001", "lbdtc": "2025-12-05", "wbc": "2.0", "anc": "1.1", "hgb": "abc", "plt": "130",
            "lym": "0.6"},
           {"subjid": "01-003", "lbdtc": "2026-02-01", "wbc": "3.0", "anc": "1.6", "hgb": "11.0", "plt": "80",
            "lym": "0.9"}]
    adverse_event = [{"subjid": "01-001", "aeterm": "Neutrophil count decreased", "aestdt": "2025-12-01",
                      "aeendt": "", "aetoxgr": "1", "aeser": "N", "aerel": "", "aeout": "", "infection_category": "",
                      "pathogen": ""},
                     {"subjid": "01-003", "aeterm": "Platelet count decreased", "aestdt": "2026-02-01",
                      "aeendt": "", "aetoxgr": "3", "aeser": "N", "aerel": "", "aeout": "", "infection_category": "",
                      "pathogen": ""}]
    forms = {"enrollment": enrollment, "randomization": randomization, "transplant": transplant, "dli": dli,
             "followup": followup, "agvhd": agvhd, "cbc": cbc, "adverse_event": adverse_event}
    return IngestResult(STUDY, forms=[_raw(form, rows) for form, rows in forms.items()])


@pytest.fixture(scope="module")
def chain():
    harmonized = harmonize(_transfer())
    sdtm = map_sdtm(harmonized)
    adam = build_adam(STUDY, sdtm.domains)
    return {"h": harmonized, "sdtm": sdtm.domains, "gates": sdtm.gates, "adam": adam,
            "endpoints": endpoint_table({STUDY: adam})}


def _usubjid(subjid: str) -> str:
    return f"{STUDY}-{SITE}-{subjid}"


def _one(frame: pd.DataFrame, subjid: str, **where) -> pd.DataFrame:
    part = frame[frame["USUBJID"] == _usubjid(subjid)]
    for column, value in where.items():
        part = part[part[column] == value]
    return part


def _findings(chain, rule: str, subjid: str) -> pd.DataFrame:
    f = chain["h"].findings
    return f[(f["rule_id"] == rule) & (f["subjid"] == subjid)]


def test_every_subject_reaches_dm_adsl_and_itt(chain):
    dm, adsl = chain["sdtm"]["dm"], chain["adam"]["adsl"]
    assert sorted(dm["USUBJID"]) == [_usubjid(s) for s in IDS]
    assert sorted(adsl.loc[adsl["ITTFL"] == "Y", "USUBJID"]) == [_usubjid(s) for s in IDS]
    # safety: any recorded DLI, whatever its dose validity; 01-004 was never infused
    assert sorted(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"]) == [_usubjid(s) for s in IDS[:3]]
    assert all(chain["h"].quarantine[form].empty for form in chain["h"].quarantine)
    assert all(g.passed for g in chain["gates"])


def test_missing_sex_is_u_and_the_subject_stays(chain):
    assert len(_findings(chain, "REQ-MISSING", "01-002").query("field == 'sex'")) == 1
    dm = _one(chain["sdtm"]["dm"], "01-002")
    assert dm["SEX"].tolist() == ["U"]
    assert _one(chain["adam"]["adsl"], "01-002")["SEX"].tolist() == ["U"]


def test_blank_last_contact_keeps_follow_up_from_other_records(chain):
    assert len(_findings(chain, "REQ-MISSING", "01-001").query("field == 'last_contact'")) == 1
    adsl = _one(chain["adam"]["adsl"], "01-001")
    # the latest dated record of 01-001 is the aGVHD assessment on 2025-12-10
    assert adsl["LSTALVDT"].iloc[0] == pd.Timestamp("2025-12-10")
    os_ = _one(chain["adam"]["adtte"], "01-001", PARAMCD="OS")
    assert os_["ANL01FL"].tolist() == ["Y"] and os_["CNSR"].tolist() == [1]
    assert os_["AVAL"].iloc[0] == (pd.Timestamp("2025-12-10") - pd.Timestamp("2025-11-01")).days


def test_invalid_death_date_keeps_the_death(chain):
    h = chain["h"]
    nulled = h.quarantined_values[(h.quarantined_values["subjid"] == "01-002")]
    assert nulled[["field", "verbatim", "rule_ids"]].values.tolist() == [["death_date", "2025-09-31", "DATE-INVALID"]]
    dm = _one(chain["sdtm"]["dm"], "01-002")
    assert dm["DTHFL"].tolist() == ["Y"] and dm["DTHDTC"].isna().all()
    ds = _one(chain["sdtm"]["ds"], "01-002", DSDECOD="DEATH")
    assert len(ds) == 1 and ds["DSSTDTC"].isna().all()
    assert len(_one(chain["sdtm"]["dd"], "01-002")) == 1
    adsl = _one(chain["adam"]["adsl"], "01-002")
    # no usable date at all: the death is placed on the last date known alive and flagged
    assert adsl["DTHFL"].tolist() == ["Y"] and adsl["DTHDTF"].tolist() == ["Y"]
    assert adsl["DTHDT"].iloc[0] == pd.Timestamp("2025-12-20")
    os_ = _one(chain["adam"]["adtte"], "01-002", PARAMCD="OS")
    assert os_["CNSR"].tolist() == [0] and os_["ANL01FL"].tolist() == ["Y"]


def test_bad_dli_dose_is_nulled_and_the_infusion_stays(chain):
    f = _findings(chain, "DOSE-POWER-OF-TEN", "01-001")
    assert f["field"].tolist() == ["cd3_dose"]
    ex = _one(chain["sdtm"]["ex"], "01-001", EXTRT="DONOR LYMPHOCYTE INFUSION")
    assert ex["EXSTDTC"].tolist() == ["2025-11-20"] and ex["EXDOSE"].tolist() == [10.0]
    supp = chain["sdtm"]["suppex"]
    assert supp[(supp["USUBJID"] == _usubjid("01-001")) & (supp["QNAM"] == "EXCD3DOS")].empty  # the CD3+ dose is null
    dm = _one(chain["sdtm"]["dm"], "01-001")
    assert dm["ACTARMCD"].tolist() == ["PROPH"] and dm["ARMNRS"].isna().all()
    adsl = _one(chain["adam"]["adsl"], "01-001")
    assert adsl["TRTSDT"].iloc[0] == pd.Timestamp("2025-11-20") and adsl["SAFFL"].tolist() == ["Y"]
    # 01-004 (PREEMPT, never MRD-positive) follows its arm without a DLI: nobody is "not treated"
    assert chain["sdtm"]["dm"]["ARMNRS"].isna().all()


def test_magic_contradiction_keeps_collected_grade_and_analysis_uses_the_stages(chain):
    f = _findings(chain, "MAGIC-GRADE-CONTRADICTION", "01-001")
    assert f[["value", "expected", "action"]].values.tolist() == [["2", "3", "keep"]]
    fa = _one(chain["sdtm"]["fa"], "01-001")
    assert fa.loc[fa["FATESTCD"] == "GRADE", "FAORRES"].tolist() == ["2"]
    assert sorted(fa.loc[fa["FATESTCD"] == "STAGE", "FAORRES"]) == ["0", "0", "1", "2"]
    event = _one(chain["adam"]["adtte"], "01-001", PARAMCD="AGVHD34")
    assert event["EVSTAT"].tolist() == [1]
    assert event["ADT"].iloc[0] == pd.Timestamp("2025-12-10")


def test_ctcae_grade_below_the_lab_is_a_query_and_the_ae_stays(chain):
    f = _findings(chain, "CTCAE-GRADE-CONTRADICTS-LAB", "01-001")
    assert f[["value", "expected", "action"]].values.tolist() == [["1", "4", "keep"]]
    ae = _one(chain["sdtm"]["ae"], "01-001")
    assert ae["AETOXGR"].tolist() == ["1"]
    assert len(_one(chain["adam"]["adae"], "01-001")) == 1


def test_ctcae_grade_above_the_days_lab_is_not_a_contradiction(chain):
    # the AE grade is the worst over the episode: grade 3 with platelets of 80 that day is no finding
    assert _findings(chain, "CTCAE-GRADE-CONTRADICTS-LAB", "01-003").empty
    assert _one(chain["sdtm"]["ae"], "01-003")["AETOXGR"].tolist() == ["3"]


def test_one_unreadable_analyte_keeps_the_other_four(chain):
    f = _findings(chain, "TYPE-NOT-NUMBER", "01-001")
    assert f["field"].tolist() == ["hgb"]
    lb = _one(chain["sdtm"]["lb"], "01-001", LBDTC="2025-12-05")
    assert sorted(lb["LBTESTCD"]) == ["HGB", "LYM", "NEUT", "PLAT", "WBC"]
    hgb = lb[lb["LBTESTCD"] == "HGB"]
    assert hgb["LBORRES"].tolist() == ["abc"] and hgb["LBSTRESN"].isna().all()
    assert lb.loc[lb["LBTESTCD"] == "NEUT", "LBSTRESN"].tolist() == [1.1]
    assert len(_one(chain["adam"]["adlb"], "01-001")) >= 9  # both draws reach ADLB


def test_month_only_death_after_a_relapse_stays_a_relapse(chain):
    adsl = _one(chain["adam"]["adsl"], "01-003")
    # 2026-03 imputed to 2026-03-01 would precede the relapse on 2026-03-29: floored at last known alive
    assert adsl["DTHDT"].iloc[0] == pd.Timestamp("2026-03-29") and adsl["DTHDTF"].tolist() == ["D"]
    tte = chain["adam"]["adtte"]
    relapse = _one(tte, "01-003", PARAMCD="RELAPSE")
    nrm = _one(tte, "01-003", PARAMCD="NRM")
    assert relapse["EVSTAT"].tolist() == [1] and nrm["EVSTAT"].tolist() == [2]


def test_endpoint_n_is_the_itt_population(chain):
    table = chain["endpoints"]
    a = table[(table["STUDYID"] == STUDY) & (table["POPULATION"] == "ITT")]
    assert set(a.loc[a["ANALYSIS_GROUP"] == "PROPH", "N"]) == {2} and set(a.loc[a["ANALYSIS_GROUP"] == "PREEMPT", "N"]) == {2}
    assert endpoint_populations({STUDY: chain["adam"]}, table).passed


def test_gates_fail_when_a_record_is_lost(chain):
    """The gates are not decoration: each fails on a hand-made loss."""
    h, domains = chain["h"], chain["sdtm"]
    short_dm = domains["dm"].iloc[1:]
    gate = dm_subjects(STUDY, h.enrolled, short_dm)
    assert not gate.passed and gate.findings["value"].tolist() == [_usubjid("01-001")]
    lost_ex = {**domains, "ex": domains["ex"].iloc[1:]}
    gate = sdtm_reconciles(STUDY, h.curated, lost_ex)
    assert not gate.passed and set(gate.findings["field"]) == {"EX"}
    wrong_n = chain["endpoints"].assign(N=chain["endpoints"]["N"] - 1)
    gate = endpoint_populations({STUDY: chain["adam"]}, wrong_n)
    assert not gate.passed and set(gate.findings["rule_id"]) == {"GATE-ENDPOINT-N"}


def _blank_answers_transfer() -> IngestResult:
    """The same transfer with answers a site leaves blank beside what they answer: 01-004's relapse and
    death answers blank beside their dates (and a cause of death); 01-001's relapse answered Yes without
    its date, then a death on 2026-02-01; an undated aGVHD assessment of 01-004 whose lower GI stage 3
    proves grade III; an MRD result of 01-004 without its
    method; a response assessment of 01-003 without its response, nearer day 90 than a later CR."""
    forms = {raw.form: raw for raw in _transfer().forms}
    followup = forms["followup"].frame.drop(columns=["study", "site", "src_file", "src_sha256", "src_format",
                                                     "src_row", "src_locator", "row_id"]).to_dict("records")

    followup[3].update(relapse="", relapse_date="2026-05-04", death="", death_date="2026-06-30",
                       death_cause="Relapse")
    followup[0].update(relapse="Y", relapse_date="", death="Y", death_date="2026-02-01", death_cause="Relapse")
    followup[1].update(death="")  # its date is impossible (nulled): only the cause of death says it happened
    mrd = [{"subjid": "01-004", "lbdtc": "2026-01-05", "mrd_method": "", "mrd_marker": "",
            "specimen": "BONE MARROW", "mrd_result": "0.05", "mrd_lod": "0.01"},
           {"subjid": "01-004", "lbdtc": "2026-02-05", "mrd_method": "FLOW CYTOMETRY", "mrd_marker": "LAIP",
            "specimen": "BONE MARROW", "mrd_result": "0.2", "mrd_lod": "0.01"}]
    # randomized 2025-11-01: day 88 is nearer the 3-month target (day 90) than day 96
    response = [{"subjid": "01-003", "rsdt": "2026-01-28", "response": "", "bm_blasts": ""},
                {"subjid": "01-003", "rsdt": "2026-02-05", "response": "CR", "bm_blasts": "2"}]
    lineage = ["study", "site", "src_file", "src_sha256", "src_format", "src_row", "src_locator", "row_id"]
    agvhd = forms["agvhd"].frame.drop(columns=lineage).to_dict("records")
    # lower GI stage 3 alone is MAGIC grade III; neither the date nor the overall grade was written
    agvhd.append({**agvhd[0], "subjid": "01-004", "assessment_date": "", "skin_stage": "0", "liver_stage": "0",
                  "upper_gi_stage": "0", "lower_gi_stage": "3", "magic_overall_grade": ""})
    # dated, but the skin stage and the overall grade left blank: upper GI stage 1 alone is grade II
    agvhd.append({**agvhd[0], "subjid": "01-003", "assessment_date": "2026-01-20", "skin_stage": "", "liver_stage": "0",
                  "upper_gi_stage": "1", "lower_gi_stage": "0", "magic_overall_grade": ""})
    # liver score 3 makes NIH severe whatever the other organs; the global severity was left blank. For
    # 01-001 a blank eyes score beside a mouth score of 1 leaves it undecided, mild at least
    organs = {f"{o}_score": "0" for o in ("skin", "mouth", "eyes", "gi", "liver", "lungs", "joints", "genital")}
    cgvhd = [{"subjid": "01-003", "assessment_date": "2026-01-15", **organs, "liver_score": "3", "global_severity": ""},
             {"subjid": "01-001", "assessment_date": "2025-12-20", **organs, "mouth_score": "1", "eyes_score": "",
              "global_severity": ""}]
    forms.update(followup=_raw("followup", followup), mrd=_raw("mrd", mrd), response=_raw("response", response),
                 agvhd=_raw("agvhd", agvhd), cgvhd=_raw("cgvhd", cgvhd))
    return IngestResult(STUDY, forms=list(forms.values()))


@pytest.fixture(scope="module")
def blank_answers():
    harmonized = harmonize(_blank_answers_transfer())
    sdtm = map_sdtm(harmonized)
    adam = build_adam(STUDY, sdtm.domains)
    return {"h": harmonized, "sdtm": sdtm.domains, "gates": sdtm.gates, "adam": adam}


def test_blank_event_answers_beside_their_dates_keep_the_relapse_and_the_death(blank_answers):
    f = blank_answers["h"].findings
    asked = f[(f["rule_id"] == "EVENT-ANSWER-BLANK") & (f["subjid"] == "01-004")]
    assert sorted(asked[["field", "value"]].values.tolist()) == [["death", "2026-06-30"], ["relapse", "2026-05-04"]]
    rs = _one(blank_answers["sdtm"]["rs"], "01-004")
    # DLIPRO enrols subjects in remission: every relapse is one from CR
    assert rs[["RSSTRESC", "RSDTC"]].values.tolist() == [["RELAPSED DISEASE FROM CR", "2026-05-04"]]
    assert _one(blank_answers["sdtm"]["ds"], "01-004", DSDECOD="DEATH")["DSSTDTC"].tolist() == ["2026-06-30"]
    assert _one(blank_answers["sdtm"]["dd"], "01-004")["DDORRES"].tolist() == ["Relapse"]
    assert _one(blank_answers["sdtm"]["dm"], "01-004")["DTHFL"].tolist() == ["Y"]
    tte = blank_answers["adam"]["adtte"]
    assert _one(tte, "01-004", PARAMCD="RELAPSE")["EVSTAT"].tolist() == [1]
    assert _one(tte, "01-004", PARAMCD="OS")["CNSR"].tolist() == [0]
    assert all(g.passed for g in blank_answers["gates"])  # the reconciliation counts the same events


def test_a_cause_of_death_is_a_death_when_the_answer_and_the_date_are_blank(blank_answers):
    f = blank_answers["h"].findings
    asked = f[(f["rule_id"] == "EVENT-ANSWER-BLANK") & (f["subjid"] == "01-002")]
    assert asked[["field", "value"]].values.tolist() == [["death", "Infection"]]
    assert _one(blank_answers["sdtm"]["dm"], "01-002")["DTHFL"].tolist() == ["Y"]
    assert len(_one(blank_answers["sdtm"]["ds"], "01-002", DSDECOD="DEATH")) == 1
    assert _one(blank_answers["sdtm"]["dd"], "01-002")["DDORRES"].tolist() == ["Infection"]
    assert _one(blank_answers["adam"]["adtte"], "01-002", PARAMCD="OS")["CNSR"].tolist() == [0]
    assert all(g.passed for g in blank_answers["gates"])


def test_an_event_answered_no_beside_a_date_is_a_query_and_not_counted():
    from dli_etl.rules.event_answers import event_answer_findings, event_recorded

    followup = pd.DataFrame({"study": STUDY, "site": SITE, "subjid": ["01-001", "01-002", "01-003"],
                             "relapse": ["N", "Y", pd.NA], "relapse_date": ["2026-01-02", "2026-01-03", pd.NA],
                             "death": ["N", "N", pd.NA], "death_date": [pd.NA, pd.NA, pd.NA],
                             "src_file": "f", "src_sha256": "0", "row_id": ["r1", "r2", "r3"]}).astype("string")
    assert event_recorded(followup["relapse"], followup["relapse_date"]).tolist() == [False, True, False]
    found = event_answer_findings(followup, lambda row, field: field)
    assert [(x.rule_id, x.subjid, x.field, x.value) for x in found] == [
        ("EVENT-ANSWER-CONTRADICTS-DATE", "01-001", "relapse", "2026-01-02")]


def test_a_relapse_without_its_date_is_never_a_death_without_relapse(blank_answers):
    f = blank_answers["h"].findings
    asked = f[(f["rule_id"] == "EVENT-DATE-MISSING") & (f["subjid"] == "01-001")]
    assert asked["field"].tolist() == ["relapse"]
    tte = _one(blank_answers["adam"]["adtte"], "01-001")
    decided = tte[tte["PARAMCD"].isin(["RELAPSE", "NRM", "LFS", "GRFS"])]
    assert sorted(decided["PARAMCD"]) == ["GRFS", "LFS", "NRM", "RELAPSE"]
    assert set(decided["ANL01FL"]) == {"N"} and set(decided["ANLREAS"]) == {"RELAPSE DATE UNKNOWN"}
    assert set(decided["EVNTDESC"]) == {""}  # never "DEATH WITHOUT RELAPSE"
    os_ = tte[tte["PARAMCD"] == "OS"]
    assert os_[["ANL01FL", "CNSR"]].values.tolist() == [["Y", 0]]
    assert os_["ADT"].tolist() == [pd.Timestamp("2026-02-01")]


def test_an_undated_gvhd_grade_iii_is_never_a_death_without_gvhd(blank_answers):
    f = blank_answers["h"].findings
    assert "assessment_date" in set(f.loc[(f["rule_id"] == "REQ-MISSING") & (f["subjid"] == "01-004"), "field"])
    tte = _one(blank_answers["adam"]["adtte"], "01-004").set_index("PARAMCD")
    for paramcd in ("AGVHD", "AGVHD24", "AGVHD34", "GRFS"):
        assert tte.loc[paramcd, ["ANL01FL", "ANLREAS"]].tolist() == ["N", "GVHD DATE UNKNOWN"], paramcd
    # chronic GVHD and the relapse endpoints are not decided by it: the dated relapse still counts
    assert tte.loc["CGVHD", "ANL01FL"] == "Y"
    assert tte.loc["RELAPSE", ["ANL01FL", "EVSTAT"]].tolist() == ["Y", 1]


def test_stages_without_a_grade_keep_the_onset_they_prove(blank_answers):
    tte = _one(blank_answers["adam"]["adtte"], "01-003").set_index("PARAMCD")
    for paramcd in ("AGVHD", "AGVHD24"):
        assert tte.loc[paramcd, ["ANL01FL", "EVSTAT", "ADT"]].tolist() == ["Y", 1, pd.Timestamp("2026-01-20")]
    # III-IV is not proven (only a skin stage of 4, unrecorded, would make it IV): the floor gives no onset
    assert tte.loc["AGVHD34", "EVSTAT"] == 2


def test_a_blank_cgvhd_severity_is_derived_from_the_organ_scores_when_they_decide_it(blank_answers):
    tte = blank_answers["adam"]["adtte"]
    severe = _one(tte, "01-003", PARAMCD="CGVHD")
    assert severe[["ANL01FL", "EVSTAT"]].values.tolist() == [["Y", 1]]
    assert severe["ADT"].tolist() == [pd.Timestamp("2026-01-15")]
    # the blank eyes score could make it anything from mild to severe: NIH 2014 gives no global severity,
    # but the mouth score proves mild at least, and that is a cGVHD onset
    mild = _one(tte, "01-001", PARAMCD="CGVHD")
    assert mild[["ANL01FL", "EVSTAT"]].values.tolist() == [["Y", 1]]
    assert mild["ADT"].tolist() == [pd.Timestamp("2025-12-20")]


def test_an_mrd_result_without_its_method_keeps_its_record_and_waits_for_the_site(blank_answers):
    f = blank_answers["h"].findings
    missing = f[(f["rule_id"] == "REQ-MISSING") & (f["subjid"] == "01-004") & (f["form"] == "mrd")]
    assert missing["field"].tolist() == ["mrd_method"]
    lb = _one(blank_answers["sdtm"]["lb"], "01-004").sort_values("LBDTC")
    assert lb["LBTESTCD"].tolist() == ["MRD", "MRDFLOW"]
    assert lb["LBMETHOD"].isna().tolist() == [True, False] and lb["LBSTRESN"].tolist() == [0.05, 0.2]
    adlb = _one(blank_answers["adam"]["adlb"], "01-004")
    assert sorted(adlb["PARAMCD"]) == ["MRD", "MRDFLOW"]
    # the flow result is positive by its method's threshold; the one without a method is not judged
    mrd = blank_answers["h"].curated["mrd"].sort_values("lbdtc")
    assert mrd["mrd_positive"].tolist()[1] == "POSITIVE" and pd.isna(mrd["mrd_positive"].tolist()[0])


def test_a_blank_response_is_kept_but_never_stands_in_for_an_assessment(blank_answers):
    adrs = _one(blank_answers["adam"]["adrs"], "01-003")
    assessed = adrs[adrs["PARAMCD"] == "OVRLRESP"].sort_values("ADT")
    assert assessed[["AVALC", "ANL01FL"]].values.tolist()[:2] == [["NE", ""], ["CR", "Y"]]
    assert adrs.loc[adrs["PARAMCD"] == "RESP3M", "AVALC"].tolist() == ["CR"]
    assert adrs.loc[adrs["PARAMCD"] == "ORR3M", "AVALC"].tolist() == ["Y"]
    assert adam_findings(STUDY, blank_answers["adam"]).empty


def test_impossible_raw_measures_are_nulled_before_staging():
    """A BSA above 100%, a negative bilirubin or stool volume cannot be staged (clinical.md 1.1 stages
    from these measures): each is nulled with a finding, and no stage contradiction is derived from it."""
    from dli_etl.harmonize.forms import harmonize_form
    from dli_etl.rules.gvhd_consistency import magic_findings

    raw = _raw("agvhd", [{"subjid": "01-001", "assessment_date": "2025-12-10", "skin_bsa": "120", "bilirubin_mg_dl": "-1.2",
                          "stool_ml_day": "-50", "upper_gi_symptoms": "N", "skin_stage": "1", "liver_stage": "0",
                          "upper_gi_stage": "0", "lower_gi_stage": "0", "magic_overall_grade": "1"}])
    frame, found, _ = harmonize_form([raw], "agvhd")
    assert sorted((f.rule_id, f.field) for f in found) == [
        ("VALUE-OUT-OF-RANGE", "bilirubin_mg_dl"), ("VALUE-OUT-OF-RANGE", "skin_bsa"), ("VALUE-OUT-OF-RANGE", "stool_ml_day")]
    assert frame[["skin_bsa", "bilirubin_mg_dl", "stool_ml_day"]].isna().all(axis=None)
    assert magic_findings(frame, lambda row, field: field) == []
