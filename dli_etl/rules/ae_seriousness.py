"""A serious AE says why it is serious (ICH E2A; SDTMIG 3.4 AE assumption: when AESER is "Y", at least one
of the seriousness criteria is "Y"). Death is the criterion of a grade 5 AE (AESDTH comes from the grade);
the others are collected: hospitalisation, life threatening, disability, other medically important.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]

SERIOUSNESS_CRITERIA = ("aeshosp", "aeslife", "aesdisab", "aesmie")


def seriousness_findings(ae: pd.DataFrame, locate: Locate) -> list[Finding]:
    """``AE-SERIOUS-NO-CRITERION`` for a serious, non-fatal AE with no criterion "Y" (only from a source
    that records the criteria at all: a source without them is a mapping question, not one per AE), and
    ``AE-CRITERION-NOT-SERIOUS`` for a criterion "Y" on an AE recorded as not serious."""
    present = [c for c in SERIOUSNESS_CRITERIA if c in ae]
    if ae.empty or not present or "aeser" not in ae:
        return []
    flagged = ae[present].eq("Y").fillna(False)
    any_criterion = flagged.any(axis=1)
    collected = ae[present].notna().any(axis=1).groupby(ae["src_file"]).transform("any")
    fatal = pd.to_numeric(ae["aetoxgr"], errors="coerce").eq(5).fillna(False)
    serious = ae["aeser"].eq("Y").fillna(False)
    out: list[Finding] = []
    for rule, mask in (("AE-SERIOUS-NO-CRITERION", serious & ~fatal & ~any_criterion & collected),
                       ("AE-CRITERION-NOT-SERIOUS", ae["aeser"].eq("N").fillna(False) & any_criterion)):
        for idx in ae.index[mask.to_numpy(dtype=bool)]:
            row = ae.loc[idx]
            named = ", ".join(c for c in present if flagged.at[idx, c])
            field = "aeser"
            out.append(Finding(rule, str(row["study"]), str(row["site"]), str(row["subjid"]), "adverse_event", field,
                               str(row["aeser"]), "Y" if named else "a seriousness criterion",
                               f"{row['aeterm']} on {row['aestdt']}" + (f"; {named} = Y" if named else ""),
                               str(row["src_file"]), str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    return out
