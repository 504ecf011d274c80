"""Study A's safety estimand as the protocol counts it: from enrollment to day 365 in every ITT subject
(infused or not), beside the on-treatment count in the safety population."""

from __future__ import annotations

import pandas as pd

from dli_etl.endpoints.protocol import ITT, itt_safety_rows


def _adsl():
    return pd.DataFrame({"USUBJID": ["A1", "A2", "A3"], "ARMCD": ["PROPH", "PROPH", "PREEMPT"],
                         "ENRLDT": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-01"]),
                         "ITTFL": ["Y", "Y", "Y"], "SAFFL": ["Y", "N", "Y"]})


def test_infections_from_enrollment_to_day_365_in_the_itt():
    adae = pd.DataFrame({"USUBJID": ["A1", "A2", "A3"], "INFFL": ["Y", "Y", "Y"],
                         "INFCAT": ["FUNGAL", "VIRAL", "BACTERIAL"],
                         "ASTDT": pd.to_datetime(["2026-12-31", "2026-04-10", "2027-01-02"])})  # day 364, 99, 366
    rows = itt_safety_rows("DLIPRO", _adsl(), pd.DataFrame(), adae, 365)
    assert all(r["POPULATION"] == ITT and r["TIMEPOINT"] == "enrollment to 1 year" for r in rows)
    by_arm = {r["ANALYSIS_GROUP"]: r for r in rows if r["ENDPOINT"] == "Infection: any"}
    # A2 was never infused (not in the safety population) but counts here; A3's infection is on day 366
    assert (by_arm["PROPH"]["N"], by_arm["PROPH"]["EVENTS"]) == (2, 2)
    assert (by_arm["PREEMPT"]["N"], by_arm["PREEMPT"]["EVENTS"]) == (1, 0)
    fungal = {r["ANALYSIS_GROUP"]: r["EVENTS"] for r in rows if r["ENDPOINT"] == "Infection: fungal"}
    assert fungal == {"PROPH": 1, "PREEMPT": 0}


def test_marrow_suppression_before_the_first_dli_counts_from_enrollment():
    adlb = pd.DataFrame({"USUBJID": ["A1", "A1", "A3"], "PARAMCD": ["NEUT", "PLAT", "HGB"],
                         "ATOXGRN": pd.Series([3, 2, 4], dtype="Float64"),
                         "ADT": pd.to_datetime(["2026-01-20", "2026-02-01", "2027-03-01"])})
    adae = pd.DataFrame(columns=["USUBJID", "INFFL", "INFCAT", "ASTDT"])
    rows = itt_safety_rows("DLIPRO", _adsl(), adlb, adae, 365)
    neut = {r["ANALYSIS_GROUP"]: r["EVENTS"] for r in rows if r["ENDPOINT"] == "Marrow suppression: Neutropenia"}
    anyone = {r["ANALYSIS_GROUP"]: r["EVENTS"] for r in rows if r["ENDPOINT"] == "Marrow suppression: any"}
    assert neut == {"PROPH": 1, "PREEMPT": 0}  # grade 3 on day 19 counts; PLAT grade 2 does not
    assert anyone == {"PROPH": 1, "PREEMPT": 0}  # A3's grade 4 is after day 365
