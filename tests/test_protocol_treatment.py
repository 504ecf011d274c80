"""Study A protocol checks on treatment (NCT07319793, ../shared/seeds): pre-DLI chemotherapy limited to
HAA, AA, HA or VA; post-DLI cyclosporine A / methotrexate for 4-6 weeks after a matched transplant and
6-8 weeks after a haploidentical one."""

from __future__ import annotations

import pandas as pd
import pytest

from dli_etl.rules.chemo_regimen import regimen_findings
from dli_etl.rules.ist_duration import ist_duration_findings
from dli_etl.specs import load_spec

PARAMS = load_spec("studies")["DLIPRO"]


def _frame(rows, columns):
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(study="DLIPRO", site="S01", subjid=frame["usubjid"], src_file="f", src_sha256="",
                        src_locator="", row_id=[f"r{i}" for i in range(len(frame))])


@pytest.mark.parametrize(("regimen", "deviation"), [("HAA", False), ("AA", False), ("HA", False), ("VA", False),
                                                    ("FLAG", True), ("AZA+VEN", True)])
def test_chemotherapy_regimens(regimen, deviation):
    chemo = _frame([("A", regimen)], ["usubjid", "regimen"])
    found = regimen_findings(chemo, PARAMS["chemo_regimens"], lambda row, field: "")
    assert bool(found) is deviation


TRANSPLANT = pd.DataFrame({"usubjid": ["M", "H"], "donor_type": ["MATCHED", "HAPLOIDENTICAL"]})
FOLLOWUP = pd.DataFrame({"usubjid": ["M", "H"], "last_contact": ["2027-01-01", "2027-01-01"],
                         "death_date": [pd.NA, pd.NA]})


@pytest.mark.parametrize(("subject", "end", "deviation"), [
    ("M", "2026-01-27", True),   # 27 days: under 4 weeks
    ("M", "2026-01-28", False),  # 28 days = 4 weeks
    ("M", "2026-02-11", False),  # 42 days = 6 weeks
    ("M", "2026-02-12", True),   # 43 days
    ("H", "2026-02-10", True),   # 41 days: under 6 weeks after a haploidentical transplant
    ("H", "2026-02-11", False),  # 6 weeks
    ("H", "2026-02-25", False),  # 56 days = 8 weeks
    ("H", "2026-02-26", True),   # 57 days
])
def test_immunosuppression_weeks_by_donor_type(subject, end, deviation):
    ist = _frame([(subject, "2026-01-01", end)], ["usubjid", "ist_start", "ist_end"])
    found = ist_duration_findings(ist, TRANSPLANT, FOLLOWUP, PARAMS["ist_weeks"], lambda row, field: "")
    assert bool(found) is deviation


def test_a_course_cut_short_by_the_end_of_follow_up_is_not_judged():
    followup = FOLLOWUP.assign(death_date=["2026-01-20", pd.NA])
    ist = _frame([("M", "2026-01-01", "2026-01-20")], ["usubjid", "ist_start", "ist_end"])
    assert ist_duration_findings(ist, TRANSPLANT, followup, PARAMS["ist_weeks"], lambda row, field: "") == []


def test_clean_generated_data_has_no_treatment_deviation(generated_clean):
    from dli_etl.pipeline import harmonize, ingest

    findings = harmonize(ingest("DLIPRO", generated_clean.landing)).findings
    assert not findings["rule_id"].isin(["PD-CHEMO-REGIMEN", "PD-IST-DURATION", "PD-ELIG-EARLY-COMPLICATION"]).any()


# Eligibility (Study A): "no evidence of GVHD or controlled GVHD, no severe infections, and no organ failure
# within 30-60 days post-transplant", as known when the subject is randomized. HSCT on 2026-01-01 (day 0).
WINDOW = PARAMS["early_window"]
EARLY_TRANSPLANT = pd.DataFrame({"usubjid": ["E"], "hsctdt": ["2026-01-01"]})


def _early(ae_rows=(), gvhd_rows=(), randomized_day=62):
    from dli_etl.rules.eligibility import early_window_findings

    day = lambda n: (pd.Timestamp("2026-01-01") + pd.Timedelta(days=n)).strftime("%Y-%m-%d")  # noqa: E731
    ae = _frame([("E", term, day(start), day(end) if end is not None else None, grade, category)
                 for term, start, end, grade, category in ae_rows],
                ["usubjid", "aeterm", "aestdt", "aeendt", "aetoxgr", "infection_category"])
    gvhd = _frame([("E", day(d), g) for d, g in gvhd_rows], ["usubjid", "assessment_date", "magic_overall_grade"])
    randomization = pd.DataFrame({"usubjid": ["E"], "randdt": [day(randomized_day)]})
    return early_window_findings(EARLY_TRANSPLANT, randomization, ae, gvhd, WINDOW, lambda form: lambda row, f: "")


@pytest.mark.parametrize(("ae", "deviation"), [
    (("Sepsis", 30, 40, 3, "BACTERIAL"), True),         # severe (CTCAE grade 3) on day +30
    (("Sepsis", 60, 70, 4, "BACTERIAL"), True),         # day +60 is in the window
    (("Sepsis", 61, 70, 4, "BACTERIAL"), False),        # day +61 is not
    (("Sepsis", 10, 29, 3, "BACTERIAL"), False),        # over by day +29
    (("Sepsis", 10, 30, 3, "BACTERIAL"), True),         # still going on day +30
    (("Sepsis", 10, None, 3, "BACTERIAL"), True),       # no end date: going on
    (("Lung infection", 40, 50, 2, "FUNGAL"), False),   # grade 2 is not severe
    (("Multi-organ failure", 45, 50, 4, None), True),   # organ failure
    (("Anemia", 45, 50, 4, None), False),               # severe, but neither infection nor organ failure
])
def test_severe_infection_or_organ_failure_on_day_30_to_60(ae, deviation):
    found = _early(ae_rows=[ae])
    assert bool(found) is deviation
    if found:
        assert found[0].rule_id == "PD-ELIG-EARLY-COMPLICATION" and found[0].form == "adverse_event"


@pytest.mark.parametrize(("grade", "deviation"), [(0, False), (1, False), (2, False), (3, True), (4, True)])
def test_uncontrolled_acute_gvhd_is_magic_grade_3_or_4(grade, deviation):
    assert bool(_early(gvhd_rows=[(45, grade)])) is deviation


def test_an_event_after_randomization_is_an_outcome_not_an_eligibility_deviation():
    assert _early(ae_rows=[("Sepsis", 44, 50, 5, "BACTERIAL")], gvhd_rows=[(44, 3)], randomized_day=35) == []
    assert len(_early(ae_rows=[("Sepsis", 35, 50, 3, "BACTERIAL")], gvhd_rows=[(35, 3)], randomized_day=35)) == 2
