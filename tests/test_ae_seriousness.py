"""Serious AEs carry their criteria (ICH E2A; SDTMIG 3.4: AESER "Y" needs a criterion "Y"), and a
subject who finished the protocol's one-year follow-up alive has an end-of-study disposition."""

from __future__ import annotations

import pandas as pd
import pytest

from dli_etl.rules.ae_seriousness import seriousness_findings

COLUMNS = ["usubjid", "aeterm", "aestdt", "aetoxgr", "aeser", "aeshosp", "aeslife", "aesdisab", "aesmie"]


def _ae(rows, src_file="edc.xml"):
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.assign(study="DLIPRO", site="S01", subjid=frame["usubjid"], src_file=src_file, src_sha256="",
                        row_id=[f"r{i}" for i in range(len(frame))])


def _rules(rows, **kwargs):
    return [f.rule_id for f in seriousness_findings(_ae(rows, **kwargs), lambda row, field: "")]


@pytest.mark.parametrize(("row", "rules"), [
    (("A", "Sepsis", "2026-01-01", 4, "Y", "Y", "Y", "N", "N"), []),
    (("A", "Sepsis", "2026-01-01", 3, "Y", "N", "N", "N", "Y"), []),           # medically important alone
    (("A", "Sepsis", "2026-01-01", 3, "Y", "N", "N", "N", "N"), ["AE-SERIOUS-NO-CRITERION"]),
    (("A", "Sepsis", "2026-01-01", 3, "Y", None, None, None, None), ["AE-SERIOUS-NO-CRITERION"]),
    (("A", "Sepsis", "2026-01-01", 5, "Y", "N", "N", "N", "N"), []),           # death is the criterion
    (("A", "Anemia", "2026-01-01", 3, "N", "N", "N", "N", "N"), []),
    (("A", "Anemia", "2026-01-01", 3, "N", "Y", "N", "N", "N"), ["AE-CRITERION-NOT-SERIOUS"]),
    (("A", "Anemia", "2026-01-01", 3, None, "N", "N", "N", "N"), []),          # seriousness unknown: not judged
])
def test_a_serious_ae_names_its_criterion(row, rules):
    other = ("B", "Anemia", "2026-01-01", 1, "N", "N", "N", "N", "N")  # the source records criteria
    assert _rules([row, other]) == rules


def test_a_source_that_never_records_criteria_is_not_queried_per_ae():
    rows = [("A", "Sepsis", "2026-01-01", 3, "Y", None, None, None, None),
            ("B", "Anemia", "2026-01-01", 1, "N", None, None, None, None)]
    assert _rules(rows) == []


@pytest.mark.parametrize("study", ["DLIPRO", "DLIPLX"])
def test_every_serious_ae_in_sdtm_has_a_criterion(run_clean, study):
    ae = pd.read_parquet(run_clean.out / "sdtm" / study / "ae.parquet")
    criteria = ["AESDTH", "AESHOSP", "AESLIFE", "AESDISAB", "AESMIE"]
    serious = ae[ae["AESER"] == "Y"]
    assert len(serious) > 0
    assert serious[criteria].eq("Y").any(axis=1).all()
    assert not ae.loc[ae["AESER"] == "N", criteria].eq("Y").any(axis=1).any()


@pytest.mark.parametrize("study", ["DLIPRO", "DLIPLX"])
def test_survivors_with_a_year_of_follow_up_complete_the_study(run_clean, study):
    """Both protocols follow each subject for one year from the reference start (randomization in Study A,
    enrollment in Study B): alive at day 365 or later is COMPLETED on the last contact; a death is DEATH;
    a survivor seen for less than a year is still in follow-up and has no end-of-study record."""
    sdtm = run_clean.out / "sdtm" / study
    dm = pd.read_parquet(sdtm / "dm.parquet").set_index("USUBJID")
    ds = pd.read_parquet(sdtm / "ds.parquet")
    followup = pd.read_parquet(run_clean.out / "curated" / study / "followup.parquet").set_index("usubjid")
    start = pd.to_datetime(dm["RFSTDTC"].str[:10])
    seen = (pd.to_datetime(followup["last_contact"]) - start.reindex(followup.index)).dt.days
    expected = set(followup.index[(followup["death"] == "N") & (seen >= 365)])
    completed = ds[ds["DSDECOD"] == "COMPLETED"]
    assert set(completed["USUBJID"]) == expected and expected
    assert (completed.set_index("USUBJID")["DSSTDTC"] == followup.loc[sorted(expected), "last_contact"]
            .astype(str).reindex(completed["USUBJID"]).to_numpy()).all()
    assert not set(completed["USUBJID"]) & set(ds.loc[ds["DSDECOD"] == "DEATH", "USUBJID"])
