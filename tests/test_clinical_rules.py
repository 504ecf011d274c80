"""Cross-form clinical rules on small hand-made frames: each boundary from the protocols."""

import pandas as pd
import pytest

from dli_etl.harmonize.study import _schema_findings
from dli_etl.rules.ctcae_consistency import ctcae_findings
from dli_etl.rules.eligibility import consent_after_hsct_findings, eligibility_findings
from dli_etl.rules.gvhd_consistency import magic_findings
from dli_etl.rules.treatment_timeline import (
    after_death_findings,
    chemo_timing_findings,
    dli_timeline_findings,
    plerixafor_timing_findings,
    transplant_day,
)


def locate(row, field):
    return f"{row['row_id']}:{field}"


def frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"study": ["DLIPRO"] * n, "site": ["S01"] * n, "subjid": [f"01-{i:03d}" for i in range(n)],
            "src_file": ["f"] * n, "src_sha256": ["x"] * n, "src_format": ["odm"] * n,
            "src_locator": [f"L{i}" for i in range(n)], "row_id": [f"r{i}" for i in range(n)]}
    base["usubjid"] = ["DLIPRO-S01-" + s for s in base["subjid"]]
    base.update(columns)
    return pd.DataFrame(base)


def test_transplant_day_counts_day_zero():
    assert transplant_day(pd.Series(["2026-01-01", "2026-02-15"]), pd.Series(["2026-01-01"] * 2)).tolist() == [0, 45]


@pytest.mark.parametrize(("day", "flagged"), [(44, True), (45, False), (60, False), (61, True)])
def test_prophylactic_window_day_45_to_60(day, flagged):
    hsct = pd.Timestamp("2026-01-01")
    dli = frame(dlidt=[(hsct + pd.Timedelta(days=day)).date().isoformat()], dli_round=pd.array([1], dtype="Int64"))
    transplant = frame(hsctdt=["2026-01-01"])
    enrol = frame(rficdtc=["2025-12-15"])
    rand = frame(armcd=["PROPH"])
    found = dli_timeline_findings(dli, transplant, enrol, rand, [45, 60], locate)
    assert [f.rule_id for f in found] == (["PD-PROPH-DLI-WINDOW"] if flagged else [])


def test_window_does_not_apply_to_preemptive_arm():
    dli = frame(dlidt=["2026-06-01"], dli_round=pd.array([1], dtype="Int64"))
    found = dli_timeline_findings(dli, frame(hsctdt=["2026-01-01"]), frame(rficdtc=["2025-12-15"]),
                                  frame(armcd=["PREEMPT"]), [45, 60], locate)
    assert found == []


@pytest.mark.parametrize(("dli", "rule"), [("2026-01-01", "ORDER-DLI-BEFORE-HSCT"), ("2025-12-31", "ORDER-DLI-BEFORE-HSCT")])
def test_dli_on_or_before_transplant(dli, rule):
    found = dli_timeline_findings(frame(dlidt=[dli], dli_round=pd.array([1], dtype="Int64")),
                                  frame(hsctdt=["2026-01-01"]), frame(rficdtc=["2025-12-01"]), frame(armcd=["PREEMPT"]),
                                  None, locate)
    assert [f.rule_id for f in found] == [rule]


@pytest.mark.parametrize(("gap", "flagged"), [(1, True), (2, False), (3, False), (4, True)])
def test_chemo_48_to_72_hours_before_dli(gap, flagged):
    dli = pd.Timestamp("2026-05-10")
    chemo = frame(chemo_start=["2026-05-01"], chemo_end=[(dli - pd.Timedelta(days=gap)).date().isoformat()])
    dlis = frame(dlidt=[dli.date().isoformat()], dli_round=pd.array([1], dtype="Int64"))
    found = chemo_timing_findings(chemo, dlis, [2, 3], locate)
    assert [f.rule_id for f in found] == (["PD-CHEMO-TIMING"] if flagged else [])


@pytest.mark.parametrize(("day", "flagged"), [(9, True), (10, False), (14, False), (15, True)])
def test_plerixafor_days_10_to_14(day, flagged):
    dli = pd.Timestamp("2025-03-01")
    plx = frame(plx_date=[(dli + pd.Timedelta(days=day)).date().isoformat()], event_oid=["round_1_arm_1"])
    dlis = frame(dlidt=[dli.date().isoformat()], event_oid=["round_1_arm_1"])
    found = plerixafor_timing_findings(plx, dlis, [10, 14], locate)
    assert [f.rule_id for f in found] == (["PD-PLERIXAFOR-TIMING"] if flagged else [])


def test_assessment_after_death():
    labs = frame(lbdtc=["2026-05-01", "2026-05-02"])
    deaths = pd.DataFrame({"usubjid": labs["usubjid"], "death_date": ["2026-05-01", "2026-05-01"]})
    found = after_death_findings(labs, "cbc", "lbdtc", deaths, locate)
    assert [f.row_id for f in found] == ["r1"]  # the day of death itself is fine


def test_eligibility_deviations_are_warnings_by_rule():
    enrol = frame(ph_status=["POSITIVE", "NEGATIVE"], mrd_1m=["NEGATIVE", "POSITIVE"])
    found = eligibility_findings(enrol, {"ph_status": ["NEGATIVE"], "mrd_1m": ["NEGATIVE"]}, locate)
    assert sorted((f.field, f.row_id) for f in found) == [("mrd_1m", "r1"), ("ph_status", "r0")]
    assert all(f.rule_id == "PD-ELIGIBILITY" for f in found)


def test_consent_after_transplant():
    found = consent_after_hsct_findings(frame(rficdtc=["2026-01-02"]), frame(hsctdt=["2026-01-01"]), locate)
    assert [f.rule_id for f in found] == ["ORDER-CONSENT-AFTER-HSCT"]


def _agvhd(**overrides):
    row = dict(skin_bsa=[30.0], bilirubin_mg_dl=[1.0], stool_ml_day=[0.0], upper_gi_symptoms=["N"],
               skin_stage=pd.array([2], dtype="Int64"), liver_stage=pd.array([0], dtype="Int64"),
               upper_gi_stage=pd.array([0], dtype="Int64"), lower_gi_stage=pd.array([0], dtype="Int64"),
               magic_overall_grade=pd.array([1], dtype="Int64"))
    row.update(overrides)
    return frame(**row)


def test_consistent_magic_record_passes():
    assert magic_findings(_agvhd(), locate) == []


def test_grade_contradicting_stages():
    found = magic_findings(_agvhd(magic_overall_grade=pd.array([2], dtype="Int64")), locate)
    assert [(f.rule_id, f.value, f.expected) for f in found] == [("MAGIC-GRADE-CONTRADICTION", "2", "1")]


def test_stage_contradicting_raw_measure():
    found = magic_findings(_agvhd(bilirubin_mg_dl=[3.5]), locate)  # 3.5 mg/dL is liver stage 2
    assert ("MAGIC-STAGE-CONTRADICTION", "liver_stage", "2") in [(f.rule_id, f.field, f.expected) for f in found]


def _ae(term, grade, date="2026-03-01"):
    return frame(aeterm=[term], aetoxgr=pd.array([grade], dtype="Int64"), aestdt=[date])


def test_ae_grade_against_same_day_anc():
    cbc = frame(lbdtc=["2026-03-01"], anc=[0.4], plt=[200.0], wbc=[2.0], lym=[1.0], hgb=[12.0])
    assert ctcae_findings(_ae("Neutrophil count decreased", 4), cbc, set(), locate) == []
    found = ctcae_findings(_ae("Neutrophil count decreased", 2), cbc, set(), locate)
    assert [(f.rule_id, f.expected) for f in found] == [("CTCAE-GRADE-CONTRADICTS-LAB", "4")]


def test_ae_grade_without_lab_that_day_is_not_judged():
    cbc = frame(lbdtc=["2026-03-02"], anc=[0.4], plt=[200.0], wbc=[2.0], lym=[1.0], hgb=[12.0])
    assert ctcae_findings(_ae("Neutrophil count decreased", 1), cbc, set(), locate) == []


def test_terms_and_grades_from_the_ctcae_list():
    assert [f.rule_id for f in ctcae_findings(_ae("Pneumonia", 3), None, set(), locate)] == ["CTCAE-TERM-UNKNOWN"]
    # Investigations terms have no grade 5
    found = ctcae_findings(_ae("Neutrophil count decreased", 5), None, {"DLIPRO-S01-01-000"}, locate)
    assert [f.rule_id for f in found] == ["CTCAE-GRADE-NOT-DEFINED"]
    found = ctcae_findings(_ae("Sepsis", 5), None, set(), locate)
    assert [f.rule_id for f in found] == ["AE-GRADE5-WITHOUT-DEATH"]
    assert ctcae_findings(_ae("Sepsis", 5), None, {"DLIPRO-S01-01-000"}, locate) == []


def test_schema_guard_turns_failures_into_findings():
    bad = _agvhd(upper_gi_stage=pd.array([2], dtype="Int64"))
    for col in ("study", "site", "subjid", "usubjid", "row_id"):
        bad[col] = bad[col].astype("string")
    bad["assessment_date"] = pd.Series(["2026-01-01"], dtype="string")
    found = _schema_findings("agvhd", bad)
    assert [(f.rule_id, f.field) for f in found] == [("SCHEMA-CHECK-FAILED", "upper_gi_stage")]
