"""Measurable residual disease results as labs report them, and positivity against a protocol threshold.

Numbers ("0.35%"), censored values ("<0.01%", "<1e-4"), qualitative results in English or Chinese
(阴性/阳性, negative/positive, not detected), and a word with its number ("阳性(0.15%)") are all kept; a
value above 100% is impossible. Positivity depends on method and marker (clinical.md 4.2: Chinese MFC
practice >= 0.01%; WT1 > 0.60%, strictly), so thresholds and their comparison are study parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

_NEGATIVE = {"阴性", "negative", "neg", "not detected", "undetectable", "未检出", "未检测到", "-"}
_POSITIVE = {"阳性", "positive", "pos", "detected", "+"}
_NUMBER = re.compile(r"^(?P<censor>[<>≤≥]=?)?\s*(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(?P<pct>%)?$")
# a qualitative word with the number behind it: 阳性(0.15%), positive (0.02%), 阴性（<0.01%）
_WORD_AND_NUMBER = re.compile(r"^(?P<word>[^\d(（<>≤≥]+?)\s*[(（](?P<number>[^)）]+)[)）]$")


@dataclass(frozen=True)
class MrdResult:
    value_pct: float | None
    censor: str  # "<", ">" or ""
    qualitative: str | None  # POSITIVE / NEGATIVE when reported as words
    problem: str | None = None


def parse_mrd_result(text: str | None, unit: str = "percent") -> MrdResult:
    """One reported MRD result in percent (0.01 = 0.01%). ``unit`` says what a bare number means at this
    site: ``percent``, or ``fraction`` (1e-4 = 0.01%); "%" written beside a number always means percent."""
    if text is None or str(text).strip() == "":
        return MrdResult(None, "", None, "missing")
    words = " ".join(str(text).split()).casefold()
    value = str(text).strip().replace("％", "%").replace(" ", "")
    lowered = words
    if lowered in _NEGATIVE:
        return MrdResult(None, "", "NEGATIVE")
    if lowered in _POSITIVE:
        return MrdResult(None, "", "POSITIVE")
    both = _WORD_AND_NUMBER.match(str(text).strip())
    if both:
        word = " ".join(both.group("word").split()).casefold()
        quality = "NEGATIVE" if word in _NEGATIVE else "POSITIVE" if word in _POSITIVE else None
        number = parse_mrd_result(both.group("number"), unit)
        if quality is not None and number.problem is None and number.qualitative is None:
            return MrdResult(number.value_pct, number.censor, quality)
        return MrdResult(None, "", None, "not a readable MRD result")
    match = _NUMBER.match(value)
    if not match:
        return MrdResult(None, "", None, "not a readable MRD result")
    number = float(match.group("num"))
    if unit == "fraction" and not match.group("pct"):
        number *= 100
    censor = {"<": "<", "≤": "<", "<=": "<", ">": ">", "≥": ">", ">=": ">"}.get(match.group("censor") or "", "")
    if number > 100:
        return MrdResult(number, censor, None, "above 100%")
    return MrdResult(number, censor, None)


def mrd_positivity(result: MrdResult, threshold_pct: float, positive_when: str = ">=") -> str | None:
    """POSITIVE / NEGATIVE against ``threshold_pct`` (``positive_when``: ">=" or ">"); None when the result
    cannot say (e.g. "<0.1%" or ">0.005%" against 0.01%)."""
    if result.qualitative:
        return result.qualitative
    if result.value_pct is None or result.problem:
        return None
    value = result.value_pct
    above = value > threshold_pct if positive_when == ">" else value >= threshold_pct
    if result.censor == "<":
        # "<v": the true value is below v; negative only when everything below v is negative
        return "NEGATIVE" if value <= threshold_pct else None
    if result.censor == ">":
        # ">v": the true value is above v; positive only when everything above v is positive
        return "POSITIVE" if value >= threshold_pct else None
    return "POSITIVE" if above else "NEGATIVE"


def mrd_positivity_column(mrd: pd.DataFrame, rules: dict[str, dict]) -> pd.Series:
    """POSITIVE / NEGATIVE / <NA> per row from the parsed result columns and the method's rule
    (``{method: {threshold_pct, positive_when}}``, ``specs/studies.yaml``)."""
    out = []
    for value, censor, qual, method in zip(mrd["mrd_result_pct"], mrd["mrd_result_censor"], mrd["mrd_result_qual"],
                                           mrd["mrd_method"], strict=True):
        rule = rules.get(str(method)) if pd.notna(method) else None
        if rule is None and (pd.isna(qual) or qual is None):
            out.append(None)
            continue
        result = MrdResult(None if pd.isna(value) else float(value), "" if pd.isna(censor) else str(censor),
                           None if pd.isna(qual) else str(qual))
        threshold = float(rule["threshold_pct"]) if rule else 0.0
        out.append(mrd_positivity(result, threshold, rule.get("positive_when", ">=") if rule else ">="))
    return pd.Series(out, index=mrd.index, dtype="string")
