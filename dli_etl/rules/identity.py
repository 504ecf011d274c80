"""Subject identity: duplicate records of one-per-subject forms, and data for subjects never enrolled."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]


def _finding(rule_id: str, row: pd.Series, form: str, locate: Locate, expected: str = "") -> Finding:
    return Finding(rule_id, str(row["study"]), str(row["site"]), str(row["subjid"]), form, "subjid",
                   str(row["subjid"]), expected, "", str(row["src_file"]), str(row["src_sha256"]),
                   locate(row, "subjid"), str(row["row_id"]))


def duplicate_subject_findings(frame: pd.DataFrame, form: str, locate: Locate) -> list[Finding]:
    """Every record after the first for the same USUBJID (source order) is a duplicate to resolve."""
    if frame.empty:
        return []
    present = frame[frame["subjid"].fillna("") != ""]
    dup = present.duplicated("usubjid", keep="first")
    return [_finding("ID-DUPLICATE-SUBJECT", row, form, locate) for _, row in present[dup].iterrows()]


def unknown_subject_findings(frame: pd.DataFrame, form: str, enrolled: set[str], locate: Locate) -> list[Finding]:
    """Rows of a subject with no enrollment record in any source of the study."""
    if frame.empty:
        return []
    unknown = ~frame["usubjid"].isin(enrolled) & (frame["subjid"].fillna("") != "")
    return [_finding("ID-UNKNOWN-SUBJECT", row, form, locate) for _, row in frame[unknown].iterrows()]
