"""CTCAE v5.0 lab grades at the published thresholds (clinical.md section 3.1)."""

import pytest

from dli_etl.rules.ctcae_labs import (
    ctcae_grade_anemia,
    ctcae_grade_decrease,
    ctcae_grade_from_anc,
    ctcae_grade_increase,
)


@pytest.mark.parametrize(("anc", "grade"), [(1.8, 1), (1.5, 1), (1.49, 2), (1.0, 2), (0.99, 3), (0.5, 3), (0.49, 4)])
def test_neutrophil_count_decreased(anc, grade):
    assert ctcae_grade_from_anc(anc, lln=2.0) == grade


def test_grade_1_needs_lln():
    assert ctcae_grade_from_anc(1.8, lln=None) is None
    assert ctcae_grade_from_anc(1.2, lln=None) == 2


@pytest.mark.parametrize(("term", "value", "grade"), [
    ("Platelet count decreased", 75, 1), ("Platelet count decreased", 74, 2), ("Platelet count decreased", 50, 2),
    ("Platelet count decreased", 49, 3), ("Platelet count decreased", 25, 3), ("Platelet count decreased", 24, 4),
    ("White blood cell decreased", 3.0, 1), ("White blood cell decreased", 2.9, 2), ("White blood cell decreased", 1.9, 3),
    ("White blood cell decreased", 0.9, 4),
    ("Lymphocyte count decreased", 0.8, 1), ("Lymphocyte count decreased", 0.79, 2),
    ("Lymphocyte count decreased", 0.49, 3), ("Lymphocyte count decreased", 0.19, 4),
])
def test_count_decreased_terms(term, value, grade):
    assert ctcae_grade_decrease(term, value, lln=1000) == grade


@pytest.mark.parametrize(("hgb", "grade"), [(10.0, 1), (9.9, 2), (8.0, 2), (7.9, 3)])
def test_anemia(hgb, grade):
    assert ctcae_grade_anemia(hgb, lln=12.0) == grade


@pytest.mark.parametrize(("term", "ratio", "grade"), [
    ("Blood bilirubin increased", 1.5, 1), ("Blood bilirubin increased", 1.51, 2), ("Blood bilirubin increased", 3.01, 3),
    ("Blood bilirubin increased", 10.01, 4), ("Alanine aminotransferase increased", 3.0, 1),
    ("Alanine aminotransferase increased", 3.01, 2), ("Alanine aminotransferase increased", 5.01, 3),
    ("Alanine aminotransferase increased", 20.01, 4), ("Creatinine increased", 1.51, 2), ("Creatinine increased", 6.01, 4),
    ("Aspartate aminotransferase increased", 1.0, 0),
])
def test_increase_terms_against_uln(term, ratio, grade):
    assert ctcae_grade_increase(term, ratio * 40.0, uln=40.0) == grade
