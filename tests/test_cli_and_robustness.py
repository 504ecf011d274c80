"""The command line, broken inputs that must not stop a run, and onboarding a site by profile alone."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dli_etl import pipeline as pipeline_module
from dli_etl.cli import main
from dli_etl.pipeline import run_pipeline


def test_help_lists_commands_and_outputs(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    text = capsys.readouterr().out
    for word in ("generate", "run", "demo", "examples", "dq_report.html", "warehouse.sqlite"):
        assert word in text


def test_console_script_is_installed():
    exe = shutil.which("dli-etl")
    assert exe, "pip install should put dli-etl on PATH"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("dli-etl ")


def test_run_without_landing_folder_says_what_to_do(tmp_path, capsys):
    assert main(["run", "--landing", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-dagster"]) == 2
    assert "dli-etl generate" in capsys.readouterr().err


def test_generate_then_plain_run(tmp_path, capsys, monkeypatch):
    assert main(["generate", "--out", str(tmp_path), "--seed", "3", "--defect-rate", "0"]) == 0
    pools: list[int] = []
    real_pool = pipeline_module.forked_pool
    monkeypatch.setattr(pipeline_module, "forked_pool", lambda count, *a: pools.append(count) or real_pool(count, *a))
    # GX is run by the session fixture run_clean; here the command line itself is under test
    assert main(["run", "--landing", str(tmp_path / "landing"), "--out", str(tmp_path / "o"), "--no-dagster",
                 "--no-expectations", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "0 error" in out and "report" in out
    assert pools == [0]  # one process asked for: no worker for the second study
    with pytest.raises(SystemExit) as refused:
        main(["run", "--landing", str(tmp_path / "landing"), "--workers", "0"])
    assert refused.value.code == 2 and "--workers must be 1 or more" in capsys.readouterr().err


def test_broken_files_become_findings_and_the_run_goes_on(generated_clean, public_data, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(generated_clean.landing, landing)
    shutil.copy(public_data / "odm-odmlib" / "test_odm_001.xml", landing / "DLIPRO" / "edc" / "late_export.xml")
    (landing / "DLIPRO" / "sites" / "S01" / "DLIPRO_S01_extra.xlsx").write_bytes(b"not a zip file")
    (landing / "DLIPRO" / "sites" / "S02" / "notes.txt").write_text("call the site on Monday")
    summary = run_pipeline(landing, tmp_path / "out", expectations=False)
    findings = pd.read_parquet(tmp_path / "out" / "findings" / "findings.parquet")
    unreadable = findings[findings["rule_id"] == "INGEST-FILE-UNREADABLE"]
    assert set(unreadable["src_file"]) == {"DLIPRO/edc/late_export.xml", "DLIPRO/sites/S01/DLIPRO_S01_extra.xlsx"}
    assert unreadable["message"].str.contains("Ask the site for a fresh export").all()
    assert "DLIPRO/sites/S02/notes.txt" in set(findings.loc[findings["rule_id"] == "INGEST-NO-PROFILE", "src_file"])
    assert summary.subjects == {"DLIPRO": 200, "DLIPLX": 28}  # the readable files still made it through


def test_wrong_column_is_a_finding(generated_clean, tmp_path):
    import openpyxl

    landing = tmp_path / "landing"
    shutil.copytree(generated_clean.landing, landing)
    path = next((landing / "DLIPRO" / "sites" / "S04").glob("*.xlsx"))
    wb = openpyxl.load_workbook(path)
    wb["CBC"]["C1"] = "Leucocytes"  # the profile expects "WBC (10^9/L)"
    wb.save(path)
    run_pipeline(landing, tmp_path / "out", expectations=False)
    findings = pd.read_parquet(tmp_path / "out" / "findings" / "findings.parquet")
    missing = findings[findings["rule_id"] == "INGEST-COLUMN-MISSING"]
    assert missing.iloc[0]["expected"] == "WBC (10^9/L)" and missing.iloc[0]["src_locator"] == "CBC!1"
    unmapped = findings[findings["rule_id"] == "INGEST-COLUMN-UNMAPPED"]
    assert unmapped.iloc[0]["value"] == "Leucocytes"


def test_new_site_is_onboarded_with_a_profile_only(generated_clean, tmp_path):
    """Copy a site's workbook as a new site S07 and describe it in a profile folder: no code change."""
    landing = tmp_path / "landing"
    shutil.copytree(generated_clean.landing, landing)
    (landing / "DLIPRO" / "sites" / "S07").mkdir()
    shutil.copy(next((landing / "DLIPRO" / "sites" / "S02").glob("*.xlsx")),
                landing / "DLIPRO" / "sites" / "S07" / "labs.xlsx")
    shipped = Path(__file__).resolve().parents[1] / "dli_etl" / "site_profiles" / "DLIPRO" / "S02.yaml"
    profile = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    profile.update(site="S07", files=["sites/S07/*.xlsx"], source_name="New site")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "S07.yaml").write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    summary = run_pipeline(landing, tmp_path / "out", profiles_dir=profiles, expectations=False)
    acc = summary.accounting
    s07 = acc[(acc["site"] == "S07") & (acc["form"] == "cbc")]
    assert len(s07) == 1 and s07["rows_in"].iloc[0] > 0
    # the copied rows name S02's subjects, who are not enrolled at S07: held back, not lost
    assert s07["rows_held_back"].iloc[0] == s07["rows_in"].iloc[0]
    findings = pd.read_parquet(tmp_path / "out" / "findings" / "findings.parquet")
    assert "DLIPRO/sites/S07/labs.xlsx" not in set(findings.loc[findings["rule_id"] == "INGEST-NO-PROFILE", "src_file"])


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "dli_etl.cli", "generate", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "--seed" in out


def test_empty_landing_over_a_release_changes_nothing(run_defects, tmp_path, capsys):
    """A wrong or empty --landing must not replace a release that has both studies with an empty one."""
    import sqlite3

    out = tmp_path / "out"
    shutil.copytree(run_defects.out, out, symlinks=True)
    live = (out / "current").readlink()
    with sqlite3.connect(out / "warehouse.sqlite") as con:
        before = {t: con.execute(f"select * from {t} order by 1").fetchall() for t in ("sdtm_dm", "queries", "query_history")}
    landing = tmp_path / "landing"
    (landing / "DLIPROX").mkdir(parents=True)  # a typo'd study folder
    code = main(["run", "--landing", str(landing), "--out", str(out), "--no-dagster"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert any("DLIPROX" in line for line in err), err
    refusal = [line for line in err if line.startswith("error:")]
    assert len(refusal) == 1 and "DLIPRO" in refusal[0] and "--allow-empty" in refusal[0]
    assert (out / "current").readlink() == live
    with sqlite3.connect(out / "warehouse.sqlite") as con:
        after = {t: con.execute(f"select * from {t} order by 1").fetchall() for t in before}
    assert after == before
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(p.name for p in (run_defects.out / "runs").iterdir())


def test_a_query_whose_source_was_not_read_is_not_closed():
    from dli_etl.queries import empty_queries, update_queries

    previous = empty_queries()
    previous.loc[0] = {"query_id": "F-1", "study": "DLIPRO", "site": "S01", "subjid": "01-001", "form": "cbc",
                       "field": "hgb", "rule_id": "LAB-IMPLAUSIBLE", "severity": "error", "category": "plausibility",
                       "value": "250", "message": "m", "src_file": "DLIPRO/sites/S01/a.xlsx", "src_locator": "CBC!F2",
                       "status": "Open", "response": "", "first_seen_run": "r1", "last_seen_run": "r1",
                       "status_changed_run": "r1", "times_reopened": 0}
    no_findings = pd.DataFrame(columns=["finding_id", "severity"])
    responses = pd.DataFrame(columns=["query_id", "site_status", "response", "response_file"])
    kept, history = update_queries(previous, no_findings, responses, "r2", read_files={"DLIPRO/sites/S02/b.xlsx"},
                                   studies_read={"DLIPRO"})
    assert kept["status"].tolist() == ["Open"] and history.empty
    closed, history = update_queries(previous, no_findings, responses, "r2", read_files={"DLIPRO/sites/S01/a.xlsx"},
                                     studies_read={"DLIPRO"})
    assert closed["status"].tolist() == ["Closed"] and history["to_status"].tolist() == ["Closed"]


def test_a_repeated_header_is_reported_and_the_sheet_still_read(generated_clean, tmp_path):
    """A header written twice used to raise ValueError in ingest and stop the whole run."""
    import openpyxl

    from dli_etl.ingest.apply_profile import ingest_site
    from dli_etl.site_profile import load_profiles

    landing = tmp_path / "landing"
    shutil.copytree(generated_clean.landing, landing)
    path = next((landing / "DLIPRO" / "sites" / "S01").glob("*.xlsx"))
    wb = openpyxl.load_workbook(path)
    ws = wb["CBC"]
    header_row = 1  # S01's profile: the header is on row 1
    anc = next(c.column for c in ws[header_row] if c.value == "ANC (10^9/L)")
    extra = ws.max_column + 1
    for row in range(header_row, ws.max_row + 1):
        ws.cell(row=row, column=extra, value=ws.cell(row=row, column=anc).value)
    wb.save(path)
    result = ingest_site("DLIPRO", "S01", landing, load_profiles())
    repeated = [f for f in result.findings if f.rule_id == "INGEST-COLUMN-REPEATED"]
    assert len(repeated) == 1 and repeated[0].value == "ANC (10^9/L)"
    cbc = next(f for f in result.forms if f.form == "cbc")
    assert len(cbc.frame) > 0 and cbc.frame["anc"].str.len().gt(0).all()


def test_run_refuses_to_pseudonymise_without_a_key(tmp_path, capsys, monkeypatch):
    """A key printed in the code is public: 10^7 record numbers are reversed from HMAC(default key) in
    minutes. `run` refuses before reading anything; the manifest records only the key's fingerprint."""
    monkeypatch.delenv("DLI_PSEUDONYM_KEY", raising=False)
    assert main(["generate", "--out", str(tmp_path), "--seed", "3", "--defect-rate", "0"]) == 0
    code = main(["run", "--landing", str(tmp_path / "landing"), "--out", str(tmp_path / "o"), "--no-dagster"])
    err = capsys.readouterr().err
    assert code == 2 and "DLI_PSEUDONYM_KEY" in err
    assert not (tmp_path / "o" / "runs").exists()


def test_demo_uses_a_kept_throwaway_key(tmp_path, monkeypatch):
    import os

    from dli_etl.cli import _demo_pseudonym_key

    monkeypatch.delenv("DLI_PSEUDONYM_KEY", raising=False)
    _demo_pseudonym_key(tmp_path)
    first = os.environ["DLI_PSEUDONYM_KEY"]
    monkeypatch.delenv("DLI_PSEUDONYM_KEY")
    _demo_pseudonym_key(tmp_path)
    assert os.environ["DLI_PSEUDONYM_KEY"] == first and len(first) == 64  # same folder, same key


def test_the_manifest_names_the_key_by_fingerprint_only(run_defects):
    import hashlib
    import json
    import os

    key = os.environ["DLI_PSEUDONYM_KEY"]
    text = (run_defects.out / "run_manifest.json").read_text(encoding="utf-8")
    assert json.loads(text)["pseudonym_key"] == "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]
    assert key not in text
