"""Published bytes are reproducible; the report renders offline; workbooks keep cell text as text."""

import hashlib
import re

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import create_engine, inspect

from dli_etl.pipeline import run_pipeline
from dli_etl.publish import publish, publish_sql
from dli_etl.report import write_findings_xlsx


def _digest(folder):
    """Curated, quarantined, SDTM and findings files (the query table carries run ids by design)."""
    keep = ("curated/", "quarantine/", "sdtm/", "findings/", "staged/", "adam/")
    live = (folder / "current").resolve()  # the release the run switched to
    return {p.relative_to(live).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(live.rglob("*.parquet")) if p.relative_to(live).as_posix().startswith(keep)}


def test_same_inputs_same_curated_parquet_bytes(generated_defects, run_defects, tmp_path):
    again = run_pipeline(generated_defects.landing, tmp_path / "again", expectations=False)  # as run_defects
    first, second = _digest(run_defects.out), _digest(again.out)
    assert first and first == second


def test_report_is_self_contained(run_defects):
    html = run_defects.report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://""", html), "no CDN assets: the report must render offline"
    assert "Row and value accounting" in html and "values nulled" in html and "PRIV-UNDECLARED-IDENTIFIER" in html
    assert "findings.xlsx" in html
    # the listing filters and sorts offline; the heat map lists error rules before warnings and notes
    assert 'id="finding-filter"' in html and "localeCompare" in html and "<script src" not in html
    assert "Source coverage" in html


def test_findings_workbook_is_filterable_and_formula_safe(tmp_path):
    findings = pd.DataFrame([{
        "finding_id": "F-1", "severity": "error", "rule_id": "DATE-INVALID", "category": "conformance",
        "study": "DLIPRO", "site": "S01", "subjid": "01-001", "form": "dli", "field": "dlidt",
        "value": "=HYPERLINK(\"http://x\")", "expected": "", "message": "m", "src_file": "f", "src_locator": "CBC!B2",
    }])
    path = write_findings_xlsx(findings, tmp_path / "f.xlsx")
    ws = openpyxl.load_workbook(path)["Findings"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    cell = ws["J2"]
    assert cell.value == "=HYPERLINK(\"http://x\")" and cell.data_type == "s"


def test_publish_to_another_sqlalchemy_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    frame = pd.DataFrame({"USUBJID": pd.Series(["A", None], dtype="string"), "AGE": pd.Series([1.0, None], dtype="Float64")})
    result = publish({"sdtm/x/dm": frame}, {"sdtm_dm": frame}, tmp_path, url)
    assert result.sql_tables == {"sdtm_dm": 2}
    engine = create_engine(url)
    assert "sdtm_dm" in inspect(engine).get_table_names()
    back = pd.read_sql("select * from sdtm_dm", engine)
    assert back["USUBJID"].isna().sum() == 1
    engine.dispose()


def test_heat_map_colours_by_severity_and_p_values_read_as_published():
    from dli_etl.report import _heat, p_value_text

    assert "192, 57, 43" in _heat(1, 10, "error") and "127, 140, 141" in _heat(10, 10, "info")
    assert p_value_text(0.00001) == "<0.0001" and p_value_text(0.04321) == "0.0432" and p_value_text(None) == ""


def test_adam_dictionary_names_every_published_variable_and_no_other(run_defects):
    """specs/adam_variables.csv is the analysts' data dictionary: every ADaM column published has a label
    (<= 40 characters, as SAS transport allows) and a derivation, and the dictionary lists nothing that is
    not published."""
    import csv
    from importlib import resources

    rows = list(csv.DictReader((resources.files("dli_etl") / "specs" / "adam_variables.csv").open(encoding="utf-8")))
    listed = {(r["dataset"], r["variable"]) for r in rows}
    assert all(0 < len(r["label"]) <= 40 and r["derivation"] and r["type"] in ("Char", "Num") for r in rows)
    published = set()
    for path in (run_defects.out / "adam" / "pooled").glob("*.parquet"):
        schema = pq.read_schema(path)
        published |= {(path.stem.upper(), name) for name in schema.names}
        labelled = {f.name for f in schema if f.metadata and b"label" in f.metadata}
        assert labelled == set(schema.names), path.name
    assert published == listed


def test_findings_workbook_has_the_sheets_a_validator_report_has(run_defects):
    """Summary, Issue summary, Datasets, Rules and Findings; each summary adds up to the findings and the
    row accounting published beside it."""
    path = run_defects.out / "report" / "findings.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Issue summary", "Datasets", "Rules", "Findings"]
    assert book.active.title == "Summary"

    def table(name: str) -> pd.DataFrame:
        rows = list(book[name].values)
        return pd.DataFrame(rows[1:], columns=rows[0])

    findings = pd.read_parquet(run_defects.out / "findings" / "findings.parquet")
    accounting = pd.read_parquet(run_defects.out / "findings" / "row_accounting.parquet")
    summary, issues, datasets, rules = (table(n) for n in ("Summary", "Issue summary", "Datasets", "Rules"))
    assert len(table("Findings")) == len(findings)
    assert issues["findings"].sum() == len(findings)
    for study, part in findings.groupby("study"):
        row = summary[summary["study"] == study].iloc[0]
        assert row["errors"] == (part["severity"] == "error").sum()
        assert row["rows_in"] == accounting.loc[accounting["study"] == study, "rows_in"].sum()
        mine = issues[issues["study"] == study].set_index("rule_id")["findings"]
        assert mine.to_dict() == part.groupby("rule_id").size().to_dict()
    assert datasets["values_read"].sum() == accounting["values_read"].sum() and len(datasets) == len(accounting)
    assert set(issues["rule_id"]) <= set(rules["rule_id"])
    severities = issues.groupby("study")["severity"].apply(list)
    order = {"error": 0, "warning": 1, "info": 2}
    assert all([order[s] for s in seq] == sorted(order[s] for s in seq) for seq in severities)  # errors first


def test_a_column_mixing_numbers_and_text_is_published_as_text(tmp_path):
    """Arrow refuses an object column of ints and strings; the warehouse gets it as text, nulls as NULL."""
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    frame = pd.DataFrame({"VALUE": pd.Series([1, "x", None], dtype=object), "N": [1.5, float("nan"), 2.0]})
    assert publish_sql({"mixed": frame}, url, "r") == {"mixed": 3}
    engine = create_engine(url)
    try:
        back = pd.read_sql("select * from mixed", engine)
    finally:
        engine.dispose()
    assert back["VALUE"].tolist()[:2] == ["1", "x"] and back["VALUE"].isna().tolist() == [False, False, True]
    assert back["N"].isna().tolist() == [False, True, False]


def test_completeness_counts_blank_and_null_as_missing_per_site_and_held_back_rows_in():
    """Filled share per site and field over curated plus held-back rows; blank text and nulls are gaps,
    fields outside the form's spec and rows without a site are not counted."""
    from dli_etl.harmonize.study import HarmonizeResult
    from dli_etl.ingest.raw_form import IngestResult
    from dli_etl.pipeline import StudyRun, completeness

    curated = pd.DataFrame({"site": ["S01", "S01", "S01", "S02", None],
                            "aeterm": ["Nausea", " ", None, "Fatigue", "Rash"],
                            "aetoxgr": pd.array([1, 2, None, None, 3], dtype="Int64"),
                            "not_in_spec": ["x", "x", "x", "x", "x"]})
    held = pd.DataFrame({"site": ["S02"], "aeterm": ["Fever"], "aetoxgr": pd.array([2], dtype="Int64"),
                         "quarantine_reasons": ["ID-UNKNOWN"]})
    run = StudyRun("DLIPRO", IngestResult("DLIPRO"),
                   HarmonizeResult("DLIPRO", curated={"adverse_event": curated}, quarantine={"adverse_event": held}))
    table = completeness([run])
    assert set(table["field"]) == {"aeterm", "aetoxgr"}
    share = table.set_index(["site", "field"])
    # S01: "Nausea" of three (a blank and a null are gaps); S02: both its rows, the held-back one too
    assert share.loc[("S01", "aeterm"), "filled_pct"] == 33.3 and share.loc[("S01", "aeterm"), "rows"] == 3
    assert share.loc[("S01", "aetoxgr"), "filled_pct"] == 66.7
    assert share.loc[("S02", "aeterm"), "filled_pct"] == 100.0 and share.loc[("S02", "aeterm"), "rows"] == 2
    assert share.loc[("S02", "aetoxgr"), "filled_pct"] == 50.0
    assert list(table["site"]) == ["S01", "S02", "S01", "S02"]  # spec field order, then site
