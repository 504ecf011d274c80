"""`dli-etl scan` drafts a profile that, unedited, reads what the shipped profile reads; `check-profile`
tries a profile on the landing files it claims."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from month_sheet_workbook import PROFILE, build

from dli_etl.cli import main
from dli_etl.harmonize.forms import harmonize_form
from dli_etl.ingest.apply_profile import ingest_profile
from dli_etl.profile_scan import match_field, scan_workbook
from dli_etl.site_profile import load_profile, load_profiles
from dli_etl.specs import load_spec

SHIPPED = Path(__file__).resolve().parents[1] / "dli_etl" / "site_profiles"
LAYOUTS = [("DLIPRO", "S01"), ("DLIPRO", "S02"), ("DLIPRO", "S03"), ("DLIPLX", "JLU")]


def _typed_values(profile_path: Path, landing: Path) -> dict[tuple[str, str, str], object]:
    """(form, row_id, field) -> typed value, for every value the profile reads into a form."""
    profile = load_profile(profile_path)
    result = ingest_profile(profile, landing)
    values = {}
    for form in profile.forms:
        raws = result.frames_for(form)
        if not raws:
            continue
        typed, _, _ = harmonize_form(raws, form)
        for field in load_spec("forms")[form]["fields"]:
            if field not in typed.columns:
                continue
            for row_id, value in zip(typed["row_id"], typed[field], strict=True):
                if pd.notna(value):
                    values[(form, row_id, field)] = value
    return values


def _share_read(draft: Path, shipped: Path, landing: Path) -> float:
    """Share of the shipped profile's typed values that the draft reads to the same value."""
    ours, theirs = _typed_values(draft, landing), _typed_values(shipped, landing)
    same = sum(1 for key, value in theirs.items() if key in ours and ours[key] == value)
    return same / len(theirs)


@pytest.mark.parametrize(("study", "site"), LAYOUTS)
def test_a_scanned_profile_reads_what_the_shipped_one_reads(generated_clean, tmp_path, study, site):
    landing = generated_clean.landing
    workbook = next((landing / study / "sites" / site).glob("*.xlsx"))
    draft = scan_workbook(workbook, study, site)
    path = tmp_path / f"{site}.yaml"
    path.write_text(draft.to_yaml(), encoding="utf-8")
    share = _share_read(path, SHIPPED / study / f"{site}.yaml", landing)
    print(f"{study}/{site}: the scanned profile reads {share:.1%} of the shipped profile's values")
    assert share >= 0.90


def test_a_scanned_profile_reads_the_month_sheet_layout(generated_clean, tmp_path):
    landing = tmp_path / "landing"
    site = landing / "DLIPRO" / "sites" / "S02"
    site.mkdir(parents=True)
    build(next((generated_clean.landing / "DLIPRO" / "sites" / "S02").glob("*.xlsx")), site / "monthly.xlsx")
    (tmp_path / "written.yaml").write_text(PROFILE, encoding="utf-8")
    draft = scan_workbook(site / "monthly.xlsx", "DLIPRO", "S02")
    (tmp_path / "draft.yaml").write_text(draft.to_yaml(), encoding="utf-8")
    assert draft.profile["forms"]["mrd"]["sheet"] == "*年*月"
    assert draft.profile["forms"]["cbc"]["header_row"] == [4, 5]
    assert draft.profile["identifiers"] == {"姓名": "drop", "病案号": "pseudonymize"}
    share = _share_read(tmp_path / "draft.yaml", tmp_path / "written.yaml", landing)
    print(f"month-sheet layout: the scanned profile reads {share:.1%} of the hand-written profile's values")
    assert share >= 0.90


@pytest.mark.parametrize(("header", "field"), [
    ("白细胞(×10^9/L)", "wbc"), ("NEUT#", "anc"), ("Hb (g/dL)", "hgb"), ("血红蛋白 / Hb (g/L)", "hgb"),
    ("T.Bil (mg/dL)", "bili"), ("采样日期", "lbdtc"), ("Patient study no.", "subjid"), ("灵敏度(%)", "mrd_lod"),
    ("Creatinine (mg/dL)", "creat"), ("备注", None),
])
def test_headers_are_matched_by_their_words(header, field):
    assert match_field(header) == field


@pytest.fixture
def scratch_key(monkeypatch):
    monkeypatch.setenv("DLI_PSEUDONYM_KEY", "test-only-key-0123456789abcdef0123456789abcdef")


def test_check_profile_says_what_each_form_gets(generated_clean, capsys, scratch_key):
    code = main(["check-profile", str(SHIPPED / "DLIPRO" / "S02.yaml"), "--landing", str(generated_clean.landing)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "cbc: " in out and "rows" in out and "hgb" in out and "no problem with the profile itself" in out


def test_check_profile_names_a_missing_sheet(generated_clean, tmp_path, capsys, scratch_key):
    data = yaml.safe_load((SHIPPED / "DLIPRO" / "S02.yaml").read_text(encoding="utf-8"))
    data["forms"]["cbc"]["sheet"] = "血常规2"
    path = tmp_path / "S02.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code = main(["check-profile", str(path), "--landing", str(generated_clean.landing)])
    out = capsys.readouterr().out
    assert code == 1 and "INGEST-SHEET-MISSING: 血常规2" in out


def test_check_profile_finds_a_file_claimed_twice(generated_clean, tmp_path, capsys, scratch_key):
    data = yaml.safe_load((SHIPPED / "DLIPRO" / "S02.yaml").read_text(encoding="utf-8"))
    data["site"] = "S07"
    path = tmp_path / "S07.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code = main(["check-profile", str(path), "--landing", str(generated_clean.landing)])
    out = capsys.readouterr().out
    assert code == 1 and "is also claimed by" in out and "S02.yaml" in out


def test_a_run_reads_a_file_two_profiles_claim_once(generated_clean, tmp_path, scratch_key):
    from dli_etl.pipeline import ingest

    data = yaml.safe_load((SHIPPED / "DLIPRO" / "S02.yaml").read_text(encoding="utf-8"))
    data["site"] = "S07"
    (tmp_path / "S07.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = ingest("DLIPRO", generated_clean.landing, load_profiles(tmp_path))
    cbc_files = [raw.src_file for raw in result.frames_for("cbc")]
    assert len(cbc_files) == len(set(cbc_files))
    assert [f.rule_id for f in result.findings if f.rule_id == "INGEST-FILE-CLAIMED-TWICE"]


def test_scan_command_writes_a_valid_profile(generated_clean, tmp_path, capsys):
    workbook = next((generated_clean.landing / "DLIPRO" / "sites" / "S03").glob("*.xlsx"))
    code = main(["scan", str(workbook), "--study", "DLIPRO", "--site", "S03", "--out", str(tmp_path / "S03.yaml")])
    assert code == 0 and load_profile(tmp_path / "S03.yaml").forms
    assert "hidden sheet 'lookup' not scanned" in (tmp_path / "S03.yaml").read_text(encoding="utf-8")


def test_a_scanned_odm_profile_reads_what_the_shipped_edc_profile_reads(generated_clean, tmp_path):
    from dli_etl.export_scan import scan_odm

    export = next((generated_clean.landing / "DLIPRO" / "edc").glob("*.xml"))
    draft = scan_odm(export, "DLIPRO", "EDC")
    path = tmp_path / "EDC.yaml"
    path.write_text(draft.to_yaml(), encoding="utf-8")
    assert draft.profile["sites"] == ["S01", "S02", "S03", "S04", "S05", "S06"]
    share = _share_read(path, SHIPPED / "DLIPRO" / "EDC.yaml", generated_clean.landing)
    print(f"DLIPRO/EDC (ODM): the scanned profile reads {share:.1%} of the shipped profile's values")
    assert share >= 0.90


def test_scanning_a_public_odm_gives_a_valid_profile_and_says_what_it_could_not_place(public_data, tmp_path):
    from dli_etl.export_scan import scan_odm

    draft = scan_odm(public_data / "odm-odmlib" / "odm-data-snapshot.xml", "DLIPRO", "EDC")
    path = tmp_path / "EDC.yaml"
    path.write_text(draft.to_yaml(), encoding="utf-8")
    profile = load_profile(path)  # a draft is always a loadable profile
    assert profile.forms.get("enrollment", {}).get("fields", {}).get("IT.SEX") == "sex"
    assert any("not placed" in note for note in draft.notes)
