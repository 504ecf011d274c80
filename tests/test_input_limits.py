"""Input limits: a zip bomb disguised as .xlsx and a sheet with one stray far cell are refused before any
reader builds them in memory; the rest of the source is read."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from dli_etl.ingest import input_limits
from dli_etl.ingest.apply_profile import ingest_xlsx
from dli_etl.ingest.errors import SourceReadError
from dli_etl.ingest.odm_reader import read_odm
from dli_etl.ingest.raw_form import IngestResult
from dli_etl.ingest.xlsx_reader import XlsxWorkbook
from dli_etl.site_profile import load_profile

PROFILE = """\
study: DLIPRO
site: S01
format: xlsx
files: ["sites/S01/*.xlsx"]
forms:
  cbc: {sheet: CBC, columns: {Subject ID: subjid, Sample date: lbdtc, WBC: wbc}}
  chemistry: {sheet: Chemistry, columns: {Subject ID: subjid, Sample date: lbdtc, ALT: alt}}
"""


def _workbook(path: Path, stray: str | None = None) -> Path:
    book = Workbook()
    cbc = book.active
    cbc.title = "CBC"
    cbc.append(["Subject ID", "Sample date", "WBC"])
    cbc.append(["01-001", "2026-03-01", "5.1"])
    chem = book.create_sheet("Chemistry")
    chem.append(["Subject ID", "Sample date", "ALT"])
    chem.append(["01-001", "2026-03-01", "20"])
    if stray:
        chem[stray] = "x"
    book.save(path)
    return path


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(input_limits, "limits", lambda: input_limits.Limits(1.0, 20_000_000, 1.0, 1.0))


def test_a_zip_bomb_is_refused_from_the_zip_directory(tmp_path, small_limits):
    path = _workbook(tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (3 * 1048576))  # 3 MiB, a few KiB compressed
    assert path.stat().st_size < 100_000
    with pytest.raises(SourceReadError, match="decompresses to 3 MiB, above the 1 MiB limit"):
        XlsxWorkbook(path)


def test_a_stray_far_cell_refuses_that_sheet_only(tmp_path):
    path = _workbook(tmp_path / "stray.xlsx", stray="Z1000000")
    profile_path = tmp_path / "S01.yaml"
    profile_path.write_text(PROFILE, encoding="utf-8")
    result = IngestResult("DLIPRO")
    ingest_xlsx(load_profile(profile_path), path, "sites/S01/stray.xlsx", result)
    refused = [f for f in result.findings if f.rule_id == "INGEST-LIMIT-EXCEEDED"]
    assert [(f.value, "Z1000000" in f.detail) for f in refused] == [("Chemistry", True)]
    assert [raw.form for raw in result.forms] == ["cbc"] and len(result.forms[0].frame) == 1


def test_the_farthest_cell_is_found_by_streaming(tmp_path):
    path = _workbook(tmp_path / "far.xlsx", stray="AB70")
    with zipfile.ZipFile(path) as archive:
        members = input_limits._sheet_members(archive)
        assert input_limits.farthest_cell(archive, members["Chemistry"]) == (70, 28)
        assert input_limits.farthest_cell(archive, members["CBC"]) == (2, 3)


def test_an_odm_file_above_the_limit_is_refused(tmp_path, small_limits):
    path = tmp_path / "big.xml"
    path.write_bytes(b"<ODM>" + b" " * (2 * 1048576) + b"</ODM>")
    with pytest.raises(SourceReadError, match="above the 1 MiB limit for an ODM file"):
        read_odm(path)


def test_an_odm_siteref_the_profile_does_not_list_is_held_back(generated_clean, tmp_path):
    import shutil

    from dli_etl.pipeline import harmonize, ingest

    landing = tmp_path / "landing"
    shutil.copytree(generated_clean.landing, landing)
    odm = next((landing / "DLIPRO" / "edc").glob("*.xml"))
    text = odm.read_text(encoding="utf-8")
    assert 'LocationOID="S01"' in text
    odm.write_text(text.replace('LocationOID="S01"', 'LocationOID="x/../../PWNED"', 1), encoding="utf-8")
    harmonized = harmonize(ingest("DLIPRO", landing))
    unknown = harmonized.findings[harmonized.findings["rule_id"] == "ODM-SITE-UNKNOWN"]
    assert not unknown.empty and set(unknown["value"]) == {"x/../../PWNED"}
    assert "x/../../PWNED" not in set(harmonized.curated["enrollment"]["site"])
    assert "x/../../PWNED" in set(harmonized.quarantine["enrollment"]["site"])


def test_a_file_a_reader_chokes_on_becomes_a_finding_and_the_others_are_read(tmp_path, monkeypatch):
    from dli_etl.ingest import apply_profile

    site = tmp_path / "DLIPRO" / "sites" / "S01"
    site.mkdir(parents=True)
    _workbook(site / "a_good.xlsx")
    _workbook(site / "b_bad.xlsx")
    profile_path = tmp_path / "S01.yaml"
    profile_path.write_text(PROFILE, encoding="utf-8")
    real = apply_profile.ingest_xlsx

    def flaky(profile, path, src_file, result):
        real(profile, path, src_file, result)
        if path.name == "b_bad.xlsx":
            raise RuntimeError("reader bug")

    monkeypatch.setattr(apply_profile, "ingest_xlsx", flaky)
    result = apply_profile.ingest_profile(load_profile(profile_path), tmp_path)
    assert {f.src_file for f in result.forms} == {"DLIPRO/sites/S01/a_good.xlsx"}
    bad = [f for f in result.findings if f.rule_id == "INGEST-FILE-UNREADABLE"]
    assert len(bad) == 1 and "RuntimeError: reader bug" in bad[0].detail
    assert [(f.path.rsplit("/", 1)[-1], f.status) for f in result.files] == [("a_good.xlsx", "read"), ("b_bad.xlsx", "unreadable")]


def test_formula_cells_without_a_saved_value_are_reported(tmp_path):
    path = _workbook(tmp_path / "formulas.xlsx")
    from openpyxl import load_workbook

    book = load_workbook(path)
    book["CBC"]["C3"] = "=C2*2"  # openpyxl writes the formula and no cached value, as many programs do
    book["CBC"]["A3"] = "01-002"
    book.save(path)
    profile_path = tmp_path / "S01.yaml"
    profile_path.write_text(PROFILE, encoding="utf-8")
    result = IngestResult("DLIPRO")
    ingest_xlsx(load_profile(profile_path), path, "sites/S01/formulas.xlsx", result)
    found = [f for f in result.findings if f.rule_id == "INGEST-FORMULA-NO-VALUE"]
    assert [(f.value, f.src_locator, f.detail) for f in found] == [("CBC", "CBC!C3", "1 cells: C3")]


def test_cells_under_a_merge_are_reported_unless_the_profile_fills_them_down(tmp_path):
    from openpyxl import load_workbook

    path = _workbook(tmp_path / "merged.xlsx")
    book = load_workbook(path)
    cbc = book["CBC"]
    cbc.append(["", "2026-03-08", "4.9"])
    cbc.merge_cells("A2:A3")  # one subject id written for two draws
    book.save(path)
    profile_path = tmp_path / "S01.yaml"
    profile_path.write_text(PROFILE, encoding="utf-8")
    result = IngestResult("DLIPRO")
    ingest_xlsx(load_profile(profile_path), path, "sites/S01/merged.xlsx", result)
    merged = [(f.field, f.detail) for f in result.findings if f.rule_id == "INGEST-MERGED-CELLS"]
    assert merged == [("subjid", "A2:A3")]
    declared = PROFILE.replace("cbc: {sheet: CBC,", "cbc: {sheet: CBC, fill_down: [subjid],")
    profile_path.write_text(declared, encoding="utf-8")
    result = IngestResult("DLIPRO")
    ingest_xlsx(load_profile(profile_path), path, "sites/S01/merged.xlsx", result)
    assert not [f for f in result.findings if f.rule_id == "INGEST-MERGED-CELLS"]
    assert list(result.frames_for("cbc")[0].frame["subjid"]) == ["01-001", "01-001"]
