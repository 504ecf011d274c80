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


def test_with_visits_takes_the_narrowest_visit_holding_the_date_of_the_same_subject():
    from dli_etl.sdtm.special_purpose import with_visits

    sv = pd.DataFrame({"USUBJID": ["A", "A", "B", "B"], "VISITNUM": [1.0, 2.0, 1.0, 3.0],
                       "VISIT": ["SCREENING", "DLI 1", "SCREENING", "FOLLOW-UP"],
                       "SVSTDTC": ["2026-01-01", "2026-01-10", "2026-03-01", "2026-03-05"],
                       "SVENDTC": ["2026-01-31", "2026-01-12", "2026-03-31", "2026-03-05"]})
    lb = pd.DataFrame({"USUBJID": ["A", "A", "A", "B", "B", "C", "A"],
                       "LBDTC": ["2026-01-11T08:00", "2026-01-31", "2026-02-01", "2026-03-05", "2026-01-11",
                                 "2026-01-11", "2026-01"]}, index=[10, 11, 12, 13, 14, 15, 16])
    got = with_visits(lb, sv, "LBDTC")
    # A on 11 Jan: both of A's visits hold it and DLI 1 is narrower; 31 Jan: the end day is inside;
    # 1 Feb: between visits; B on 5 Mar: the one-day visit; B on 11 Jan: only A's visit holds that day;
    # C has no visits; a partial date takes none
    assert got["VISITNUM"].tolist() == [2.0, 1.0, pd.NA, 3.0, pd.NA, pd.NA, pd.NA]
    assert got["VISIT"].tolist() == ["DLI 1", "SCREENING", pd.NA, "FOLLOW-UP", pd.NA, pd.NA, pd.NA]
    assert got.index.tolist() == lb.index.tolist() and "VISITNUM" not in lb.columns
