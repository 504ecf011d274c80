"""Yes/no event questions beside what only their event fills in (follow-up: a relapse and its date; a
death, its date and its cause). That is the site's evidence of the event, so a blank answer beside it
counts the event and asks the site to answer; an explicit "N" beside it is a contradiction the site must
resolve, and the event is not counted until it does. Quarantine the value, not the record: a blank
answer must never drop a relapse or a death."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from dli_etl.findings import Finding
from dli_etl.harmonize.fields import blank

Locate = Callable[[pd.Series, str], str]
# the follow-up form's event questions: the event's date first, then other fields only the event fills in
EVENT_EVIDENCE = {"relapse": ("relapse_date",), "death": ("death_date", "death_cause")}


def event_recorded(answer: pd.Series, date: pd.Series, *evidence: pd.Series) -> pd.Series:
    """Per row: did the event happen? "Y", or a blank answer beside a recorded date or other field only
    the event fills in (a cause of death)."""
    shown = ~blank(date)
    for values in evidence:
        shown = shown | ~blank(values)
    return (answer.eq("Y").fillna(False).astype(bool) | (blank(answer) & shown)).astype(bool)


_EXPECTED = {"EVENT-ANSWER-BLANK": "Y", "EVENT-ANSWER-CONTRADICTS-DATE": "Y, or nothing recorded for the event",
             "EVENT-DATE-MISSING": "the date of the event"}


def _shown(value: object) -> str:
    return "" if pd.isna(value) else str(value)


def event_answer_findings(followup: pd.DataFrame, locate: Locate) -> list[Finding]:
    """Per event question: EVENT-ANSWER-BLANK (a date or cause beside a blank answer: counted),
    EVENT-ANSWER-CONTRADICTS-DATE (one beside "N": not counted) and EVENT-DATE-MISSING ("Y" without a
    date: counted, but the analysis cannot place it in time)."""
    out: list[Finding] = []
    for answer_field, fields in EVENT_EVIDENCE.items():
        if followup.empty or not {answer_field, *fields} <= set(followup.columns):
            continue
        answer = followup[answer_field]
        present = [~blank(followup[f]).to_numpy() for f in fields]
        shown = np.logical_or.reduce(present)
        dated = present[0]
        unanswered = blank(answer).to_numpy()
        said_no = answer.eq("N").fillna(False).to_numpy(dtype=bool)
        said_yes = answer.eq("Y").fillna(False).to_numpy(dtype=bool)
        for rule, mask in (("EVENT-ANSWER-BLANK", shown & unanswered), ("EVENT-ANSWER-CONTRADICTS-DATE", shown & said_no),
                           ("EVENT-DATE-MISSING", said_yes & ~dated)):
            for position in np.flatnonzero(mask):
                row = followup.iloc[position]
                # what the site recorded for the event: its date, else the other field
                value = next((_shown(row[f]) for f, p in zip(fields, present, strict=True) if p[position]), "")
                out.append(Finding(
                    rule, str(row["study"]), str(row["site"]), str(row["subjid"]), "followup", answer_field,
                    value, _EXPECTED[rule], "", str(row["src_file"]), str(row["src_sha256"]),
                    locate(row, answer_field), str(row["row_id"])))
    return out
