"""Yes/no event questions beside their dates (follow-up: relapse, death). A date is the site's evidence
of the event, so a blank answer beside a date counts the event and asks the site to answer; an explicit
"N" beside a date is a contradiction the site must resolve, and the event is not counted until it does.
Quarantine the value, not the record: a blank answer must never drop a relapse or a death."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]
# the follow-up form's event questions and the dates that go with them
EVENT_DATES = {"relapse": "relapse_date", "death": "death_date"}


def event_recorded(answer: pd.Series, date: pd.Series) -> pd.Series:
    """Per row: did the event happen? "Y", or a blank answer beside a recorded date."""
    blank = answer.isna() | (answer.astype("string").str.strip() == "")
    return (answer.eq("Y") | (blank & date.notna())).fillna(False).astype(bool)


_EXPECTED = {"EVENT-ANSWER-BLANK": "Y", "EVENT-ANSWER-CONTRADICTS-DATE": "Y, or no date",
             "EVENT-DATE-MISSING": "the date of the event"}


def _shown(value: object) -> str:
    return "" if pd.isna(value) else str(value)


def event_answer_findings(followup: pd.DataFrame, locate: Locate) -> list[Finding]:
    """Per event question: EVENT-ANSWER-BLANK (a date beside a blank answer: counted),
    EVENT-ANSWER-CONTRADICTS-DATE (a date beside "N": not counted) and EVENT-DATE-MISSING ("Y" without a
    date: counted, but the analysis cannot place it in time)."""
    out: list[Finding] = []
    for answer_field, date_field in EVENT_DATES.items():
        if followup.empty or answer_field not in followup.columns or date_field not in followup.columns:
            continue
        answer, date = followup[answer_field], followup[date_field]
        dated = date.notna().to_numpy(dtype=bool)
        blank = (answer.isna() | (answer.astype("string").str.strip() == "")).fillna(True).to_numpy(dtype=bool)
        said_no = answer.eq("N").fillna(False).to_numpy(dtype=bool)
        said_yes = answer.eq("Y").fillna(False).to_numpy(dtype=bool)
        for rule, mask in (("EVENT-ANSWER-BLANK", dated & blank), ("EVENT-ANSWER-CONTRADICTS-DATE", dated & said_no),
                           ("EVENT-DATE-MISSING", said_yes & ~dated)):
            for _, row in followup[mask].iterrows():
                out.append(Finding(
                    rule, str(row["study"]), str(row["site"]), str(row["subjid"]), "followup", answer_field,
                    _shown(row[date_field]), _EXPECTED[rule], "", str(row["src_file"]), str(row["src_sha256"]), locate(row, answer_field),
                    str(row["row_id"])))
    return out
