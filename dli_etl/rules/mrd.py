"""Measurable residual disease results as labs report them, and positivity against a protocol threshold.

Numbers ("0.35%"), censored values ("<0.01%", "<1e-4"), qualitative results in English or Chinese
(阴性/阳性, negative/positive, not detected) are all kept; a value above 100% is impossible. Positivity
depends on method and marker (clinical.md 4.2: Chinese MFC practice >= 0.01%; WT1 > 0.6%), so the
thresholds are study parameters, not constants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

_NEGATIVE = {"阴性", "negative", "neg", "not detected", "undetectable", "未检出", "未检测到", "-"}
_POSITIVE = {"阳性", "positive", "pos", "detected", "+"}
_NUMBER = re.compile(r"^(?P<censor>[<>≤≥]=?)?\s*(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(?P<pct>%)?$")


@dataclass(frozen=True)
class MrdResult:
    value_pct: float | None
    censor: str  # "<", ">" or ""
    qualitative: str | None  # POSITIVE / NEGATIVE when reported as words
    problem: str | None = None


def parse_mrd_result(text: str | None) -> MrdResult:
    """One reported MRD result; percentages are kept as percent (0.01 = 0.01%)."""
    if text is None or str(text).strip() == "":
        return MrdResult(None, "", None, "missing")
    words = " ".join(str(text).split()).casefold()
    value = str(text).strip().replace("％", "%").replace(" ", "")
    lowered = words
    if lowered in _NEGATIVE:
        return MrdResult(None, "", "NEGATIVE")
    if lowered in _POSITIVE:
        return MrdResult(None, "", "POSITIVE")
    match = _NUMBER.match(value)
    if not match:
        return MrdResult(None, "", None, "not a readable MRD result")
    number = float(match.group("num"))
    censor = {"<": "<", "≤": "<", "<=": "<", ">": ">", "≥": ">", ">=": ">"}.get(match.group("censor") or "", "")
    if number > 100:
        return MrdResult(number, censor, None, "above 100%")
    return MrdResult(number, censor, None)


def mrd_positivity(result: MrdResult, threshold_pct: float) -> str | None:
    """POSITIVE / NEGATIVE against ``threshold_pct``; None when the result cannot say (e.g. "<0.1%" vs 0.01%)."""
    if result.qualitative:
        return result.qualitative
    if result.value_pct is None or result.problem:
        return None
    if result.censor == "<":
        return "NEGATIVE" if result.value_pct <= threshold_pct else None
    return "POSITIVE" if result.value_pct >= threshold_pct else "NEGATIVE"


def mrd_positivity_column(mrd: pd.DataFrame, thresholds_pct: dict[str, float]) -> pd.Series:
    """POSITIVE / NEGATIVE / <NA> per row from the parsed result columns and the method's threshold."""

    out = []
    for value, censor, qual, method in zip(mrd["mrd_result_pct"], mrd["mrd_result_censor"], mrd["mrd_result_qual"],
                                           mrd["mrd_method"], strict=True):
        threshold = thresholds_pct.get(str(method)) if pd.notna(method) else None
        if threshold is None and (pd.isna(qual) or qual is None):
            out.append(None)
            continue
        result = MrdResult(None if pd.isna(value) else float(value), "" if pd.isna(censor) else str(censor),
                           None if pd.isna(qual) else str(qual))
        out.append(mrd_positivity(result, threshold or 0.0))
    return pd.Series(out, index=mrd.index, dtype="string")
