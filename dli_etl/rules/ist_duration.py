"""Post-DLI GVHD prophylaxis duration by donor type (Study A protocol: cyclosporine A or methotrexate for
4-6 weeks after a fully matched transplant, 6-8 weeks after a haploidentical one).

Duration counts both the start and stop days (a course from day 1 to day 28 is 4 weeks). A course whose
stop date is missing, or that stops on or after the subject's last contact or death (follow-up ended, not
the course), cannot be judged and is not reported.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.rules.treatment_timeline import transplant_day

Locate = Callable[[pd.Series, str], str]


def ist_duration_findings(ist: pd.DataFrame, transplant: pd.DataFrame, followup: pd.DataFrame,
                          weeks_by_donor: dict[str, list[int]], locate: Locate) -> list[Finding]:
    """``PD-IST-DURATION`` for a course outside its donor type's weeks (``studies.yaml: ist_weeks``)."""
    if ist.empty or transplant.empty or not weeks_by_donor:
        return []
    donor = transplant.drop_duplicates("usubjid").set_index("usubjid")["donor_type"]
    ends = pd.Series(dtype="string")
    if not followup.empty:
        last = followup.drop_duplicates("usubjid").set_index("usubjid")
        ends = last["death_date"].astype("string").fillna(last["last_contact"].astype("string"))
    out: list[Finding] = []
    days = transplant_day(ist["ist_end"], ist["ist_start"]) + 1
    for idx, row in ist.iterrows():
        weeks = weeks_by_donor.get(str(donor.get(row["usubjid"], "")))
        if weeks is None or pd.isna(days.loc[idx]):
            continue
        end = ends.get(row["usubjid"])
        if end is not None and pd.notna(end) and str(row["ist_end"]) >= str(end)[:10]:
            continue
        low, high = 7 * weeks[0], 7 * weeks[1]
        if not low <= int(days.loc[idx]) <= high:
            out.append(Finding("PD-IST-DURATION", str(row["study"]), str(row["site"]), str(row["subjid"]),
                               "immunosuppression", "ist_end", f"{int(days.loc[idx])} days",
                               f"{weeks[0]}-{weeks[1]} weeks ({low}-{high} days) after a {str(donor.get(row['usubjid'])).lower()} transplant",
                               "", str(row["src_file"]), str(row["src_sha256"]), locate(row, "ist_end"),
                               str(row["row_id"])))
    return out
