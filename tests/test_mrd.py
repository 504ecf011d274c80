"""MRD results as labs write them, and positivity against the protocol threshold (clinical.md 4.2)."""

import pytest

from dli_etl.rules.mrd import MrdResult, mrd_positivity, parse_mrd_result


@pytest.mark.parametrize(("text", "value", "censor", "qual", "problem"), [
    ("0.35%", 0.35, "", None, None), ("0.35", 0.35, "", None, None), ("<0.01%", 0.01, "<", None, None),
    ("≤0.01%", 0.01, "<", None, None), ("1e-2%", 0.01, "", None, None), ("阴性", None, "", "NEGATIVE", None),
    ("阳性", None, "", "POSITIVE", None), ("Negative", None, "", "NEGATIVE", None), ("not detected", None, "", "NEGATIVE", None),
    ("100%", 100.0, "", None, None), ("100.1%", 100.1, "", None, "above 100%"), (">100%", 100.0, ">", None, None),
    ("150%", 150.0, "", None, "above 100%"), ("few cells", None, "", None, "not a readable MRD result"),
    ("", None, "", None, "missing"),
])
def test_parse(text, value, censor, qual, problem):
    assert parse_mrd_result(text) == MrdResult(value, censor, qual, problem)


@pytest.mark.parametrize(("text", "threshold", "expected"), [
    ("0.01%", 0.01, "POSITIVE"),   # Chinese MFC practice: any LAIP >= 0.01% is positive
    ("0.009%", 0.01, "NEGATIVE"),
    ("<0.01%", 0.01, "NEGATIVE"),
    ("<0.1%", 0.01, None),         # a censored value above the threshold cannot say
    ("0.59%", 0.6, "NEGATIVE"),
    ("0.05%", 0.1, "NEGATIVE"),    # the same value under the ELN flow threshold
    ("阳性", 0.01, "POSITIVE"),
])
def test_positivity_against_threshold(text, threshold, expected):
    assert mrd_positivity(parse_mrd_result(text), threshold) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("0.60%", "NEGATIVE"),   # clinical.md 4.2: WT1 (BM) > 0.60% is positive, so 0.60% itself is not
    ("0.61%", "POSITIVE"),
    ("0.59%", "NEGATIVE"),
])
def test_wt1_positivity_is_strictly_above_060(text, expected):
    assert mrd_positivity(parse_mrd_result(text), 0.6, ">") == expected


def test_flow_positivity_includes_001():
    # clinical.md 4.2: any LAIP >= 0.01% is positive
    assert mrd_positivity(parse_mrd_result("0.01%"), 0.01, ">=") == "POSITIVE"


def test_a_lower_bound_is_not_negative():
    # ">0.005%": above 0.005% but possibly above 0.01% too: it cannot be called negative
    assert mrd_positivity(parse_mrd_result(">0.005%"), 0.01) is None
    assert mrd_positivity(parse_mrd_result(">0.02%"), 0.01) == "POSITIVE"


@pytest.mark.parametrize(("text", "value", "censor", "qual"), [
    ("阳性(0.15%)", 0.15, "", "POSITIVE"), ("阳性（0.50%）", 0.5, "", "POSITIVE"),
    ("阴性(<0.01%)", 0.01, "<", "NEGATIVE"), ("positive (0.02%)", 0.02, "", "POSITIVE"),
])
def test_word_with_its_number_is_read(text, value, censor, qual):
    assert parse_mrd_result(text) == MrdResult(value, censor, qual)
    assert mrd_positivity(parse_mrd_result(text), 0.01) == qual


def test_impossible_value_has_no_positivity():
    assert mrd_positivity(parse_mrd_result("150%"), 0.01) is None
