"""CTCAE v5.0 grades of the chemistry terms that depend on the upper limit of normal and on baseline.

From the CTCAE v5.0 sheet as encoded by admiral (``reference/public-data/ctcae-v5/admiral-lab-grading``,
``ncictcaev5.json``) and clinical.md 3.1:

- Blood bilirubin, ALT and AST increased: multiples of ULN when baseline was normal, multiples of
  baseline when baseline was abnormal (above ULN). ALT/AST grade 1 on an abnormal baseline starts at
  1.5 x baseline (inclusive); everything else is strictly above the multiple.
- Creatinine increased: grade 1 by ULN only; grades 2 and 3 by ULN or by baseline, whichever is worse;
  grade 4 by ULN only.

A value that reaches no grade is grade 0; a value that cannot be graded (no ULN where one is needed) is
None. Baseline (our rule, as clinical.md asks): the subject's last result on or before the first DLI
(RFXSTDTC), else on or before the reference start; abnormal when above the site's ULN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

# (multiple, grade, inclusive): the first row the value passes, checked from the highest grade down
Thresholds = tuple[tuple[float, int, bool], ...]


@dataclass(frozen=True)
class ChemistryTerm:
    term: str
    by_uln: Thresholds
    by_abnormal_baseline: Thresholds = ()
    by_any_baseline: Thresholds = ()  # creatinine: applies whatever the baseline was


_ULN_HEPATIC = ((20.0, 4, False), (5.0, 3, False), (3.0, 2, False), (1.0, 1, False))
CHEMISTRY_TERMS: dict[str, ChemistryTerm] = {
    "bili": ChemistryTerm("Blood bilirubin increased",
                          by_uln=((10.0, 4, False), (3.0, 3, False), (1.5, 2, False), (1.0, 1, False)),
                          by_abnormal_baseline=((10.0, 4, False), (3.0, 3, False), (1.5, 2, False), (1.0, 1, False))),
    "alt": ChemistryTerm("Alanine aminotransferase increased", by_uln=_ULN_HEPATIC,
                         by_abnormal_baseline=((20.0, 4, False), (5.0, 3, False), (3.0, 2, False), (1.5, 1, True))),
    "ast": ChemistryTerm("Aspartate aminotransferase increased", by_uln=_ULN_HEPATIC,
                         by_abnormal_baseline=((20.0, 4, False), (5.0, 3, False), (3.0, 2, False), (1.5, 1, True))),
    "creat": ChemistryTerm("Creatinine increased",
                           by_uln=((6.0, 4, False), (3.0, 3, False), (1.5, 2, False), (1.0, 1, False)),
                           by_any_baseline=((3.0, 3, False), (1.5, 2, False))),
}


def _signif(x: float, digits: int = 8) -> float:
    # admiral compares signif(AVAL, 8) with signif(k * limit, 8): 3 x 40 must equal 120, not 120.00000000000001
    return 0.0 if x == 0 else round(x, digits - int(math.floor(math.log10(abs(x)))) - 1)


@cache
def _bound(multiple: float, limit: float) -> float:
    # a lab's ULN repeats on every one of its results: each bound is worked out once
    return _signif(multiple * limit)


def _passes(value: float, limit: float, rows: Thresholds) -> int:
    for multiple, grade, inclusive in rows:
        bound = _bound(multiple, limit)
        if (value >= bound) if inclusive else (value > bound):
            return grade
    return 0


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def ctcae_grade_chemistry(analyte: str, value: float | None, uln: float | None,
                          baseline: float | None = None) -> int | None:
    """CTCAE v5.0 grade of one chemistry result (same unit for value, ULN and baseline)."""
    term = CHEMISTRY_TERMS[analyte]
    if _missing(value):
        return None
    value = _signif(float(value))
    if term.by_any_baseline:
        grades = []
        if not _missing(uln):
            grades.append(_passes(value, float(uln), term.by_uln))
        if not _missing(baseline) and float(baseline) > 0:
            grades.append(_passes(value, float(baseline), term.by_any_baseline))
        return max(grades) if grades else None
    if _missing(uln):
        return None
    if not _missing(baseline) and float(baseline) > float(uln):
        return _passes(value, float(baseline), term.by_abnormal_baseline)
    return _passes(value, float(uln), term.by_uln)


def reference_range_indicator(value: float | None, low: float | None, high: float | None) -> str | None:
    """LBNRIND: LOW / NORMAL / HIGH against the site's reference range; None without a range or value."""
    if _missing(value) or (_missing(low) and _missing(high)):
        return None
    if not _missing(low) and value < low:
        return "LOW"
    if not _missing(high) and value > high:
        return "HIGH"
    return "NORMAL"
