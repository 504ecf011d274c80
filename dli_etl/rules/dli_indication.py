"""Whether a DLI had its protocol indication (both protocols in ../shared/seeds).

- Study A, preemptive arm: "DLI is initiated if the patient meets the criteria for MRD positivity". A
  preemptive DLI needs a positive MRD result (positivity per method, ``studies.yaml: mrd_positivity``) in
  the days before it (``preemptive_dli.mrd_positive_within_days``); otherwise ``PD-PREEMPT-DLI-WITHOUT-MRD``.
- Study B, second round: "The second round of DLI plus plerixafor will be given if the participants
  achieving partial remission or complete remission with positive minimal measurable disease". The
  response that decides is the last assessment after the previous DLI and on or before this one; PR
  qualifies, a CR (or CRh/CRi) only with its MRD positive (the last MRD result after the previous DLI and on
  or before this one). Anything else, or no assessment at all, is ``PD-REPEAT-DLI-INDICATION``.

Both are protocol deviations for the site to explain, never a reason to drop the infusion: the DLI stays
in EX and in every analysis.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding

Locate = Callable[[pd.Series, str], str]


def _dated(frame: pd.DataFrame, date_field: str) -> pd.DataFrame:
    """Rows whose date is a complete ISO date, with the date as text (ISO dates order as text)."""
    if frame.empty or date_field not in frame:
        return pd.DataFrame(columns=["usubjid", "_on"])
    on = frame[date_field].astype("string")
    keep = on.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).to_numpy(dtype=bool)
    return frame[keep].assign(_on=on[keep])


def _finding(rule: str, row: pd.Series, expected: str, detail: str, locate: Locate) -> Finding:
    return Finding(rule, str(row["study"]), str(row["site"]), str(row["subjid"]), "dli", "dlidt", str(row["dlidt"]),
                   expected, detail, str(row["src_file"]), str(row["src_sha256"]), locate(row, "dlidt"),
                   str(row["row_id"]))


def preemptive_dli_findings(dli: pd.DataFrame, randomization: pd.DataFrame, mrd: pd.DataFrame, arm: str,
                            within_days: int, locate: Locate) -> list[Finding]:
    """``PD-PREEMPT-DLI-WITHOUT-MRD`` for each DLI of a subject randomized to ``arm`` with no positive MRD
    result (``mrd["mrd_positive"] == "POSITIVE"``) dated from ``within_days`` before the DLI to its day."""
    if dli.empty or randomization.empty or "armcd" not in randomization:
        return []
    in_arm = set(randomization.loc[randomization["armcd"] == arm, "usubjid"])
    infusions = _dated(dli, "dlidt")
    infusions = infusions[infusions["usubjid"].isin(in_arm)]
    positives = _dated(mrd, "lbdtc")
    if "mrd_positive" in positives:
        positives = positives[positives["mrd_positive"] == "POSITIVE"]
    else:
        positives = positives.iloc[0:0]
    dates_by_subject = positives.groupby("usubjid")["_on"].apply(list).to_dict() if not positives.empty else {}
    out: list[Finding] = []
    for _, row in infusions.iterrows():
        day = pd.Timestamp(row["_on"])
        earliest = (day - pd.Timedelta(days=within_days)).strftime("%Y-%m-%d")
        dates = [d for d in dates_by_subject.get(row["usubjid"], []) if earliest <= d <= row["_on"]]
        if not dates:
            out.append(_finding("PD-PREEMPT-DLI-WITHOUT-MRD", row, f"a positive MRD result within {within_days} days before",
                                f"no positive MRD result from {earliest} to {row['_on']}", locate))
    return out


def repeat_dli_findings(dli: pd.DataFrame, response: pd.DataFrame, mrd: pd.DataFrame,
                        qualifying: list[str], qualifying_with_mrd: list[str], locate: Locate) -> list[Finding]:
    """``PD-REPEAT-DLI-INDICATION`` for each DLI after a subject's first whose deciding response (the last
    between the previous DLI and this one) is not in ``qualifying``, nor in ``qualifying_with_mrd`` with a
    positive MRD in the same interval; a DLI with no assessment in that interval is reported too."""
    infusions = _dated(dli, "dlidt").sort_values(["usubjid", "_on"])
    if infusions.empty:
        return []
    # each subject's assessments and MRD results in date order, as plain lists searched by bisection: a
    # boolean filter of pandas frames per infusion was the rule's cost at registry scale
    assessed = _by_subject(_dated(response, "rsdt"), "response")
    tested = _by_subject(_dated(mrd, "lbdtc"), "mrd_positive")
    expected = f"{' or '.join(qualifying)}, or {'/'.join(qualifying_with_mrd)} with MRD positive"
    out: list[Finding] = []
    for usubjid, rounds in infusions.groupby("usubjid", sort=False):
        previous = None
        on_dates, categories = assessed.get(usubjid, ([], []))
        mrd_dates, positivity = tested.get(usubjid, ([], []))
        for position, on in enumerate(rounds["_on"]):
            if previous is None or on == previous:
                previous = on
                continue
            row = rounds.iloc[position]
            # the last assessment after the previous DLI and on or before this one (the latest of a day's)
            last = bisect_right(on_dates, on) - 1
            if last < 0 or on_dates[last] <= previous:
                out.append(_finding("PD-REPEAT-DLI-INDICATION", row, expected,
                                    f"no response assessment between the DLI of {previous} and this one", locate))
            else:
                category = str(categories[last])
                if category in qualifying_with_mrd:
                    state = _last_mrd(mrd_dates, positivity, previous, on)
                    if state != "POSITIVE":
                        state = "no MRD result" if state is None else "MRD negative"
                        out.append(_finding("PD-REPEAT-DLI-INDICATION", row, expected,
                                            f"{category} on {on_dates[last]} with {state} before this DLI", locate))
                elif category not in qualifying:
                    out.append(_finding("PD-REPEAT-DLI-INDICATION", row, expected,
                                        f"{category} on {on_dates[last]} before this DLI", locate))
            previous = on
    return out


def _by_subject(dated: pd.DataFrame, column: str) -> dict[str, tuple[list[str], list[object]]]:
    """Per subject: its dates in order (ties in source order) and ``column`` beside them (None when the
    form has no such column)."""
    if dated.empty:
        return {}
    ordered = dated.sort_values("_on", kind="mergesort")
    return {usubjid: (list(part["_on"]), list(part[column]) if column in part else [None] * len(part))
            for usubjid, part in ordered.groupby("usubjid", sort=False)}


def _last_mrd(dates: list[str], positivity: list[object], previous: str, on: str) -> object | None:
    """The last MRD positivity recorded after ``previous`` and on or before ``on``; None if there is none."""
    for k in range(bisect_right(dates, on) - 1, -1, -1):
        if dates[k] <= previous:
            break
        if not pd.isna(positivity[k]):
            return positivity[k]
    return None
