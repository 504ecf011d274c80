"""How site staff write cell doses; the writer side of ``dli_etl.rules.cell_dose``."""

from __future__ import annotations

import math

import numpy as np

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

NOTATIONS = ("times_caret", "x_caret", "e_notation", "superscript", "mantissa_shift", "chinese_yi")


def write_cell_dose(value_per_kg: float, notation: str, per_kg: bool = True) -> str:
    """Write a dose in cells/kg the way a site would, e.g. ``1.0×10^8/kg`` or ``1e8``."""
    exponent = int(math.floor(math.log10(value_per_kg)))
    mantissa = value_per_kg / 10**exponent
    suffix = "/kg" if per_kg else " cells"
    if notation == "times_caret":
        return f"{mantissa:.1f}×10^{exponent}{suffix}"
    if notation == "x_caret":
        if abs(mantissa - 1.0) < 0.005:
            return f"10^{exponent}{suffix}"
        return f"{mantissa:.2f}x10^{exponent}{suffix}"
    if notation == "e_notation":
        text = f"{mantissa:.2f}e{exponent}"
        return text if per_kg else text + " cells"
    if notation == "superscript":
        return f"{mantissa:.1f}×10{str(exponent).translate(_SUPERSCRIPT)}{suffix}"
    if notation == "mantissa_shift":
        return f"{mantissa * 10:.1f}×10^{exponent - 1}{suffix}"
    if notation == "chinese_yi":
        if exponent >= 8:
            return f"{value_per_kg / 1e8:.2f}亿{'/kg' if per_kg else '个'}"
        return f"{value_per_kg / 1e4:.0f}万{'/kg' if per_kg else '个'}"
    raise ValueError(f"unknown dose notation {notation!r}")


def pick_notation(rng: np.random.Generator, chinese_site: bool) -> str:
    """A site's habit: Chinese-language sites sometimes use 亿/万."""
    choices = list(NOTATIONS) if chinese_site else [n for n in NOTATIONS if n != "chinese_yi"]
    return str(rng.choice(choices))
