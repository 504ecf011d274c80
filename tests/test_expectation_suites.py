"""Great Expectations suites: stored files match the metadata, clean SDTM passes, broken SDTM fails."""

import json
from pathlib import Path

import pandas as pd
import pytest

from dli_etl.sdtm.expectation_suites import (
    EXPECTATION_COLUMNS,
    SUITE_DOMAINS,
    build_suite,
    expectation_table,
    validate_domains,
)

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


def test_with_and_without_data_docs_the_same_findings(run_clean, tmp_path):
    """Without Data Docs the suites run on the batch directly, not through stored checkpoints: the
    outcome must not depend on which way GX was driven."""
    dm = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "dm.parquet")
    ae = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "ae.parquet")
    broken_dm, broken_ae = dm.copy(), ae.copy()
    broken_dm.loc[[0, 1], "SEX"] = ["X", "Q"]
    broken_dm.loc[5, "USUBJID"] = broken_dm.loc[6, "USUBJID"]
    broken_ae.loc[0, "AEENDTC"] = "2000-01-01"
    domains = {"dm": broken_dm, "ae": broken_ae, "ex": pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "ex.parquet")}
    direct, direct_success, no_docs = validate_domains("DLIPRO", domains)
    stored, stored_success, docs = validate_domains("DLIPRO", domains, tmp_path / "docs")
    assert no_docs is None and docs is not None and docs.exists()
    assert direct_success == stored_success == {"DM": False, "AE": False, "EX": True}
    assert sorted(map(repr, direct)) == sorted(map(repr, stored))
    assert {f.field for f in direct} == {"SEX", "USUBJID", "AEENDTC"}


def test_end_before_start_fails_the_ae_suite(run_clean):
    ae = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "ae.parquet")
    ae.loc[0, "AEENDTC"] = "2000-01-01"
    found, success, _ = validate_domains("DLIPRO", {"ae": ae})
    assert not success["AE"]
    assert any(f.expected == "expect_column_pair_values_a_to_be_greater_than_b" for f in found)


def test_expectation_level_results_are_kept_for_the_report(run_clean, tmp_path):
    """Per expectation: rows checked, how many were unexpected and which values, so the report can show
    what failed without Data Docs (which load their scripts from the web)."""
    dm = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "dm.parquet")
    broken = dm.copy()
    broken.loc[[0, 1], "SEX"] = ["X", "Q"]
    broken.loc[5, "USUBJID"] = broken.loc[6, "USUBJID"]
    details: list[dict] = []
    found, _, _ = validate_domains("DLIPRO", {"dm": broken}, details=details)
    rows = pd.DataFrame(details)
    assert set(rows.columns) == set(EXPECTATION_COLUMNS)
    assert len(rows) == len(build_suite("DM")["expectations"])
    sex = rows[(rows["column"] == "SEX") & (rows["expectation"] == "expect_column_values_to_be_in_set")].iloc[0]
    assert not sex["success"] and sex["element_count"] == len(dm) and sex["unexpected_count"] == 2
    assert sex["unexpected_percent"] == pytest.approx(100 * 2 / len(dm), abs=0.01)
    assert set(sex["unexpected_examples"].split(", ")) == {"X", "Q"}
    # each failed expectation gets its own details (they are fetched in a second pass, matched back)
    twice = rows[(rows["column"] == "USUBJID") & (rows["expectation"] == "expect_column_values_to_be_unique")].iloc[0]
    assert not twice["success"] and twice["unexpected_count"] == 2
    assert twice["unexpected_examples"] == broken.loc[6, "USUBJID"]
    assert {f.field for f in found} == {"SEX", "USUBJID"} and len(found) == 4
    passed = rows.drop(index=[sex.name, twice.name])
    assert passed["success"].all()
    # a passing row-wise expectation checked every row and found none unexpected
    row_wise = passed[~passed["expectation"].str.startswith("expect_table_")]
    assert (row_wise["element_count"] == len(dm)).all() and (row_wise["unexpected_count"] == 0).all()


def test_the_report_lists_failed_expectations_inline(run_clean):
    report = (run_clean.out / "report" / "dq_report.html").read_text(encoding="utf-8")
    section = report[report.index("Great Expectations on SDTM"):report.index("<h2>Source coverage</h2>")]
    assert "Expectations met: DLIPRO" in section and "DLIPLX" in section
    # the clean data meets every expectation: the report says so rather than showing an empty table
    assert "Every expectation was met." in section


def test_a_failed_expectation_is_shown_in_the_report_with_its_values(clean_runs, clean_analysis, tmp_path):
    from dataclasses import replace
    from pathlib import Path

    from dli_etl.pipeline import write_outputs

    run = clean_runs[0]
    broken = run.sdtm["dm"].copy()
    broken.loc[broken.index[:3], "SEX"] = "X"
    details: list[dict] = []
    _, success, _ = validate_domains(run.study, {"dm": broken}, details=details)
    runs = [replace(run, expectations=success, expectation_details=expectation_table(details)), *clean_runs[1:]]
    summary = write_outputs(runs, tmp_path / "out", Path("landing"), analysis=clean_analysis)
    report = summary.report.read_text(encoding="utf-8")
    section = report[report.index("Great Expectations on SDTM"):report.index("<h2>Source coverage</h2>")]
    assert f"Expectations met: {run.study} {len(details) - 1} of {len(details)}" in section
    row = section[section.index("<code>expect_column_values_to_be_in_set</code>"):]
    row = row[:row.index("</tr>")]
    assert "<td>SEX</td>" in row and '<td class="n bad">3</td>' in row and "<td>X</td>" in row


def test_an_unchanged_domain_reuses_its_outcome_and_a_changed_one_is_validated_again(run_clean, tmp_path,
                                                                                     monkeypatch):
    """Same content, same suite: the outcome comes from the cache, identical to a fresh run. A changed domain
    is validated again (a planted error is found) while the unchanged one still comes from the cache."""
    from dli_etl.sdtm import expectation_suites

    folder = run_clean.out / "sdtm" / "DLIPLX"
    domains = {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("dm", "ts")}
    cache = tmp_path / "cache"
    fresh_details: list[dict] = []
    fresh = validate_domains("DLIPLX", domains, None, fresh_details, cache)
    assert sorted(p.name.split("-")[0] for p in cache.iterdir()) == ["DM", "TS"]

    ran: list[str] = []
    real = expectation_suites.load_suite
    monkeypatch.setattr(expectation_suites, "load_suite", lambda d: ran.append(d) or real(d))
    again_details: list[dict] = []
    again = validate_domains("DLIPLX", domains, None, again_details, cache)
    assert ran.count("DM") == ran.count("TS") == 1  # each suite read once for its cache key, none run
    assert again[:2] == fresh[:2] and again_details == fresh_details

    broken = domains | {"dm": domains["dm"].assign(SEX=["X"] + domains["dm"]["SEX"].tolist()[1:])}
    found, success, _ = validate_domains("DLIPLX", broken, None, [], cache)
    assert success == {"DM": False, "TS": True}
    assert any(f.form == "DM" and f.field == "SEX" and f.value == "X" for f in found)
    assert sorted(p.name.split("-")[0] for p in cache.iterdir()) == ["DM", "TS"]  # the stale DM outcome is gone
