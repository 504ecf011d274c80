"""The hostile corpus (``tests/hostile/make_corpus.py``): every hostile input the robustness probe found,
planted in one landing folder, one pipeline run. Each case ends in its finding on its own file; the run
still publishes every other site; accounting balances in the published files; nothing is written outside
the output folder; every workbook a site receives opens and holds no formula."""

from __future__ import annotations

import pandas as pd
import pytest
from hostile.make_corpus import build_corpus
from openpyxl import load_workbook

from dli_etl.pipeline import run_pipeline

CLEAN_SUBJECTS = {"DLIPRO": 200, "DLIPLX": 28}


@pytest.fixture(scope="module")
def corpus(generated_clean, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    # the bomb unpacks to 600 MiB, above the 512 MiB limit; the reader only ever reads the zip directory
    cases = build_corpus(generated_clean.landing, root / "landing", bomb_mib=600)
    summary = run_pipeline(root / "landing", root / "out", expectations=False)
    current = root / "out" / "current"
    return {"root": root, "cases": cases, "summary": summary,
            "findings": pd.read_parquet(current / "findings" / "findings.parquet"),
            "accounting": pd.read_parquet(current / "findings" / "row_accounting.parquet"),
            "coverage": pd.read_parquet(current / "findings" / "source_coverage.parquet"), "current": current}


CASE_NAMES = ["repeated header", "formula without value", "bidi override", "merged cells",
              "formula-looking record id", "unreadable: DLIPRO_S03_notes.xlsx", "unreadable: DLIPRO_S03_empty.xlsx",
              "truncated workbook", "zip bomb", "far cell", "site id with a path", "mislabelled encoding",
              "control characters", "column not in the dictionary", "zip header, no zip"]


def test_the_corpus_covers_every_named_case(corpus):
    assert [c.name for c in corpus["cases"]] == CASE_NAMES


@pytest.mark.parametrize("name", CASE_NAMES)
def test_each_hostile_case_ends_in_its_finding_on_its_file(corpus, name):
    case = next(c for c in corpus["cases"] if c.name == name)
    findings = corpus["findings"]
    mine = findings[(findings["rule_id"] == case.rule_id) & (findings["src_file"] == case.file)]
    assert len(mine) >= 1, f"{name}: no {case.rule_id} on {case.file}"
    assert mine["message"].str.len().min() > 20  # a sentence a data manager can act on


def test_the_zip_bomb_and_the_far_cell_name_the_limit(corpus):
    findings = corpus["findings"]
    bomb = findings[findings["src_file"].str.endswith("DLIPRO_S05_extra.xlsx")]
    assert set(bomb["rule_id"]) == {"INGEST-LIMIT-EXCEEDED"}
    assert bomb["message"].str.contains("600 MiB, above the 512 MiB limit").all()
    far = findings[(findings["rule_id"] == "INGEST-LIMIT-EXCEEDED")]
    assert far["message"].str.contains("Z1000000").any()
    assert set(far["value"]) == {"Biochemistry", "DLIPRO_S05_extra.xlsx"}


def test_every_other_site_is_published_and_no_subject_is_lost_silently(corpus):
    summary, findings = corpus["summary"], corpus["findings"]
    # one EDC subject came with SiteRef x/../../PWNED: held back whole, with its reason, until the site is fixed
    assert summary.subjects == {"DLIPRO": CLEAN_SUBJECTS["DLIPRO"] - 1, "DLIPLX": CLEAN_SUBJECTS["DLIPLX"]}
    held = pd.read_parquet(corpus["current"] / "quarantine" / "DLIPRO" / "enrollment.parquet")
    assert len(held) == 1 and "ODM-SITE-UNKNOWN" in held["quarantine_reasons"].iloc[0]
    sites_read = set(corpus["accounting"].loc[corpus["accounting"]["rows_curated"] > 0, "site"])
    assert {"S01", "S02", "S03", "S04", "S05", "S06", "JLU"} <= sites_read
    # the raw SiteRef is shown to the data manager as the site sent it; no path was built from it
    assert set(findings.loc[findings["rule_id"] == "ODM-SITE-UNKNOWN", "site"]) == {"x/../../PWNED"}


def test_accounting_balances_in_the_published_files(corpus):
    acc = corpus["accounting"]
    assert (acc["rows_in"] == acc["rows_curated"] + acc["rows_held_back"]).all()
    assert (acc["values_read"] == acc["values_curated"] + acc["values_nulled"] + acc["values_held_back"]).all()
    cov = corpus["coverage"]
    assert (cov["values_in_source"] == cov["values_mapped"] + cov["values_identifier"] + cov["values_unmapped"]
            + cov["values_skipped"]).all()


def test_nothing_is_written_outside_the_output_folder(corpus):
    root = corpus["root"]
    # an unknown SiteRef is the data manager's to resolve (profile or export): its query goes to the data
    # manager's workbook, never to a workbook named after the hostile id, and nothing lands outside
    # a traversal would leave a file or folder named PWNED... above the output folder; other tests' safe
    # names (DLIPRO_x_PWNED_queries.xlsx) may sit beside it in this worker's temporary folder
    assert not list(root.parent.rglob("PWNED*"))
    assert not [p for p in root.rglob("*PWNED*") if "triage" not in p.parts]
    assert not [p for p in (root / "out").rglob("*") if ".." in p.name or "/" in p.name]
    manager = next((root / "out" / "runs").rglob("DLIPRO_data_manager_queries.xlsx"))
    rows = list(load_workbook(manager)["Queries"].iter_rows(min_row=2, values_only=True))
    assert any(str(r[8]).startswith("ODM-SITE-UNKNOWN: SiteRef 'x/../../PWNED'") for r in rows)


def test_every_site_workbook_opens_and_holds_no_formula(corpus):
    workbooks = list((corpus["current"] / "triage").rglob("*.xlsx")) + [corpus["current"] / "report" / "findings.xlsx"]
    assert len(workbooks) >= 5
    looked_like_formula = 0
    for path in workbooks:
        book = load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{path.name}!{cell.coordinate} is a formula"
                    if isinstance(cell.value, str):
                        assert "\x07" not in cell.value and "\u202e" not in cell.value
                        looked_like_formula += cell.value.startswith("=HYPERLINK")
    assert looked_like_formula >= 1  # the formula-looking record id is shown, as text
