"""Great Expectations suites: stored files match the metadata, clean SDTM passes, broken SDTM fails."""

import json
from pathlib import Path

import pandas as pd

from dli_etl.sdtm.expectation_suites import SUITE_DOMAINS, build_suite, validate_domains

EXPECTATIONS = Path(__file__).resolve().parents[1] / "expectations"


def test_stored_suites_match_the_metadata():
    for domain in SUITE_DOMAINS:
        stored = json.loads((EXPECTATIONS / f"sdtm_{domain.lower()}.json").read_text(encoding="utf-8"))
        assert stored == json.loads(json.dumps(build_suite(domain))), f"regenerate: python scripts/build_expectation_suites.py ({domain})"


def test_clean_sdtm_passes_every_suite_and_data_docs_are_linked(run_clean):
    findings = pd.read_parquet(run_clean.out / "findings" / "findings.parquet")
    assert not (findings["rule_id"] == "GX-EXPECTATION-FAILED").any()
    assert not findings["rule_id"].str.startswith("XD-").any()
    for study in ("DLIPRO", "DLIPLX"):
        index = run_clean.out / "data_docs" / study / "index.html"
        assert index.exists()
        assert f"data_docs/{study}/index.html" in run_clean.report.read_text(encoding="utf-8")


def test_suites_catch_broken_sdtm(run_clean):
    dm = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "dm.parquet")
    broken = pd.concat([dm, dm.iloc[[0]]], ignore_index=True)  # a subject twice
    broken.loc[1, "SEX"] = "X"                                    # outside the non-extensible SEX codelist
    broken.loc[2, "RFSTDTC"] = "03/04/2026"                       # not ISO 8601
    broken.loc[3, "STUDYID"] = None                               # required variable missing
    found, success, _ = validate_domains("DLIPRO", {"dm": broken})
    assert success == {"DM": False}
    failed = {(f.field, f.expected) for f in found}
    assert ("USUBJID", "expect_column_values_to_be_unique") in failed
    assert ("SEX", "expect_column_values_to_be_in_set") in failed
    assert ("RFSTDTC", "expect_column_values_to_match_regex") in failed
    assert ("STUDYID", "expect_column_values_to_not_be_null") in failed
    sex = [f for f in found if f.field == "SEX"][0]
    assert sex.value == "X" and sex.site == "S01"  # row-level: the finding names the subject and site


def test_end_before_start_fails_the_ae_suite(run_clean):
    ae = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "ae.parquet")
    ae.loc[0, "AEENDTC"] = "2000-01-01"
    found, success, _ = validate_domains("DLIPRO", {"ae": ae})
    assert not success["AE"]
    assert any(f.expected == "expect_column_pair_values_a_to_be_greater_than_b" for f in found)
