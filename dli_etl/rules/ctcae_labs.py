"""CTCAE v5.0 grades for the haematology and chemistry terms the DLI studies collect.

Haematology thresholds are absolute (x10^9/L, g/dL) and do not depend on baseline; grade 1 needs the
site's lower limit of normal (LLN). Chemistry terms are graded against the upper limit of normal (ULN)
for a subject whose baseline was normal. Source: ``reference/clinical.md`` section 3.1.
"""

from __future__ import annotations

# term -> (grade-2 upper bound, grade-3 upper bound, grade-4 upper bound); values strictly below a bound
# reach that grade. Grade 1 is "< LLN" down to the grade-2 bound.
_DECREASE_TERMS: dict[str, tuple[float, float, float]] = {
    "Neutrophil count decreased": (1.5, 1.0, 0.5),
    "Platelet count decreased": (75.0, 50.0, 25.0),
    "White blood cell decreased": (3.0, 2.0, 1.0),
    "Lymphocyte count decreased": (0.8, 0.5, 0.2),
}

# term -> ULN multiples whose exceedance reaches grade 2, 3, 4 (grade 1 is > ULN).
_INCREASE_TERMS: dict[str, tuple[float, float, float]] = {
    "Blood bilirubin increased": (1.5, 3.0, 10.0),
    "Alanine aminotransferase increased": (3.0, 5.0, 20.0),
    "Aspartate aminotransferase increased": (3.0, 5.0, 20.0),
    "Creatinine increased": (1.5, 3.0, 6.0),
}


def _grade_decrease(value: float, lln: float | None, bounds: tuple[float, float, float]) -> int | None:
    g2, g3, g4 = bounds
    if value < g4:
        return 4
    if value < g3:
        return 3
    if value < g2:
        return 2
    if lln is None:
        return None  # grade 1 is undeterminable without the site's LLN
    return 1 if value < lln else 0


def ctcae_grade_decrease(term: str, value: float, lln: float | None) -> int | None:
    """Grade a 'count decreased' term (x10^9/L). ``None`` when grade 0/1 cannot be told without LLN."""
    return _grade_decrease(value, lln, _DECREASE_TERMS[term])


def ctcae_grade_from_anc(anc_1e9_l: float, lln: float | None = None) -> int | None:
    """Neutrophil count decreased grade from ANC in x10^9/L."""
    return _grade_decrease(anc_1e9_l, lln, _DECREASE_TERMS["Neutrophil count decreased"])


# CTCAE v5.0 prints the anemia bounds in each unit (grade 2 below the first, grade 3 below the second):
# grading a mmol/L value after conversion to g/dL would move the exact boundaries (4.9 mmol/L x 1.611 =
# 7.89 g/dL, grade 3, where CTCAE says grade 2), so a value is graded in the unit it was reported in.
ANEMIA_BOUNDS = {"g/dL": (10.0, 8.0), "g/L": (100.0, 80.0), "mmol/L": (6.2, 4.9)}


def ctcae_grade_anemia(hgb: float, lln: float | None, unit: str = "g/dL") -> int | None:
    """Anemia grade from haemoglobin in ``unit`` (g/dL, g/L or mmol/L); grade 4 needs clinical context,
    so 3 is the lab maximum."""
    g2, g3 = ANEMIA_BOUNDS[unit]
    if hgb < g3:
        return 3
    if hgb < g2:
        return 2
    if lln is None:
        return None
    return 1 if hgb < lln else 0


def ctcae_grade_increase(term: str, value: float, uln: float) -> int:
    """Grade an 'increased' chemistry term against ULN (baseline normal)."""
    g2, g3, g4 = _INCREASE_TERMS[term]
    ratio = value / uln
    if ratio > g4:
        return 4
    if ratio > g3:
        return 3
    if ratio > g2:
        return 2
    return 1 if ratio > 1.0 else 0
