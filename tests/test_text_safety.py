"""Hostile text never stops a run: control characters, formulas and path tricks in site values."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd

from dli_etl.findings import Finding, findings_frame
from dli_etl.queries import update_queries, write_triage_workbooks
from dli_etl.report import write_findings_xlsx
from dli_etl.text_safety import path_component, workbook_text


def _findings() -> pd.DataFrame:
    return findings_frame([
        Finding("TYPE-NOT-NUMBER", "DLIPRO", "x/../../PWNED", "01-001\x07", "cbc", "hgb", "9\x07.1\x00", "",
                "", "DLIPRO/edc/a.xml", "0", "CBC!F2", "r1"),
        Finding("TYPE-NOT-NUMBER", "DLIPRO", "S01", "01-002", "cbc", "hgb", "=HYPERLINK(\"http://x\")", "", "",
                "DLIPRO/sites/S01/a.xlsx", "0", "CBC!F3", "r2"),
        Finding("TYPE-NOT-NUMBER", "DLIPRO", "S01", "01-003", "cbc", "hgb", "#N/A", "", "",
                "DLIPRO/sites/S01/a.xlsx", "0", "CBC!F4", "r3"),
    ])


def test_workbooks_take_control_characters_formulas_and_hostile_site_ids(tmp_path: Path):
    findings = _findings()
    xlsx = write_findings_xlsx(findings, tmp_path / "report" / "findings.xlsx")
    values = [c.value for row in openpyxl.load_workbook(xlsx)["Findings"].iter_rows(min_row=2) for c in row]
    assert "9.1" in values and not any("\x07" in str(v) or "\x00" in str(v) for v in values)
    # a value that would be a formula or an Excel error is kept as the text it was
    listed = [c for row in openpyxl.load_workbook(xlsx)["Findings"].iter_rows(min_row=2) for c in row
              if str(c.value).startswith(("=HYPERLINK", "#N/A"))]
    assert len(listed) == 2 and all(c.data_type == "s" for c in listed)
    empty = pd.DataFrame(columns=["query_id", "site_status", "response", "response_file"])
    queries, _ = update_queries(pd.DataFrame(), findings, empty, "r1")
    written = write_triage_workbooks(queries, tmp_path / "triage")
    assert len(written) == 2
    for path in written:
        assert path.resolve().is_relative_to((tmp_path / "triage").resolve())  # never outside the output
        assert ".." not in path.parts
    cells = [c for path in written for row in openpyxl.load_workbook(path)["Queries"].iter_rows(min_row=2) for c in row]
    formula = [c for c in cells if str(c.value).startswith("=HYPERLINK") or c.value == "#N/A"]
    assert {c.value for c in formula} == {"#N/A", '=HYPERLINK("http://x")'}
    assert all(c.data_type == "s" for c in formula)  # written as text, never evaluated


def test_path_component_and_workbook_text():
    assert path_component("x/../../PWNED") == "x_PWNED"
    assert path_component("") == "unassigned" and path_component(None) == "unassigned"
    assert path_component("S01") == "S01"
    assert workbook_text("a\x07b\x00c\td") == "abc\td" and workbook_text(pd.NA) == ""


def test_a_control_character_in_a_source_value_is_reported_and_stripped():
    from dli_etl.harmonize.forms import harmonize_raw
    from dli_etl.ingest.raw_form import RawForm

    frame = pd.DataFrame({"study": ["DLIPRO"], "site": ["S01"], "subjid": ["01-001"], "sex": ["\x07M"],
                          "rficdtc": ["2025-01-02"], "brthdtc": ["1970-01-01"], "diagnosis": ["AML"],
                          "src_file": ["f.xlsx"], "src_sha256": ["0"], "src_format": ["xlsx"], "src_locator": ["E!2"],
                          "src_row": ["2"], "row_id": ["f#E!2#2"]}, dtype="string")
    typed, found, _ = harmonize_raw(RawForm("DLIPRO", "enrollment", "xlsx", "f.xlsx", frame), "enrollment")
    assert [(f.rule_id, f.field) for f in found] == [("TEXT-CONTROL-CHARACTER", "sex")]
    assert typed["sex"].tolist() == ["M"]


def test_data_docs_get_an_absolute_folder_from_a_relative_out(monkeypatch):
    """GX refuses a relative base directory; the CLI's default --out is relative."""
    from dli_etl import pipeline
    from dli_etl.sdtm import expectation_suites

    seen = {}

    def fake_validate(study, domains, docs, details=None, cache_dir=None):
        seen["docs"] = docs
        return [], {}, None

    monkeypatch.setattr(expectation_suites, "validate_domains", fake_validate)
    pipeline.check_expectations("DLIPRO", pipeline.SdtmResult({}, pd.DataFrame()), Path("dli-etl-out"), data_docs=True)
    assert seen["docs"].is_absolute()


def test_invisible_formatting_characters_count_as_control_characters():
    """Zero-width and bidirectional characters change how a value reads without showing; letters of any
    script, accents, tab and newline stay."""
    from dli_etl.text_safety import has_control_characters

    hostile = ["5.1\u202e", "01\u200b-001", "\ufeffM", "2026\u2066-01-02", "a\u200fb", "x\x07"]
    fine = ["正常", "café", "a\tb", "line\nbreak", "≥ 5%", "µg/kg"]
    assert has_control_characters(pd.Series(hostile)).all()
    assert not has_control_characters(pd.Series(fine)).any()
    assert [workbook_text(v) for v in hostile] == ["5.1", "01-001", "M", "2026-01-02", "ab", "x"]
