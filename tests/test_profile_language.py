"""Profile language v2: a real site layout (month sheets, two header rows, title block, unpivoted MRD
columns, constants, totals and spacer rows, a hidden sheet) is read with a profile alone."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from month_sheet_workbook import PROFILE, build

from dli_etl.ingest.apply_profile import ingest_xlsx
from dli_etl.ingest.raw_form import IngestResult
from dli_etl.pipeline import harmonize, ingest
from dli_etl.site_profile import load_profile, load_profiles

_CELL = re.compile(r"^(?P<sheet>.+)!(?P<col>[A-Z]*)(?P<row>\d+)$")


@pytest.fixture(scope="module")
def month_site(generated_clean, tmp_path_factory):
    """The clean landing with S02's lab workbook replaced by the month-sheet layout and its profile."""
    root = tmp_path_factory.mktemp("month_layout")
    landing = root / "landing"
    shutil.copytree(generated_clean.landing, landing)
    s02 = landing / "DLIPRO" / "sites" / "S02"
    clean = next(s02.glob("*.xlsx"))
    workbook = s02 / "S02_检验汇总_2026.xlsx"
    planted = build(clean, workbook)
    clean.unlink()
    profiles = root / "profiles"
    profiles.mkdir()
    (profiles / "S02.yaml").write_text(PROFILE, encoding="utf-8")
    ingested = ingest("DLIPRO", landing, load_profiles(profiles))
    harmonized = harmonize(ingested)
    return planted, ingested, harmonized, workbook.relative_to(landing).as_posix(), landing


def _where(findings: pd.DataFrame) -> pd.DataFrame:
    cells = findings["src_locator"].fillna("").str.extract(_CELL.pattern)
    return findings.assign(sheet=cells["sheet"], row=pd.to_numeric(cells["row"]).astype("Int64"))


def test_every_planted_defect_is_found(month_site):
    planted, _, harmonized, src_file, _ = month_site
    found = _where(harmonized.findings[harmonized.findings["src_file"] == src_file])
    hits = {(r, s, int(w)) for r, s, w in zip(found["rule_id"], found["sheet"], found["row"], strict=True)
            if pd.notna(w)}
    missed = [p for p in planted if (p.rule_id, p.sheet, p.row) not in hits]
    assert len(planted) == 10 and missed == []


def test_no_error_on_a_clean_row(month_site):
    planted, _, harmonized, src_file, _ = month_site
    found = _where(harmonized.findings[harmonized.findings["src_file"] == src_file])
    errors = found[found["severity"] == "error"]
    planted_rows = {(p.sheet, p.row) for p in planted}
    false = errors[[(s, int(r)) not in planted_rows for s, r in zip(errors["sheet"], errors["row"].fillna(0), strict=True)]]
    assert false[["rule_id", "src_locator", "value"]].to_dict("records") == []


def test_month_sheets_stack_and_mrd_columns_become_records(month_site):
    _, ingested, harmonized, src_file, _ = month_site
    mrd = harmonized.curated["mrd"]
    mine = mrd[mrd["src_file"] == src_file]
    assert mine["src_locator"].str.extract(r"^(.+)!")[0].nunique() >= 3  # read from every month sheet
    assert set(mine["mrd_method"].dropna()) == {"FLOW CYTOMETRY", "QRT-PCR"}
    assert set(mine["specimen"].dropna()) == {"BONE MARROW"}
    # "阳性(0.75%)" is a positive WT1 with its value; "阴性" a negative flow result
    wt1 = mine[mine["mrd_result"].astype("string").str.startswith("阳性")]
    assert not wt1.empty and (wt1["mrd_result_qual"] == "POSITIVE").all() and wt1["mrd_result_pct"].notna().all()
    cbc = harmonized.curated["cbc"]
    cbc = cbc[cbc["src_file"] == src_file]
    assert cbc["hgb"].between(5, 20).all()  # g/L converted to g/dL
    assert cbc["lbdtc"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()  # dotted dates read
    assert cbc["id_pseudonym"].str.startswith("P-").all()


def test_totals_spacers_and_the_hidden_sheet_are_accounted(month_site):
    _, ingested, _, src_file, _ = month_site
    findings = pd.DataFrame([f.__dict__ for f in ingested.findings if f.src_file == src_file])
    skipped = findings[findings["rule_id"] == "INGEST-ROW-SKIPPED"]
    assert skipped["value"].str.startswith("合计").sum() >= 3 and skipped["value"].str.startswith("——").sum() >= 3
    hidden = findings[findings["rule_id"] == "INGEST-SHEET-HIDDEN"]
    assert list(hidden["value"]) == ["模板"] and list(hidden["detail"]) == [f"{2 * 15} values"]
    coverage = [c for c in ingested.coverage if c.src_file == src_file]
    assert all(c.balanced for c in coverage)
    months = [c for c in coverage if c.status == "read"]
    # the name column is a declared identifier; nothing else on a month sheet is left unread
    assert sum(c.values_unmapped for c in months) == 0 and sum(c.values_identifier for c in months) > 0
    assert sum(c.values_skipped for c in months) > 0


def test_a_column_no_profile_reads_is_counted(month_site, tmp_path):
    _, ingested, _, src_file, landing = month_site
    profile_path = tmp_path / "S02.yaml"
    profile_path.write_text(PROFILE.replace("        MRD flow: {mrd_method: FLOW CYTOMETRY, mrd_marker: LAIP}\n", ""),
                            encoding="utf-8")
    profile = load_profile(profile_path)
    result = IngestResult("DLIPRO")
    workbook = landing / src_file
    ingest_xlsx(profile, workbook, src_file, result)
    unmapped = [f for f in result.findings if f.rule_id == "INGEST-COLUMN-UNMAPPED"]
    flow_values = sum(int((raw.frame["mrd_method"] == "FLOW CYTOMETRY").sum())
                      for raw in ingested.forms if raw.form == "mrd" and raw.src_file == src_file)
    assert [f.value for f in unmapped] == ["流式MRD / MRD flow"] * len(unmapped)
    assert sum(int(f.detail.split()[0]) for f in unmapped) == flow_values > 0
    assert all(c.balanced for c in result.coverage)
