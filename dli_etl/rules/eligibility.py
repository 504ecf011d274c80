"""Eligibility per protocol, reported as protocol deviations (warnings), never as data errors."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.rules.treatment_timeline import transplant_day

Locate = Callable[[pd.Series, str], str]


def eligibility_findings(enrollment: pd.DataFrame, criteria: dict[str, list[str]], locate: Locate) -> list[Finding]:
    """A collected value outside the protocol's allowed values (e.g. Study A: Ph+ excluded)."""
    out: list[Finding] = []
    for field, allowed in criteria.items():
        if field not in enrollment.columns:
            continue
        bad = enrollment[enrollment[field].notna() & ~enrollment[field].isin(allowed)]
        for _, row in bad.iterrows():
            out.append(Finding("PD-ELIGIBILITY", str(row["study"]), str(row["site"]), str(row["subjid"]), "enrollment",
                               field, str(row[field]), " or ".join(allowed), "", str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    return out


def missing_criterion_findings(enrollment: pd.DataFrame, verbatim: pd.DataFrame, criteria: dict[str, list[str]],
                               locate: Locate) -> list[Finding]:
    """A criterion field left blank at the source: eligibility cannot be confirmed, so the site is asked. A
    value that was written but could not be coded has its own finding and is not asked about twice."""
    from dli_etl.specs import load_spec

    required = {n for n, f in load_spec("forms")["enrollment"]["fields"].items() if f.get("required")}
    out: list[Finding] = []
    for field in criteria:
        if field not in enrollment.columns or field in required:
            continue  # a required field left blank is already a REQ-MISSING query
        text = verbatim[field] if field in verbatim.columns else pd.Series(pd.NA, index=enrollment.index)
        blank = (text.isna() | (text.astype("string").str.strip() == "")).fillna(True).astype(bool)
        for _, row in enrollment[blank.to_numpy()].iterrows():
            out.append(Finding("ELIG-CRITERION-MISSING", str(row["study"]), str(row["site"]), str(row["subjid"]),
                               "enrollment", field, "", " or ".join(criteria[field]), "", str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    return out


def consent_after_hsct_findings(enrollment: pd.DataFrame, transplant: pd.DataFrame, locate: Locate) -> list[Finding]:
    """Study A enrolls before transplant: consent after HSCT is a deviation."""
    hsct = transplant.drop_duplicates("usubjid")[["usubjid", "hsctdt"]]
    merged = enrollment.merge(hsct, on="usubjid", how="left")
    merged.index = enrollment.index
    gap = transplant_day(merged["rficdtc"], merged["hsctdt"])
    out = []
    for idx in merged.index[(gap > 0).fillna(False).to_numpy(dtype=bool)]:
        row = merged.loc[idx]
        out.append(Finding("ORDER-CONSENT-AFTER-HSCT", str(row["study"]), str(row["site"]), str(row["subjid"]),
                           "enrollment", "rficdtc", str(row["rficdtc"]), str(row["hsctdt"]), "", str(row["src_file"]),
                           str(row["src_sha256"]), locate(row, "rficdtc"), str(row["row_id"])))
    return out
