"""Subject identity: records that cannot be attributed to one enrolled subject (no subject id, a subject
never enrolled, a second copy of a one-per-subject record). These are the only records held back whole."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.membership import is_in

Locate = Callable[[pd.Series, str], str]


def _finding(rule_id: str, row: pd.Series, form: str, locate: Locate, expected: str = "", detail: str = "") -> Finding:
    return Finding(rule_id, str(row["study"]), str(row["site"]), str(row["subjid"]), form, "subjid",
                   str(row["subjid"]) if pd.notna(row["subjid"]) else "", expected, detail, str(row["src_file"]),
                   str(row["src_sha256"]), locate(row, "subjid"), str(row["row_id"]))


def duplicate_subject_findings(frame: pd.DataFrame, form: str, locate: Locate,
                               verbatim: pd.DataFrame | None = None) -> list[Finding]:
    """Every record after the first for the same USUBJID (source order: deterministic) is a duplicate to
    resolve; the detail says whether it is an exact copy or which fields conflict with the kept record.

    ``verbatim``: the source text of the form's fields, aligned with ``frame``."""
    if frame.empty:
        return []
    present = frame[frame["subjid"].fillna("") != ""]
    dup = present.duplicated("usubjid", keep="first")
    if not dup.any():
        return []
    first = present[~dup].drop_duplicates("usubjid").set_index("usubjid").index
    kept_index = pd.Series(present[~dup].index, index=first)
    out = []
    for idx, row in present[dup].iterrows():
        detail = "a second record"
        if verbatim is not None and not verbatim.empty:
            kept = verbatim.loc[kept_index[row["usubjid"]]].fillna("").astype(str).str.strip()
            this = verbatim.loc[idx].fillna("").astype(str).str.strip()
            differ = [f for f in verbatim.columns if kept[f] != this[f]]
            detail = "an exact copy" if not differ else "conflicting " + ", ".join(differ)
        out.append(_finding("ID-DUPLICATE-SUBJECT", row, form, locate, detail=detail))
    return out


def missing_subject_findings(frame: pd.DataFrame, form: str, locate: Locate) -> list[Finding]:
    """Rows with no subject id at all: nothing to attribute them to."""
    if frame.empty:
        return []
    blank = frame["subjid"].isna() | (frame["subjid"].astype("string").str.strip() == "")
    return [_finding("ID-SUBJECT-MISSING", row, form, locate) for _, row in frame[blank.fillna(True)].iterrows()]


def unknown_subject_findings(frame: pd.DataFrame, form: str, enrolled: set[str], locate: Locate) -> list[Finding]:
    """Rows of a subject with no enrollment record in any source of the study."""
    if frame.empty:
        return []
    unknown = ~is_in(frame["usubjid"], enrolled) & (frame["subjid"].fillna("") != "")
    return [_finding("ID-UNKNOWN-SUBJECT", row, form, locate) for _, row in frame[unknown].iterrows()]
