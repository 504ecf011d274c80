"""Deaths against the adverse events and dates around them (clinical.md 3.2: a death from a cause other
than the disease is reported as a grade 5 AE; nothing recovers after death; follow-up cannot go past the
last contact of a subject who is alive)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.rules.event_answers import event_recorded
from dli_etl.rules.treatment_timeline import transplant_day

Locate = Callable[[pd.Series, str], str]
RECOVERED = ("RECOVERED/RESOLVED", "RECOVERED/RESOLVED WITH SEQUELAE", "RECOVERING/RESOLVING")


def _finding(rule: str, row: pd.Series, form: str, field: str, value: str, expected: str, locate: Locate) -> Finding:
    return Finding(rule, str(row["study"]), str(row["site"]), str(row["subjid"]), form, field, value, expected, "",
                   str(row["src_file"]), str(row["src_sha256"]), locate(row, field), str(row["row_id"]))


def death_without_fatal_ae_findings(followup: pd.DataFrame, ae: pd.DataFrame, disease_causes: list[str],
                                    locate: Locate) -> list[Finding]:
    """A death whose cause is not the disease (infection, GVHD, organ failure) needs its grade 5 AE."""
    if followup.empty:
        return []
    disease = {c.casefold() for c in disease_causes}
    fatal = set(ae.loc[ae["aetoxgr"] == 5, "usubjid"]) if not ae.empty else set()
    died = followup[event_recorded(followup["death"], followup["death_date"], followup["death_cause"])
                    & followup["death_cause"].notna()]
    other = died[~died["death_cause"].astype("string").str.strip().str.casefold().isin(disease)]
    return [_finding("DEATH-WITHOUT-FATAL-AE", row, "followup", "death_cause", str(row["death_cause"]),
                     "a grade 5 adverse event", locate)
            for _, row in other[~other["usubjid"].isin(fatal)].iterrows()]


def recovered_after_death_findings(ae: pd.DataFrame, deaths: pd.DataFrame, locate: Locate) -> list[Finding]:
    """An AE whose outcome says recovered but which ends on or after the subject's death date."""
    if ae.empty or deaths.empty:
        return []
    merged = ae.merge(deaths, on="usubjid", how="left")
    merged.index = ae.index
    gap = transplant_day(merged["aeendt"], merged["death_date"])
    bad = merged[(gap >= 0).fillna(False).astype(bool) & merged["aeout"].isin(RECOVERED).fillna(False).astype(bool)]
    return [_finding("AE-RECOVERED-AFTER-DEATH", row, "adverse_event", "aeout", str(row["aeout"]),
                     f"FATAL or NOT RECOVERED/NOT RESOLVED (death on {row['death_date']})", locate)
            for _, row in bad.iterrows()]


def after_last_contact_findings(frame: pd.DataFrame, form: str, date_field: str, followup: pd.DataFrame,
                                locate: Locate) -> list[Finding]:
    """A record dated after the last contact of a subject not known to have died: the last contact
    date is out of date (or the record's date is wrong)."""
    if frame.empty or followup.empty:
        return []
    alive = followup[~event_recorded(followup["death"], followup["death_date"], followup["death_cause"])]
    alive = alive.drop_duplicates("usubjid")[["usubjid", "last_contact"]]
    merged = frame.merge(alive, on="usubjid", how="left")
    merged.index = frame.index
    gap = transplant_day(merged[date_field], merged["last_contact"])
    late = merged[(gap > 0).fillna(False).astype(bool)]
    return [_finding("ORDER-AFTER-LAST-CONTACT", row, form, date_field, str(row[date_field]),
                     f"on or before the last contact {row['last_contact']}", locate) for _, row in late.iterrows()]
