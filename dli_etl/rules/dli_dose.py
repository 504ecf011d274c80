"""DLI cell-dose plausibility: protocol dose deviation told apart from a gross unit/exponent error.

Thresholds are data (``specs/studies.yaml``): plausible ranges per product from clinical.md 7.1 (MNC
10^6-10^9/kg, CD3+ 10^4-5x10^8/kg), +-20% tolerance around the protocol dose, and a ratio of 8x or
more read as a power-of-ten error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]


@dataclass(frozen=True)
class DoseVerdict:
    rule_id: str | None
    detail: str = ""


def classify_dose(value: float, target: float, low: float, high: float, tolerance: float = 0.2,
                  power_ratio: float = 8.0) -> DoseVerdict:
    """One dose against its protocol target and plausible range."""
    ratio = value / target
    if ratio >= power_ratio or ratio <= 1 / power_ratio:
        power = round(math.log10(ratio))
        return DoseVerdict("DOSE-POWER-OF-TEN", f"10^{power:+d} x" if power else f"{ratio:.1f} x")
    if not low <= value <= high:
        return DoseVerdict("DOSE-OUT-OF-RANGE")
    if abs(ratio - 1) > tolerance:
        return DoseVerdict("DOSE-DEVIATION", f"{(ratio - 1) * 100:+.0f}%")
    return DoseVerdict(None)


def dose_findings(dli: pd.DataFrame, targets: dict[str, float], ranges: dict[str, list[float]],
                  tolerance: float, power_ratio: float, locate: Locate) -> list[Finding]:
    """Findings for every DLI row whose MNC or CD3+ dose is off, plus CD3+ > MNC."""
    out: list[Finding] = []
    if dli.empty:
        return out
    for field, target in targets.items():
        low, high = ranges[field]
        present = dli[dli[field].notna()]
        for _, row in present.iterrows():
            verdict = classify_dose(float(row[field]), target, low, high, tolerance, power_ratio)
            if verdict.rule_id is None:
                continue
            expected = f"{target:.1e}/kg" if verdict.rule_id != "DOSE-OUT-OF-RANGE" else f"{low:.0e}-{high:.0e}/kg"
            out.append(Finding(verdict.rule_id, str(row["study"]), str(row["site"]), str(row["subjid"]), "dli",
                               field, str(row[f"{field}_text"]), expected, verdict.detail, str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    both = dli[dli["mnc_dose"].notna() & dli["cd3_dose"].notna()]
    for _, row in both[both["cd3_dose"] > both["mnc_dose"]].iterrows():
        out.append(Finding("DOSE-CD3-EXCEEDS-MNC", str(row["study"]), str(row["site"]), str(row["subjid"]), "dli",
                           "cd3_dose", str(row["cd3_dose_text"]), str(row["mnc_dose_text"]), "", str(row["src_file"]),
                           str(row["src_sha256"]), locate(row, "cd3_dose"), str(row["row_id"])))
    return out
