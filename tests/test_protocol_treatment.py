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
    assert not findings["rule_id"].isin(["PD-CHEMO-REGIMEN", "PD-IST-DURATION"]).any()
