"""Numbers as sites write them (declared separators, ambiguity refused), censored lab results, and the
MRD unit a profile declares."""

from __future__ import annotations

import pandas as pd
import pytest

from dli_etl.harmonize.fields import standardize_lab, standardize_number
from dli_etl.harmonize.site_numbers import AMBIGUOUS, INVALID, OK, parse_site_number, parse_site_numbers
from dli_etl.rules.mrd import mrd_positivity, parse_mrd_result
from dli_etl.sdtm.findings_domains import build_lb
from dli_etl.specs import load_spec


@pytest.mark.parametrize(("text", "decimal", "thousands", "expected"), [
    ("1,500", None, None, (None, AMBIGUOUS)),  # 1.5 or 1500: never guessed
    ("1,500", ".", ",", (1500.0, OK)),
    ("1,500", ",", ".", (1.5, OK)),
    ("1.500,5", ",", ".", (1500.5, OK)),
    ("1,5", None, None, (1.5, OK)),  # only one reading: a decimal comma
    ("1,234.5", None, None, (1234.5, OK)),
    ("1.234,5", None, None, (1234.5, OK)),
    ("1 500", None, None, (1500.0, OK)),
    ("12.5", ",", ".", (None, INVALID)),  # a dot where the site declared thousands dots and decimal commas
    ("3.0", ",", None, (None, INVALID)),
    ("1,50", ".", ",", (None, INVALID)),  # not grouped by three
])
def test_site_numbers(text, decimal, thousands, expected):
    assert parse_site_number(text, decimal, thousands) == expected


@pytest.mark.parametrize(("decimal", "thousands"), [(None, None), (".", ","), (",", "."), (",", None), (",", " ")])
def test_a_column_parses_as_each_of_its_values_would(decimal, thousands):
    """The whole-column paths (plain numbers; digits with the declared decimal comma) agree with the
    per-value parse on every value, and leave everything else to it."""
    samples = ["12", "12,5", "-0,5", "+3,25", "12.5", "1,500", "1.500,5", "1 500", "1,234.5", ",5", "5,", "1,2,3",
               "1e3", "abc", "", "  7,25 ", "0,0001", None]
    numbers, status = parse_site_numbers(pd.Series(samples, dtype="string"), decimal, thousands)
    for i, text in enumerate(samples):
        if text is None or text.strip() == "":
            assert pd.isna(numbers[i]) and status[i] == OK
            continue
        number, state = parse_site_number(text, decimal, thousands)
        assert (None if pd.isna(numbers[i]) else float(numbers[i]), status[i]) == (number, state), text


def test_an_ambiguous_number_is_a_finding_not_a_guess():
    result = standardize_number(pd.Series(["1,500", "2.5"]), integer=False)
    assert result.values.isna().tolist() == [True, False]
    assert result.problems["NUMBER-AMBIGUOUS"][0].tolist() == [True, False]


def test_censored_lab_results_keep_their_text_and_no_number():
    units = load_spec("units")
    result = standardize_lab(pd.Series(["<1.7", "17.1", "未检出", "abc"]), "bili", "umol/L", units)
    assert result.values.isna().tolist() == [True, False, True, True]
    assert result.extra["_censored"].tolist()[:3] == ["<0.0994", pd.NA, "NOT DETECTED"]  # 1.7 umol/L / 17.1
    assert result.problems["TYPE-NOT-NUMBER"][0].tolist() == [False, False, False, True]


def test_a_censored_result_reaches_lb_as_character_only():
    chemistry = pd.DataFrame({
        "study": "DLIPRO", "site": "S01", "subjid": "01-001", "usubjid": "DLIPRO-S01-01-001", "lbdtc": "2026-03-01",
        "bili": pd.Series([pd.NA], dtype="Float64"), "bili_orig": "<1.7", "bili_orig_unit": "umol/L",
        "bili_censored": "<0.0994", "src_file": "f", "src_locator": "s!2", "row_id": "r1"})
    dm = pd.DataFrame({"USUBJID": ["DLIPRO-S01-01-001"], "RFSTDTC": ["2026-01-01"]})
    lb = build_lb("DLIPRO", {"chemistry": chemistry}, dm)
    bili = lb[lb["LBTESTCD"] == "BILI"].iloc[0]
    assert (bili["LBORRES"], bili["LBSTRESC"]) == ("<1.7", "<0.0994") and pd.isna(bili["LBSTRESN"])


def test_mrd_declared_as_a_fraction():
    assert parse_mrd_result("0.0002", "fraction").value_pct == pytest.approx(0.02)
    assert parse_mrd_result("0.02%", "fraction").value_pct == pytest.approx(0.02)  # "%" is a percent anyway
    assert parse_mrd_result("0.0002", "percent").value_pct == pytest.approx(0.0002)
    # 1e-4 as a fraction is 0.01%: positive by Chinese MFC practice (>= 0.01%, clinical.md 4.2)
    assert mrd_positivity(parse_mrd_result("0.0001", "fraction"), 0.01, ">=") == "POSITIVE"
    assert parse_mrd_result("1.5", "fraction").problem == "above 100%"
