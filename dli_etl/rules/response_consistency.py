"""A response category against the marrow it was assessed on (clinical.md 4.1, ELN 2022; 4.3, NCCN ALL).

CR, CRh and CRi need bone-marrow blasts below 5%. PR needs blasts of 5-25% and a fall of at least 50%
from the pre-treatment value. For ALL (Study B) PR is not a standard category: the study declares which
rule it uses (``studies.yaml: response_criteria``), so the check is data, not code. A record that does
not fit is a query to the site (the category stays as assessed); the pre-treatment value is the
subject's last assessment with blasts before the first DLI, and without one the fall is not checked.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]


def _pretreatment_blasts(response: pd.DataFrame, dli: pd.DataFrame) -> pd.Series:
    first_dli = dli.dropna(subset=["dlidt"]).groupby("usubjid")["dlidt"].min() if not dli.empty else pd.Series(dtype=object)
    before = response[response["bm_blasts"].notna()].copy()
    before["first_dli"] = before["usubjid"].map(first_dli)
    before = before[before["first_dli"].notna() & (before["rsdt"].astype("string") < before["first_dli"].astype("string"))]
    return before.sort_values("rsdt").groupby("usubjid")["bm_blasts"].last()


def response_blast_findings(response: pd.DataFrame, dli: pd.DataFrame, criteria: dict[str, dict],
                            locate: Locate) -> list[Finding]:
    """``criteria``: category -> {blasts_below: x} or {blasts_from: a, blasts_to: b, fall_from_baseline_pct: p}."""
    if response.empty or not criteria:
        return []
    baseline = _pretreatment_blasts(response, dli)
    out: list[Finding] = []
    for _, row in response.iterrows():
        rule = criteria.get(str(row["response"])) if pd.notna(row["response"]) else None
        blasts = row["bm_blasts"]
        if rule is None or pd.isna(blasts):
            continue
        blasts = float(blasts)
        expected = ""
        if "blasts_below" in rule and not blasts < float(rule["blasts_below"]):
            expected = f"bone-marrow blasts < {rule['blasts_below']}%"
        if "blasts_from" in rule and not float(rule["blasts_from"]) <= blasts <= float(rule["blasts_to"]):
            expected = f"bone-marrow blasts {rule['blasts_from']}-{rule['blasts_to']}%"
        before = baseline.get(row["usubjid"])
        fall = rule.get("fall_from_baseline_pct")
        known = fall is not None and before is not None and pd.notna(before) and float(before) > 0
        if not expected and known and blasts > float(before) * (1 - float(fall) / 100):
            expected = f"a fall of >= {fall}% from {float(before):g}% before the first DLI"
        if expected:
            out.append(Finding("RESPONSE-BLASTS-INCONSISTENT", str(row["study"]), str(row["site"]), str(row["subjid"]),
                               "response", "response", f"{row['response']} with {blasts:g}% blasts", expected, "",
                               str(row["src_file"]), str(row["src_sha256"]), locate(row, "bm_blasts"),
                               str(row["row_id"])))
    return out
