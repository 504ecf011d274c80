"""Pre-DLI chemotherapy against the protocol's regimen list (Study A: HAA, AA, HA or VA, clinical.md 7.5).

Another regimen is a protocol deviation (a warning and a query), never a data error: the record stays.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]


def regimen_findings(chemo: pd.DataFrame, allowed: list[str], locate: Locate) -> list[Finding]:
    """One ``PD-CHEMO-REGIMEN`` per chemotherapy record whose regimen is not in ``allowed``."""
    if chemo.empty or not allowed:
        return []
    other = chemo[chemo["regimen"].notna() & ~chemo["regimen"].isin(allowed)]
    return [Finding("PD-CHEMO-REGIMEN", str(row["study"]), str(row["site"]), str(row["subjid"]), "chemo", "regimen",
                    str(row["regimen"]), ", ".join(allowed), "", str(row["src_file"]), str(row["src_sha256"]),
                    locate(row, "regimen"), str(row["row_id"]))
            for _, row in other.iterrows()]
