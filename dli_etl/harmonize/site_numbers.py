"""Numbers as sites write them: "1,500", "1.500,5", "1 500", "1,5".

A site profile declares its decimal and thousands separators. Without a declaration, a comma is read
the only way the text allows ("1,5" has a decimal comma, "1,234.5" a thousands comma) and "1,500" (one
separator followed by exactly three digits) is ambiguous: 1.5 or 1500 is a guess we never make.
"""

from __future__ import annotations

import re

import pandas as pd

OK, INVALID, AMBIGUOUS = "ok", "invalid", "ambiguous"
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SEPARATED = re.compile(r"^[+-]?\d[\d.,' \u00a0\u202f]*$")
_SPACES = (" ", "\u00a0", "\u202f")


def _grouped(integer_part: str, thousands: str) -> bool:
    """Whether ``integer_part`` is digits grouped by three with ``thousands`` ("1,234,567")."""
    groups = integer_part.lstrip("+-").split(thousands)
    return len(groups) > 1 and 1 <= len(groups[0]) <= 3 and all(len(g) == 3 and g.isdigit() for g in groups[1:])


def parse_site_number(text: str, decimal: str | None = None, thousands: str | None = None) -> tuple[float | None, str]:
    """One value to (number, status); status is ``ok``, ``invalid`` or ``ambiguous``."""
    value = text.strip()
    for space in _SPACES[1:]:
        value = value.replace(space, " ")
    if _PLAIN.match(value) and (decimal in (None, ".") or "." not in value):
        return float(value), OK
    if not _SEPARATED.match(value):
        return None, INVALID
    if decimal is not None:
        sep_thousands = thousands or ""
        if any(c in ".," and c not in (decimal, sep_thousands) for c in value):
            return None, INVALID  # a separator the site did not declare: "3.0" where the decimal is ","
        integer, _, fraction = value.partition(decimal) if decimal in value else (value, "", "")
        if decimal in fraction or (sep_thousands and sep_thousands in fraction):
            return None, INVALID
        if sep_thousands and sep_thousands in integer:
            if not _grouped(integer, sep_thousands):
                return None, INVALID
            integer = integer.replace(sep_thousands, "")
        cleaned = integer + ("." + fraction if fraction else "")
        return (float(cleaned), OK) if _PLAIN.match(cleaned) else (None, INVALID)
    # undeclared: read what only one reading allows
    marks = [c for c in value if c in ".,' "]
    kinds = list(dict.fromkeys(marks))
    if len(kinds) == 2:
        last = marks[-1]
        if marks.count(last) > 1:
            return None, INVALID
        other = kinds[0] if kinds[1] == last else kinds[1]
        return parse_site_number(value, decimal=last, thousands=other)
    if len(kinds) == 1:
        mark = kinds[0]
        if marks.count(mark) > 1 or mark in "' ":
            return parse_site_number(value, decimal="." if mark != "." else ",", thousands=mark)
        integer, _, fraction = value.partition(mark)
        if len(fraction) == 3 and integer.lstrip("+-") not in ("0", ""):
            return None, AMBIGUOUS
        return parse_site_number(value, decimal=mark)
    return None, INVALID


def parse_site_numbers(text: pd.Series, decimal: str | None = None,
                       thousands: str | None = None) -> tuple[pd.Series, pd.Series]:
    """A column: (Float64 numbers, status per value; blank values get status ``ok`` and no number).

    Whole-column for what needs no judgement: plain numbers, and, at a site that declares a decimal
    comma, digits with at most that one comma ("12,5"). Every other value takes ``parse_site_number``."""
    stripped = text.astype("string").str.strip()
    if decimal in (None, "."):
        plain = stripped.where(stripped.str.fullmatch(_PLAIN.pattern).fillna(False))
    else:
        simple = stripped.str.fullmatch(r"[+-]?\d+(?:" + re.escape(decimal) + r"\d+)?").fillna(False)
        plain = stripped.where(simple).str.replace(decimal, ".", regex=False)
    numbers = pd.Series(pd.to_numeric(plain, errors="coerce"), index=text.index, dtype="Float64")
    status = pd.Series(OK, index=text.index, dtype="string")
    slow = (stripped.notna() & (stripped != "") & numbers.isna()).to_numpy(dtype=bool)
    rest = text.index[slow]
    results = [parse_site_number(str(value), decimal, thousands) for value in stripped[slow]]
    numbers.loc[rest] = pd.array([number for number, _ in results], dtype="Float64")
    status.loc[rest] = pd.array([state for _, state in results], dtype="string")
    return numbers, status
