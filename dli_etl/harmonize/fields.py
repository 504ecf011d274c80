"""Field standardization by type (text, code, date, integer, number, cell_dose), whole columns at a time.

Each function takes a text column and returns the typed column plus a boolean mask per problem; the
form step turns masks into findings. Invalid values become null in the typed column; the original text
stays in the raw layer and in the finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dli_etl.rules.cell_dose import parse_cell_dose
from dli_etl.rules.dates import STATUS_INVALID, STATUS_PARTIAL, parse_date_column


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
    shown = "YYYY-MM-DD" if date_format in (None, "iso") else date_format
    return FieldResult(parsed["iso"], problems={"DATE-INVALID": (invalid, shown), "DATE-PARTIAL": (partial, shown)})


def standardize_number(text: pd.Series, integer: bool) -> FieldResult:
    cleaned = text.astype("string").str.strip().str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(cleaned.where(~blank(cleaned)), errors="coerce")
    bad = (~blank(cleaned) & numbers.isna()).astype(bool)
    if integer:
        whole = numbers.where(numbers.isna() | (numbers % 1 == 0))
        bad = bad | (numbers.notna() & whole.isna())
        return FieldResult(whole.astype("Int64"), problems={"TYPE-NOT-NUMBER": (bad.astype(bool), "")})
    return FieldResult(numbers.astype("Float64"), problems={"TYPE-NOT-NUMBER": (bad.astype(bool), "")})


def standardize_cell_dose(text: pd.Series) -> FieldResult:
    """Doses are few per subject, so a per-value parse is fine; the verbatim text is kept beside the value."""
    parsed = text.astype("string").map(lambda v: parse_cell_dose(None if pd.isna(v) else str(v)))
    values = pd.Series([p.cells_per_kg for p in parsed], index=text.index, dtype="Float64")
    problem = pd.Series([p.problem or "" for p in parsed], index=text.index, dtype="string")
    not_per_kg = pd.Series([p.per_kg is False for p in parsed], index=text.index, dtype=bool)
    unreadable = ((problem != "") & (problem != "missing") & ~not_per_kg).astype(bool)
    return FieldResult(values, extra={"_text": text.astype("string")},
                       problems={"DOSE-NOT-PER-KG": (not_per_kg, problem), "DOSE-UNREADABLE": (unreadable, problem)})
