"""Lab draws reported twice: the same subject, sample date and analyte. An exact copy of a draw is held
back (counted once); the same draw with a different value is a query on each value that differs."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]


def _same(a: object, b: object) -> bool:
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    if isinstance(a, str) or isinstance(b, str):
        return str(a).strip() == str(b).strip()
    return float(a) == float(b)


def _shown(value: object) -> str:
    if pd.isna(value):
        return ""
    return str(value) if isinstance(value, str) else f"{float(value):g}"


def lab_duplicate_findings(frame: pd.DataFrame, form: str, analytes: list[str], locate: Locate,
                           same_test: tuple[str, ...] = ()) -> list[Finding]:
    """Rows after the first (source order) with the same ``usubjid``, complete ``lbdtc`` and ``same_test``
    columns (for MRD: method, marker and specimen, since one draw gives several tests)."""
    if frame.empty:
        return []
    analytes = [a for a in analytes if a in frame.columns]
    keys = ["usubjid", "lbdtc", *(c for c in same_test if c in frame.columns)]
    dated = frame[frame["lbdtc"].astype("string").str.len().fillna(0) >= 10]
    # a test without a marker is still one test: blanks compare equal as keys
    dated = dated.assign(**{k: dated[k].astype("string").fillna("") for k in keys[2:]})
    repeat = dated.duplicated(keys, keep="first")
    if not repeat.any():
        return []
    first = dated[~repeat].drop_duplicates(keys).set_index(keys)
    out: list[Finding] = []
    for _, row in dated[repeat].iterrows():
        kept = first.loc[tuple(row[k] for k in keys)]
        differ = [a for a in analytes if not _same(row[a], kept[a])]
        where = str(kept["src_locator"])
        if not differ:
            out.append(Finding("LAB-DUPLICATE-DRAW", str(row["study"]), str(row["site"]), str(row["subjid"]), form,
                               "subjid", str(row["subjid"]), where, str(row["lbdtc"]), str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, "lbdtc"), str(row["row_id"])))
            continue
        for analyte in differ:
            shown, value = _shown(kept[analyte]), _shown(row[analyte])
            out.append(Finding("LAB-DUPLICATE-CONFLICT", str(row["study"]), str(row["site"]), str(row["subjid"]), form,
                               analyte, value, f"{shown} in {where}", str(row["lbdtc"]), str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, analyte), str(row["row_id"])))
    return out
