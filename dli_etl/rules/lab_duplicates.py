"""Lab draws reported twice: the same subject, sample date and analyte. An exact copy of a draw is held
back (counted once); the same draw with a different value is a query on each value that differs."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]


def lab_duplicate_findings(frame: pd.DataFrame, form: str, analytes: list[str], locate: Locate) -> list[Finding]:
    """Rows after the first (source order) with the same ``usubjid`` and complete ``lbdtc``."""
    if frame.empty:
        return []
    analytes = [a for a in analytes if a in frame.columns]
    dated = frame[frame["lbdtc"].astype("string").str.len().fillna(0) >= 10]
    repeat = dated.duplicated(["usubjid", "lbdtc"], keep="first")
    if not repeat.any():
        return []
    first = dated[~repeat].drop_duplicates(["usubjid", "lbdtc"]).set_index(["usubjid", "lbdtc"])
    out: list[Finding] = []
    for _, row in dated[repeat].iterrows():
        kept = first.loc[(row["usubjid"], row["lbdtc"])]
        differ = [a for a in analytes if not (pd.isna(row[a]) and pd.isna(kept[a])) and
                  (pd.isna(row[a]) or pd.isna(kept[a]) or float(row[a]) != float(kept[a]))]
        where = str(kept["src_locator"])
        if not differ:
            out.append(Finding("LAB-DUPLICATE-DRAW", str(row["study"]), str(row["site"]), str(row["subjid"]), form,
                               "subjid", str(row["subjid"]), where, str(row["lbdtc"]), str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, "lbdtc"), str(row["row_id"])))
            continue
        for analyte in differ:
            shown = "" if pd.isna(kept[analyte]) else f"{float(kept[analyte]):g}"
            value = "" if pd.isna(row[analyte]) else f"{float(row[analyte]):g}"
            out.append(Finding("LAB-DUPLICATE-CONFLICT", str(row["study"]), str(row["site"]), str(row["subjid"]), form,
                               analyte, value, f"{shown} in {where}", str(row["lbdtc"]), str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, analyte), str(row["row_id"])))
    return out
