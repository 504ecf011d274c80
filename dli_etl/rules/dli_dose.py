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
from dli_etl.rules.cell_dose import cell_dose_text

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
                  tolerance: float, power_ratio: float, locate: Locate,
                  cd3_share: tuple[float, float] | None = None) -> list[Finding]:
    """Findings for every DLI row whose MNC or CD3+ dose is off, plus CD3+ > MNC.

    ``targets`` may be empty (a protocol without a dose): each dose is then checked against its plausible
    range only, and a CD3+ share of the MNC dose below ``cd3_share`` flags both doses of the product
    (one of them is a power of ten off; the data do not say which)."""
    out: list[Finding] = []
    if dli.empty:
        return out
    for field, (low, high) in ranges.items():
        target = targets.get(field)
        present = dli[dli[field].notna()]
        for _, row in present.iterrows():
            value = float(row[field])
            if target is None:
                if not low <= value <= high:
                    out.append(Finding("DOSE-OUT-OF-RANGE", str(row["study"]), str(row["site"]), str(row["subjid"]),
                                       "dli", field, str(row[f"{field}_text"]), _dose_range(low, high), "",
                                       str(row["src_file"]), str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
                continue
            verdict = classify_dose(value, target, low, high, tolerance, power_ratio)
            if verdict.rule_id is None:
                continue
            expected = cell_dose_text(target) if verdict.rule_id != "DOSE-OUT-OF-RANGE" else _dose_range(low, high)
            out.append(Finding(verdict.rule_id, str(row["study"]), str(row["site"]), str(row["subjid"]), "dli",
                               field, str(row[f"{field}_text"]), expected, verdict.detail, str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    both = dli[dli["mnc_dose"].notna() & dli["cd3_dose"].notna()]
    if cd3_share is not None and not targets:
        share = both["cd3_dose"] / both["mnc_dose"]
        for _, row in both[share < cd3_share[0]].iterrows():
            shown = f"{float(row['cd3_dose']) / float(row['mnc_dose']):.1%}"
            for field in ("mnc_dose", "cd3_dose"):
                out.append(Finding("DOSE-CD3-SHARE-IMPLAUSIBLE", str(row["study"]), str(row["site"]), str(row["subjid"]),
                                   "dli", field, str(row[f"{field}_text"]), f"at least {cd3_share[0]:.0%} of MNC", shown,
                                   str(row["src_file"]), str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    # with a protocol dose the power-of-ten check names the wrong dose and the CD3+ value is queried; without
    # one the data cannot say which of the two is wrong, so both are set aside until the site confirms
    fields = ("cd3_dose",) if targets else ("cd3_dose", "mnc_dose")
    for _, row in both[both["cd3_dose"] > both["mnc_dose"]].iterrows():
        for field in fields:
            out.append(Finding("DOSE-CD3-EXCEEDS-MNC", str(row["study"]), str(row["site"]), str(row["subjid"]), "dli",
                               field, str(row["cd3_dose_text"]), str(row["mnc_dose_text"]), "", str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    return out


def _dose_range(low: float, high: float) -> str:
    return f"{cell_dose_text(low).removesuffix('/kg')}–{cell_dose_text(high)}"
