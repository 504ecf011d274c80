"""From landing files to published tables: clean data gives no errors; planted defects are all found."""

import sqlite3

import pandas as pd
import pytest

from dli_etl.harmonize.study import HARMONIZED_FORMS
from dli_etl.ingest.odm_reader import read_odm


def _same_row(finding_locator: str, row_locator: str) -> bool:
    """A finding's cell lies in the manifest's row: same xlsx row, or inside the ODM/REDCap key path."""
    return finding_locator == row_locator or finding_locator.startswith((row_locator + "/", row_locator + ";"))


def read_findings(summary) -> pd.DataFrame:
    findings = pd.read_parquet(summary.out / "findings" / "findings.parquet")
    # xlsx cells (CBC!F17) compared with the manifest's rows (CBC!17)
    findings["row_locator"] = findings["src_locator"].str.replace(r"!([A-Z]+)(\d+)$", r"!\2", regex=True)
    return findings

# The rule a data manager should see for each planted defect class.
RULE_FOR_CLASS = {
    "dose_power_of_ten": "DOSE-POWER-OF-TEN",
    "dose_wrong_unit": "DOSE-NOT-PER-KG",
    "impossible_date": "DATE-INVALID",
    "dli_before_transplant": "ORDER-DLI-BEFORE-HSCT",
    "dli_outside_window": "PD-PROPH-DLI-WINDOW",
    "duplicate_subject": "ID-DUPLICATE-SUBJECT",
    "unknown_subject": "ID-UNKNOWN-SUBJECT",
    "missing_required": "REQ-MISSING",
    "identifier_column": "PRIV-UNDECLARED-IDENTIFIER",
    "ambiguous_date": "DATE-AMBIGUOUS",
    "mrd_above_100_percent": "MRD-IMPOSSIBLE",
    "ctcae_grade_contradiction": "CTCAE-GRADE-CONTRADICTS-LAB",
    "magic_grade_contradiction": "MAGIC-GRADE-CONTRADICTION",
    "cgvhd_severity_contradiction": "NIH-SEVERITY-CONTRADICTION",
}
COVERED = set(HARMONIZED_FORMS) | {"ingest"}
# Study B's protocol sets no DLI dose: an exponent slip there is caught by plausibility, not by a target
NO_DOSE_TARGET = {"DOSE-CD3-SHARE-IMPLAUSIBLE", "DOSE-CD3-EXCEEDS-MNC", "DOSE-OUT-OF-RANGE"}


def rules_for(defect) -> set[str]:
    if defect["defect_class"] == "dose_power_of_ten" and defect["study"] == "DLIPLX":
        return NO_DOSE_TARGET
    return {RULE_FOR_CLASS[defect["defect_class"]]}


def test_clean_data_has_no_error_findings(run_clean):
    findings = read_findings(run_clean)
    assert (findings["severity"] == "error").sum() == 0, findings.head(10).to_string()


def test_clean_data_gives_dm_for_all_228_subjects(run_clean, generated_clean):
    assert run_clean.subjects == {"DLIPRO": 200, "DLIPLX": 28}
    dm = pd.read_parquet(run_clean.out / "sdtm" / "pooled" / "dm.parquet")
    assert len(dm) == 228 and dm["USUBJID"].is_unique
    assert set(dm.loc[dm["STUDYID"] == "DLIPRO", "ARMCD"]) == {"PROPH", "PREEMPT"}
    assert set(dm.loc[dm["STUDYID"] == "DLIPLX", "ARMCD"]) == {"DLIPLX"}


def test_ex_has_one_record_per_dli(run_clean, generated_clean):
    odm = read_odm(next((generated_clean.landing / "DLIPRO" / "edc").glob("*.xml")))
    ex = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "ex.parquet")
    ex = ex[ex["EXTRT"] == "DONOR LYMPHOCYTE INFUSION"]
    assert len(ex) == len(odm.item_groups["IG.DLI"])
    assert (ex["EXDOSE"].between(8, 12)).all()  # 1.0e8 MNC/kg +-20% in 10^7/kg
    assert set(ex["EXDOSU"]) == {"10^7/kg"}
    supp = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "suppex.parquet")
    assert supp["QVAL"].astype(float).between(2.4, 3.6).all()  # CD3+ 3.0e7/kg in 10^7/kg


@pytest.mark.parametrize("run_name", ["run_clean", "run_defects"])
def test_every_row_and_value_is_accounted_for(run_name, request):
    summary = request.getfixturevalue(run_name)
    acc = summary.accounting
    assert not acc.empty
    assert (acc["rows_in"] == acc["rows_curated"] + acc["rows_held_back"]).all()
    assert (acc["values_read"] == acc["values_curated"] + acc["values_nulled"] + acc["values_held_back"]).all()
    assert (acc["values_unaccounted"] == 0).all()
    for study in ("DLIPRO", "DLIPLX"):
        for form in set(acc.loc[acc["study"] == study, "form"]):
            curated = pd.read_parquet(summary.out / "curated" / study / f"{form}.parquet")
            held = pd.read_parquet(summary.out / "quarantine" / study / f"{form}.parquet")
            assert len(curated) + len(held) == acc.loc[(acc["study"] == study) & (acc["form"] == form), "rows_in"].sum()
            assert held["quarantine_reasons"].notna().all()
        values = pd.read_parquet(summary.out / "quarantine" / study / "values.parquet")
        assert len(values) == acc.loc[acc["study"] == study, "values_nulled"].sum()
    published = pd.read_parquet(summary.out / "findings" / "row_accounting.parquet")
    assert published["values_read"].sum() == acc["values_read"].sum()


def test_every_planted_defect_is_found_by_its_rule(run_defects, manifest):
    findings = read_findings(run_defects)
    covered = manifest[manifest["covered_by"].isin(COVERED)]
    assert set(covered["defect_class"]) == set(RULE_FOR_CLASS), "every covered class is planted at least once"
    missed = []
    for _, defect in covered.iterrows():
        hits = findings[findings["rule_id"].isin(rules_for(defect)) & (findings["study"] == defect["study"])
                        & (findings["field"] == defect["field"])]
        if defect["defect_class"] == "identifier_column":
            hits = hits[hits["src_file"] == defect["file"]]
        else:
            hits = hits[(hits["subjid"] == defect["subjid"]) & (hits["src_file"] == defect["file"])
                        & hits["row_locator"].map(lambda loc, d=defect["locator"]: _same_row(loc, d))]
        if hits.empty:
            missed.append(f"{defect['defect_class']} {defect['study']} {defect['subjid']} {defect['field']}")
    recall = 1 - len(missed) / len(covered)
    assert not missed, f"recall {recall:.1%}; missed: {missed}"


def test_every_error_finding_points_at_a_planted_defect(run_defects, manifest):
    """Precision at row level: no error on a row the generator left clean."""
    findings = read_findings(run_defects)
    errors = findings[findings["severity"] == "error"]
    planted = manifest[["file", "locator"]].drop_duplicates()
    unexplained = []
    for _, f in errors.iterrows():
        rows = planted[planted["file"] == f["src_file"]]
        if f["rule_id"] == "PRIV-UNDECLARED-IDENTIFIER" and not rows.empty:
            continue
        if not any(_same_row(f["row_locator"], loc) for loc in rows["locator"]):
            unexplained.append(f"{f['rule_id']} {f['src_locator']}")
    assert not unexplained


def test_bad_dli_values_are_nulled_and_the_infusions_stay(run_defects, manifest):
    """A dose off by a power of ten, an impossible date or a DLI before transplant nulls that value only."""
    values = pd.read_parquet(run_defects.out / "quarantine" / "DLIPRO" / "values.parquet")
    dli_values = values[values["form"] == "dli"]
    reasons = set(";".join(dli_values["rule_ids"]).split(";"))
    assert {"DOSE-POWER-OF-TEN", "DATE-INVALID", "ORDER-DLI-BEFORE-HSCT"} <= reasons
    assert (dli_values["verbatim"].str.strip() != "").all()
    curated = pd.read_parquet(run_defects.out / "curated" / "DLIPRO" / "dli.parquet")
    for _, value in dli_values.iterrows():
        row = curated[curated["row_id"] == value["row_id"]]
        assert len(row) == 1, "the infusion stays in curated"
        assert pd.isna(row[value["field"]].iloc[0])
    held = pd.read_parquet(run_defects.out / "quarantine" / "DLIPRO" / "dli.parquet")
    # only unattributable infusions are held back: the planted unknown subjects
    assert set(";".join(held["quarantine_reasons"]).split(";")) == {"ID-UNKNOWN-SUBJECT"}
    ghosts = set(manifest.loc[(manifest["defect_class"] == "unknown_subject") & (manifest["study"] == "DLIPRO"), "subjid"])
    assert set(held["subjid"]) == ghosts


def test_protocol_deviation_is_a_warning_and_the_row_is_curated(run_defects):
    findings = read_findings(run_defects)
    deviations = findings[findings["rule_id"] == "PD-PROPH-DLI-WINDOW"]
    assert len(deviations) > 0 and set(deviations["severity"]) == {"warning"}
    curated = pd.read_parquet(run_defects.out / "curated" / "DLIPRO" / "dli.parquet")
    assert set(deviations["subjid"]) <= set(curated["subjid"])


def test_identifier_values_never_reach_outputs(run_defects, generated_defects):
    import openpyxl

    names = set()
    for path in generated_defects.landing.rglob("*.xlsx"):
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            for i, header in enumerate(rows[0] if rows else []):
                if header in ("Patient name", "患者姓名"):
                    names.update(str(r[i]) for r in rows[1:] if r[i])
    assert names, "the defect data should contain a name column"
    for path in run_defects.out.rglob("*"):
        if path.suffix in (".parquet", ".html", ".json"):
            text = path.read_bytes().decode("utf-8", errors="ignore")
            assert not any(name in text for name in names), path


def test_sql_warehouse_holds_the_same_tables(run_defects):
    db = run_defects.out / "warehouse.sqlite"
    with sqlite3.connect(db) as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        assert {"sdtm_dm", "sdtm_ex", "findings", "row_accounting", "quarantine_dli", "curated_dli"} <= tables
        dm_rows = con.execute("select count(*) from sdtm_dm").fetchone()[0]
    assert dm_rows == sum(run_defects.subjects.values())


def test_dm_variables_in_sdtm_order(run_clean):
    dm = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "dm.parquet")
    assert list(dm.columns[:4]) == ["STUDYID", "DOMAIN", "USUBJID", "SUBJID"]
    assert dm["RFSTDTC"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert (dm["AGE"] >= 18).all() and set(dm["AGEU"]) == {"YEARS"}


def test_studies_in_worker_processes_publish_what_one_process_does(generated_defects, run_defects, tmp_path,
                                                                   monkeypatch):
    """``workers=2`` (what ``dli-etl run --no-dagster`` does on two cores): Study B is read, harmonized
    and mapped in a forked worker while this process does Study A, and the release holds the same
    findings, accounting and SDTM as the one-process run of the same sources."""
    import os

    from dli_etl import pipeline

    real = pipeline.harmonize
    seen = tmp_path / "harmonized_by.txt"

    def recording(ingested, *args, **kwargs):
        with open(seen, "a", encoding="utf-8") as handle:  # the worker inherits this wrapper when forked
            handle.write(f"{ingested.study} {os.getpid()}\n")
        return real(ingested, *args, **kwargs)

    monkeypatch.setattr(pipeline, "harmonize", recording)
    lines: list[str] = []
    summary = pipeline.run_pipeline(generated_defects.landing, tmp_path / "out", expectations=False,
                                    echo=lines.append, workers=2)
    by = dict(line.split() for line in seen.read_text(encoding="utf-8").splitlines())
    assert by["DLIPRO"] == str(os.getpid()) and by["DLIPLX"] != str(os.getpid())
    assert [line.split("] ")[1].split(" ")[0] for line in lines] == [f"{n}/5" for n in range(1, 6)]
    assert summary.subjects == run_defects.subjects
    ours, plain = read_findings(summary), read_findings(run_defects)
    assert sorted(ours["finding_id"]) == sorted(plain["finding_id"])
    pd.testing.assert_frame_equal(summary.accounting.reset_index(drop=True),
                                  run_defects.accounting.reset_index(drop=True))
    for study in ("DLIPRO", "DLIPLX"):
        for domain in ("dm", "ae", "lb", "ex"):
            pd.testing.assert_frame_equal(pd.read_parquet(summary.out / "sdtm" / study / f"{domain}.parquet"),
                                          pd.read_parquet(run_defects.out / "sdtm" / study / f"{domain}.parquet"))
