"""Field standardization by type (text, code, date, integer, number, cell_dose), whole columns at a time.

Each function takes a text column and returns the typed column plus a boolean mask per problem; the
form step turns masks into findings. Invalid values become null in the typed column; the original text
stays in the raw layer and in the finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from dli_etl.harmonize.site_numbers import AMBIGUOUS, INVALID, parse_site_number, parse_site_numbers
from dli_etl.membership import is_in
from dli_etl.rules.cell_dose import parse_cell_dose
from dli_etl.rules.dates import (
    STATUS_AMBIGUOUS,
    STATUS_INVALID,
    STATUS_PARTIAL,
    date_pattern,
    parse_date_column,
)
from dli_etl.rules.mrd import parse_mrd_result


@dataclass
class FieldResult:
    """Typed values plus problem masks: rule id -> (mask, detail per row or one detail)."""

    values: pd.Series
    extra: dict[str, pd.Series] = field(default_factory=dict)
    problems: dict[str, tuple[pd.Series, pd.Series | str]] = field(default_factory=dict)


def blank(text: pd.Series) -> pd.Series:
    return (text.isna() | (text.astype("string").str.strip() == "")).astype(bool)


def standardize_code(text: pd.Series, codelist: dict[str, str], site_map: dict[str, str]) -> FieldResult:
    """Site codes first (exact), then the shared codelist (case-insensitive)."""
    stripped = text.astype("string").str.strip()
    mapped = stripped.map(lambda v: site_map.get(v, v) if isinstance(v, str) else v).astype("string")
    upper_list = {k.upper(): v for k, v in codelist.items()}
    canonical = mapped.str.upper().map(upper_list).astype("string")
    unmapped = (~blank(stripped) & canonical.isna()).astype(bool)
    return FieldResult(canonical, problems={"CT-UNMAPPED": (unmapped, ", ".join(sorted(set(codelist.values()))))})


def standardize_date(text: pd.Series, date_format: str | None) -> FieldResult:
    parsed = parse_date_column(text, date_format)
    invalid = (parsed["status"] == STATUS_INVALID).astype(bool)
    partial = (parsed["status"] == STATUS_PARTIAL).astype(bool)
    ambiguous = (parsed["status"] == STATUS_AMBIGUOUS).astype(bool)
    shown = date_pattern(date_format)
    return FieldResult(parsed["iso"], problems={
        "DATE-INVALID": (invalid, shown), "DATE-PARTIAL": (partial, shown),
        "DATE-AMBIGUOUS": (ambiguous, f"two-digit year; the site writes {shown}")})


def standardize_number(text: pd.Series, integer: bool, decimal: str | None = None,
                       thousands: str | None = None) -> FieldResult:
    """Numbers with the site's declared separators; "1,500" without a declaration is ambiguous, not 1.5."""
    numbers, status = parse_site_numbers(text, decimal, thousands)
    ambiguous = (status == AMBIGUOUS).astype(bool)
    bad = (status == INVALID).astype(bool)
    declared = f"decimal {decimal!r}, thousands {thousands!r}" if decimal else "no separators declared"
    problems: dict[str, tuple[pd.Series, pd.Series | str]] = {"NUMBER-AMBIGUOUS": (ambiguous, declared)}
    if integer:
        whole = numbers.where(numbers.isna() | (numbers % 1 == 0))
        bad = bad | (numbers.notna() & whole.isna()).astype(bool)
        return FieldResult(whole.astype("Int64"), problems={"TYPE-NOT-NUMBER": (bad.astype(bool), ""), **problems})
    return FieldResult(numbers.astype("Float64"), problems={"TYPE-NOT-NUMBER": (bad, ""), **problems})


def standardize_cell_dose(text: pd.Series) -> FieldResult:
    """Doses are few per subject, so a per-value parse is fine; the verbatim text is kept beside the value."""
    parsed = text.astype("string").map(lambda v: parse_cell_dose(None if pd.isna(v) else str(v)))
    values = pd.Series([p.cells_per_kg for p in parsed], index=text.index, dtype="Float64")
    problem = pd.Series([p.problem or "" for p in parsed], index=text.index, dtype="string")
    not_per_kg = pd.Series([p.per_kg is False for p in parsed], index=text.index, dtype=bool)
    unreadable = ((problem != "") & (problem != "missing") & ~not_per_kg).astype(bool)
    return FieldResult(values, extra={"_text": text.astype("string")},
                       problems={"DOSE-NOT-PER-KG": (not_per_kg, problem), "DOSE-UNREADABLE": (unreadable, problem)})


def standardize_plerixafor_dose(text: pd.Series) -> FieldResult:
    """A plerixafor dose in ug/kg from what the site wrote (ug, µg, mcg or mg per kg); the text is kept."""
    from dli_etl.rules.plerixafor import parse_plerixafor_dose

    parsed = text.astype("string").map(lambda v: parse_plerixafor_dose(None if pd.isna(v) else str(v)))
    values = pd.Series([p.ug_per_kg for p in parsed], index=text.index, dtype="Float64")
    problem = pd.Series([p.problem or "" for p in parsed], index=text.index, dtype="string")
    not_per_kg = problem.str.startswith("unit ").fillna(False).astype(bool)
    unreadable = ((problem != "") & (problem != "missing") & ~not_per_kg).astype(bool)
    return FieldResult(values, extra={"_text": text.astype("string")},
                       problems={"DOSE-NOT-PER-KG": (not_per_kg, problem), "DOSE-UNREADABLE": (unreadable, problem)})


def _convert(values: pd.Series, rule: str) -> pd.Series:
    op, number = rule[0], float(rule[1:])
    return values / number if op == "/" else values * number


def standardize_lab(text: pd.Series, analyte: str, source_unit: str | None, units_spec: dict,
                    decimal: str | None = None, thousands: str | None = None,
                    reference_range: tuple[float, float] | None = None) -> FieldResult:
    """A lab value in the analyte's canonical unit (e.g. Hb g/L -> g/dL, bilirubin umol/L -> mg/dL), with
    the site's reference range as reported (``_orig_lo``/``_orig_hi``) and converted (``_lo``/``_hi``)."""
    spec = units_spec[analyte]
    number = standardize_number(text, integer=False, decimal=decimal, thousands=thousands)
    unit = source_unit or spec["unit"]
    rule = spec["convert"].get(unit)
    low, high = (float(x) for x in spec["plausible"])
    if rule is None:
        unknown = (~blank(text)).astype(bool)
        return FieldResult(pd.Series(pd.NA, index=text.index, dtype="Float64"),
                           problems={**number.problems, "UNIT-UNKNOWN": (unknown, unit)})
    values = _convert(number.values, rule).round(4)
    implausible = (values.notna() & ((values < low) | (values > high))).fillna(False).astype(bool)
    censored = censored_lab_text(text, rule, decimal, thousands)
    is_censored = censored.notna().astype(bool)
    problems = {k: (mask & ~is_censored, detail) for k, (mask, detail) in number.problems.items()}
    extra = {"_orig": text.astype("string"), "_orig_unit": pd.Series(unit, index=text.index, dtype="string"),
             "_censored": censored}
    if reference_range is not None:
        for suffix, limit in (("_lo", reference_range[0]), ("_hi", reference_range[1])):
            extra["_orig" + suffix] = pd.Series(limit, index=text.index, dtype="Float64")
            extra[suffix] = _convert(extra["_orig" + suffix], rule).round(4)
    return FieldResult(values.where(~implausible), extra=extra,
                       problems={**problems, "LAB-IMPLAUSIBLE": (implausible, f"{low:g}-{high:g} {spec['unit']}")})


_CENSORED = re.compile(r"^\s*(?P<sign><=|>=|[<>≤≥])\s*(?P<num>[\d.,' ]+)\s*$")
_NOT_DETECTED = {"未检出", "未检测到", "not detected", "undetectable", "nd", "阴性", "negative"}


def censored_lab_text(text: pd.Series, rule: str, decimal: str | None = None,
                      thousands: str | None = None) -> pd.Series:
    """A result below or above what the assay measures ("<0.1", "≥500", "未检出"), in the canonical unit
    ("<0.0058", "NOT DETECTED"); null for an ordinary number. Such a result has no LBSTRESN, only LBSTRESC."""
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    strings = text.astype("string")
    # only a value with a comparison sign or a not-detected word can be censored: the rest is never parsed
    candidates = (strings.str.contains(r"[<>≤≥]", regex=True)
                  | is_in(strings.str.strip().str.casefold(), _NOT_DETECTED)).fillna(False).astype(bool)
    for idx, value in strings[candidates].items():
        words = " ".join(str(value).split()).casefold()
        if words in _NOT_DETECTED:
            out[idx] = "NOT DETECTED"
            continue
        match = _CENSORED.match(str(value))
        if match:
            number, status = parse_site_number(match.group("num").strip(), decimal, thousands)
            if number is not None:
                sign = {"≤": "<=", "≥": ">="}.get(match.group("sign"), match.group("sign"))
                converted = _convert(pd.Series([number], dtype="Float64"), rule).round(4).iloc[0]
                out[idx] = f"{sign}{float(converted):g}"
    return out


def standardize_mrd(text: pd.Series, unit: str = "percent") -> FieldResult:
    """MRD results: value in percent, censoring sign, qualitative result; >100% and unreadable reported.

    ``unit``: what a bare number means at this site, ``percent`` (0.01 = 0.01%) or ``fraction``
    (0.0001 = 0.01%); a number written with "%" is a percent either way."""
    parsed = text.astype("string").map(lambda v: parse_mrd_result(None if pd.isna(v) else str(v), unit))
    value = pd.Series([p.value_pct if not p.problem else None for p in parsed], index=text.index, dtype="Float64")
    problem = pd.Series([p.problem or "" for p in parsed], index=text.index, dtype="string")
    return FieldResult(
        text.astype("string"),
        extra={"_text": text.astype("string"), "_pct": value,
               "_censor": pd.Series([p.censor for p in parsed], index=text.index, dtype="string"),
               "_qual": pd.Series([p.qualitative for p in parsed], index=text.index, dtype="string")},
        problems={"MRD-IMPOSSIBLE": ((problem == "above 100%").astype(bool), ""),
                  "MRD-UNREADABLE": ((problem == "not a readable MRD result").astype(bool), "")},
    )
