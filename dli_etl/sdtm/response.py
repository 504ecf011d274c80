"""RS: which relapse is a relapse from complete remission (CDISC ONCRSR "RELAPSED DISEASE FROM CR") and
which is not ("RELAPSED DISEASE"), from the subject's own response history."""

from __future__ import annotations

import pandas as pd

CR_FAMILY = ("CR", "CRh", "CRi")
FROM_CR, NOT_FROM_CR = "RELAPSED DISEASE FROM CR", "RELAPSED DISEASE"


def code_relapse_origin(rs: pd.DataFrame, in_cr_at_entry: bool) -> pd.DataFrame:
    """A new RS where each relapse's RSSTRESC says whether it came from CR: always when the protocol
    enrols only subjects in remission (``in_cr_at_entry``), otherwise only after a CR, CRh or CRi recorded
    on an earlier date. A relapse whose date is unknown cannot be placed after a CR and stays
    "RELAPSED DISEASE" unless the subject entered in CR."""
    if rs.empty or "RSSTRESC" not in rs.columns:
        return rs
    relapse = rs["RSSTRESC"].isin([FROM_CR, NOT_FROM_CR]).fillna(False)
    if in_cr_at_entry:
        return rs.assign(RSSTRESC=rs["RSSTRESC"].where(~relapse, FROM_CR))
    day = rs["RSDTC"].astype("string").str.slice(0, 10)
    first_cr = day[rs["RSSTRESC"].isin(CR_FAMILY).fillna(False)].groupby(rs["USUBJID"]).min()
    after_cr = day > rs["USUBJID"].map(first_cr)
    coded = pd.Series(NOT_FROM_CR, index=rs.index, dtype="string").mask(after_cr.fillna(False).astype(bool), FROM_CR)
    return rs.assign(RSSTRESC=rs["RSSTRESC"].where(~relapse, coded))
