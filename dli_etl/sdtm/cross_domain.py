"""Checks across SDTM domains: every subject in DM, death recorded consistently in DM, DS, DD and AE,
and exposure inside the subject's reference period."""

from __future__ import annotations

import pandas as pd

from dli_etl.findings import Finding


def _subject(usubjid: str) -> tuple[str, str]:
    parts = str(usubjid).split("-")
    return (parts[1], "-".join(parts[2:])) if len(parts) >= 3 else ("", str(usubjid))


def _finding(rule: str, study: str, usubjid: str, domain: str, field: str, value: str, expected: str) -> Finding:
    site, subjid = _subject(usubjid)
    return Finding(rule, study, site, subjid, domain, field, value, expected, src_locator=f"{domain}:{usubjid}:{field}")


def cross_domain_findings(study: str, domains: dict[str, pd.DataFrame]) -> list[Finding]:
    out: list[Finding] = []
    dm = domains.get("dm", pd.DataFrame())
    if dm.empty:
        return out
    known = set(dm["USUBJID"])
    for name, frame in domains.items():
        if name in ("dm", "ts", "ta", "te", "ti") or frame.empty or "USUBJID" not in frame.columns:
            continue
        for usubjid in sorted(set(frame["USUBJID"].dropna().unique()) - known):
            out.append(_finding("XD-SUBJECT-NOT-IN-DM", study, usubjid, name.upper(), "USUBJID", usubjid, "DM"))
    dead_dm = set(dm.loc[dm["DTHFL"] == "Y", "USUBJID"])
    ds = domains.get("ds", pd.DataFrame())
    dead_ds = set(ds.loc[ds["DSDECOD"] == "DEATH", "USUBJID"]) if not ds.empty else set()
    dd = domains.get("dd", pd.DataFrame())
    dead_dd = set(dd["USUBJID"]) if not dd.empty else set()
    ae = domains.get("ae", pd.DataFrame())
    fatal_ae = set(ae.loc[ae["AETOXGR"] == "5", "USUBJID"]) if not ae.empty else set()
    for usubjid in sorted(dead_dm ^ dead_ds):
        out.append(_finding("XD-DEATH-INCONSISTENT", study, usubjid, "DS", "DSDECOD",
                            "DEATH" if usubjid in dead_ds else "no DEATH record", "agrees with DM.DTHFL"))
    for usubjid in sorted((dead_dd | fatal_ae) - dead_dm):
        out.append(_finding("XD-DEATH-INCONSISTENT", study, usubjid, "DM", "DTHFL", "", "Y (DD or a grade 5 AE)"))
    ex = domains.get("ex", pd.DataFrame())
    if not ex.empty:
        merged = ex.merge(dm[["USUBJID", "RFICDTC", "RFPENDTC"]], on="USUBJID", how="left")
        start = merged["EXSTDTC"].str.slice(0, 10)
        outside = (start < merged["RFICDTC"].str.slice(0, 10)) | (start > merged["RFPENDTC"].str.slice(0, 10))
        for _, row in merged[outside.fillna(False).astype(bool)].iterrows():
            out.append(_finding("XD-EX-OUTSIDE-REFERENCE", study, row["USUBJID"], "EX", "EXSTDTC", str(row["EXSTDTC"]),
                                f"{row['RFICDTC']}..{row['RFPENDTC']}"))
    return out
