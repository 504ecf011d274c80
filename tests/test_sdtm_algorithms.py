"""Shared SDTM algorithms: --DY without day 0, --SEQ, variable order."""

import pandas as pd

from dli_etl.sdtm.algorithms import conform, sequence_numbers, study_day
from dli_etl.sdtm.dm import age_in_years


def test_study_day_has_no_day_zero():
    ref = pd.Series(["2026-03-10"] * 4, dtype="string")
    dtc = pd.Series(["2026-03-10", "2026-03-11", "2026-03-09", "2026-02-28"], dtype="string")
    assert study_day(dtc, ref).tolist() == [1, 2, -1, -10]


def test_study_day_is_null_for_partial_dates():
    ref = pd.Series(["2026-03-10", "2026-03"], dtype="string")
    dtc = pd.Series(["2026-03", "2026-03-12"], dtype="string")
    assert study_day(dtc, ref).isna().all()


def test_sequence_numbers_per_subject():
    frame = pd.DataFrame({"USUBJID": ["B", "A", "A", "B", "A"], "D": ["2", "3", "1", "1", "2"]})
    out = sequence_numbers(frame, "USUBJID", ["D"], "EXSEQ")
    assert out.sort_values(["USUBJID", "D"])["EXSEQ"].tolist() == [1, 2, 3, 1, 2]
    assert "EXSEQ" not in frame.columns  # input not mutated


def test_conform_orders_and_adds_variables():
    out = conform(pd.DataFrame({"SEX": ["F"], "USUBJID": ["X-1"], "extra": [1]}), "DM")
    assert list(out.columns[:3]) == ["STUDYID", "DOMAIN", "USUBJID"]
    assert "extra" not in out.columns and out.loc[0, "SEX"] == "F"


def test_age_in_completed_years():
    birth = pd.Series(["1980-06-15", "1980-06-15", "1980-06"], dtype="string")
    ref = pd.Series(["2026-06-14", "2026-06-15", "2026-07-01"], dtype="string")
    ages = age_in_years(birth, ref)
    assert ages.iloc[0] == 45 and ages.iloc[1] == 46 and pd.isna(ages.iloc[2])
