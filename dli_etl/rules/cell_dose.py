"""Parse cell doses the ways sites write them into cells/kg (``reference/clinical.md`` section 7.2).

``1.0×10^8/kg``, ``1x10^8/kg``, ``1.0×10⁸/kg``, ``1e8``, ``1.0E+08``, ``10^8/kg``, ``1x108/kg`` (superscript
lost in copy/paste), ``1.0 x 10e8/kg`` (means 10^8, not 10e8 = 10^9), ``100×10^6/kg``, ``1亿/kg``,
``3000万/kg``, full-width forms (``３.０×１０^７／ｋｇ（受者体重）``), a middle dot for the multiplication
(``3.0·10^7``), a decimal comma in the mantissa (``3,0x10^7``) and the cell type before the unit
(``CD3+/kg``, ``MNC cells/kg``). A dose with no unit is read as per kg (the CRF field is labelled cells/kg); a dose written
as total cells, or per anything but kg, is reported, never converted silently.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_NUM = r"(\d+(?:\.\d+)?)"
_TIMES = str.maketrans({"×": "x", "X": "x", "*": "x", "·": "x", "⋅": "x", "•": "x", "∙": "x"})
# "3,0x10^7": one or two digits after the comma of a mantissa is a decimal comma (1,500 is not)
_DECIMAL_COMMA = re.compile(r"^(\d+),(\d{1,2})(?=x|e|$)")
# the cell type some sites write before the unit: CD3+/kg, CD3+ cells/kg, MNC/kg
_CELL_TYPE = re.compile(r"(?:cd3\+?|cd34\+?|mnc|tnc)(?=(?:cells)?/kg)", re.IGNORECASE)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^{_NUM}?x?10\^([+-]?\d+)$"), "caret"),
    (re.compile(rf"^{_NUM}x10e(\d+)$"), "ten_e"),  # "10e8" on a dose form means 10^8
    (re.compile(rf"^{_NUM}x10(\d{{1,2}})$"), "lost_superscript"),
    (re.compile(rf"^{_NUM}e([+-]?\d+)$"), "e_notation"),
    (re.compile(rf"^{_NUM}亿$"), "yi"),
    (re.compile(rf"^{_NUM}万$"), "wan"),
)


@dataclass(frozen=True)
class CellDose:
    """A parsed dose: ``cells_per_kg`` is None when the text could not be read or is not per kg."""

    text: str
    cells_per_kg: float | None
    per_kg: bool | None
    problem: str | None = None


def _split_unit(text: str) -> tuple[str, bool | None, str | None]:
    lowered = text.lower()
    for suffix in ("cells/kg", "个/kg", "/kg受者体重", "/kg(受者体重)", "/kg"):
        if lowered.endswith(suffix):
            return text[: -len(suffix)], True, None
    for suffix in ("cells", "个"):
        if lowered.endswith(suffix):
            return text[: -len(suffix)], False, "total cells, not per kg"
    match = re.search(r"/[a-zµμ]+$", lowered)
    if match:
        return text[: match.start()], False, f"unit {match.group(0)!r} is not per kg"
    return text, None, None


def parse_cell_dose(text: str | None) -> CellDose:
    """Read one written dose. ``problem`` says what a data manager should query when it is not usable."""
    if text is None or str(text).strip() == "":
        return CellDose("", None, None, "missing")
    raw = str(text)
    # superscripts first: NFKC would turn them into plain digits glued to the 10
    norm = unicodedata.normalize("NFKC", raw.strip().translate(_SUPERSCRIPTS))
    norm = norm.translate(_TIMES).replace(" ", "").replace("E", "e")
    norm = _CELL_TYPE.sub("", _DECIMAL_COMMA.sub(r"\1.\2", norm))
    body, per_kg, unit_problem = _split_unit(norm)
    for pattern, kind in _PATTERNS:
        match = pattern.match(body)
        if not match:
            continue
        mantissa = float(match.group(1)) if match.group(1) else 1.0
        if kind in ("caret", "ten_e", "lost_superscript", "e_notation"):
            value = float(f"{mantissa}e{int(match.group(2))}")  # exact decimal, no 9.51*10**7 drift
        elif kind == "yi":
            value = mantissa * 1e8
        else:
            value = mantissa * 1e4
        if per_kg is False:
            return CellDose(raw, None, False, unit_problem)
        return CellDose(raw, value, per_kg)
    return CellDose(raw, None, per_kg, "not a recognisable cell dose")


def cell_dose_text(cells_per_kg: float, digits: int = 1) -> str:
    """A dose as sites and protocols write it: ``3.0×10^7/kg`` (never ``3.0e+07/kg``)."""
    if cells_per_kg == 0:
        return "0/kg"
    exponent = int(math.floor(math.log10(abs(cells_per_kg))))
    mantissa = cells_per_kg / 10 ** exponent
    if round(mantissa, digits) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.{digits}f}×10^{exponent}/kg"
