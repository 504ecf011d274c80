"""Two data transfers: the site answers queries in its triage workbook and fixes some values; the next
run closes, keeps, accepts and reopens queries; a third transfer brings a fixed problem back."""

import shutil

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import create_engine

from dli_etl.pipeline import run_pipeline


def _queries(out) -> pd.DataFrame:
    return pd.read_parquet(out / "queries" / "queries.parquet").set_index("query_id")


@pytest.fixture(scope="module")
def transfers(generated_defects, manifest, run_defects, tmp_path_factory):
    root = tmp_path_factory.mktemp("transfers")
    out = root / "out"
    # the first transfer is the session's run of the same sources (GX off): its output folder, copied
    shutil.copytree(run_defects.out, out, symlinks=True)
    first = run_defects
    q1 = _queries(out)

    # Pick one DLIPRO site's workbook and the queries to answer in it.
    odm_dose = manifest[(manifest["study"] == "DLIPRO") & (manifest["defect_class"] == "dose_power_of_ten")].iloc[0]
    fixed = q1[(q1["rule_id"] == "DOSE-POWER-OF-TEN") & (q1["subjid"] == odm_dose["subjid"])].index[0]
    site = q1.loc[fixed, "site"]
    same_site = q1[q1["site"] == site]
    accepted_error = same_site[same_site["rule_id"].isin(["MRD-IMPOSSIBLE", "DATE-AMBIGUOUS"])].index[0]
    others = [q for q in same_site.index if q not in (fixed, accepted_error)]
    falsely_closed, answered_only, untouched = others[0], others[1], others[2]

    workbook_path = out / "triage" / "DLIPRO" / f"DLIPRO_{site}_queries.xlsx"
    wb = openpyxl.load_workbook(workbook_path)
    ws = wb["Queries"]
    answers = {
        fixed: ("Answered", "Transcription error, corrected in the EDC"),
        accepted_error: ("Answered", "Confirmed correct: value re-checked against the lab report"),
        falsely_closed: ("Closed", ""),
        answered_only: ("Answered", "Will check with the ward next week"),
    }
    for row in ws.iter_rows(min_row=2):
        if row[0].value in answers:
            row[1].value, row[2].value = answers[row[0].value]
    landing2 = root / "landing2"
    shutil.copytree(generated_defects.landing, landing2)
    (landing2 / "DLIPRO" / "query_responses").mkdir()
    wb.save(landing2 / "DLIPRO" / "query_responses" / workbook_path.name)

    # The site corrects the dose in the EDC: the next export carries the original value.
    odm = next((landing2 / "DLIPRO" / "edc").glob("*.xml"))
    text = odm.read_text(encoding="utf-8")
    needle = f'Value="{odm_dose["planted"]}"'
    assert text.count(needle) == 1
    odm.write_text(text.replace(needle, f'Value="{odm_dose["original"]}"'), encoding="utf-8")

    second = run_pipeline(landing2, out, expectations=False)
    q2 = _queries(out)
    third = run_pipeline(generated_defects.landing, out, expectations=False)  # the old export again: the dose error is back
    q3 = _queries(out)
    ids = dict(fixed=fixed, accepted_error=accepted_error, falsely_closed=falsely_closed,
               answered_only=answered_only, untouched=untouched)
    return dict(out=out, first=first, second=second, third=third, q1=q1, q2=q2, q3=q3, ids=ids, site=site)


def test_first_run_opens_a_query_per_root_cause(transfers):
    q1 = transfers["q1"]
    findings = pd.read_parquet(transfers["out"] / "findings" / "findings.parquet")  # last run's findings
    assert set(q1["status"]) == {"Open"}
    queried = findings[findings["severity"] != "info"]
    follows = queried["root_finding_id"].fillna("") != ""
    assert follows.any()  # the generator's wrong DLI dates make timing findings follow from them
    # one query per finding that is not a consequence; each consequence is listed on its root's query
    assert set(q1.index) == set(queried.loc[~follows, "finding_id"])
    assert set(queried.loc[follows, "root_finding_id"]) <= set(q1.index[q1["consequences"].fillna("") != ""])


def test_fixed_value_closes_its_query(transfers):
    assert transfers["q2"].loc[transfers["ids"]["fixed"], "status"] == "Closed"


def test_confirmed_correct_is_accepted_with_its_response(transfers):
    row = transfers["q2"].loc[transfers["ids"]["accepted_error"]]
    assert row["status"] == "Accepted"
    assert row["response"].startswith("Confirmed correct")


def _nulled(summary) -> pd.DataFrame:
    return pd.read_parquet(summary.out / "runs" / summary.run_id / "quarantine" / "DLIPRO" / "values.parquet")


def test_accepted_error_no_longer_nulls_its_value(transfers):
    ids, q1 = transfers["ids"], transfers["q1"]
    first, second = _nulled(transfers["first"]), _nulled(transfers["second"])
    for key in ("fixed", "accepted_error"):
        assert first["finding_ids"].str.contains(ids[key]).any(), f"the {key} value was nulled in the first run"
    # the corrected dose is curated again; its finding is gone
    assert not second["finding_ids"].str.contains(ids["fixed"]).any()
    still_null = second[second["finding_ids"].str.contains(ids["accepted_error"])]
    if q1.loc[ids["accepted_error"], "rule_id"] == "MRD-IMPOSSIBLE":
        assert still_null.empty  # the result the site confirmed is curated as reported
    else:
        # a date that reads two ways cannot be typed whatever the answer: still null, still explained
        assert len(still_null) == 1
    assert transfers["second"].accounting["rows_in"].sum() == transfers["first"].accounting["rows_in"].sum()
    assert (transfers["second"].accounting["rows_held_back"] == transfers["first"].accounting["rows_held_back"]).all()


def test_site_closing_an_unfixed_problem_reopens_it(transfers):
    row = transfers["q2"].loc[transfers["ids"]["falsely_closed"]]
    assert row["status"] == "Open" and row["times_reopened"] == 1


def test_answer_without_fix_is_kept_as_answered(transfers):
    row = transfers["q2"].loc[transfers["ids"]["answered_only"]]
    assert row["status"] == "Answered" and row["response"] == "Will check with the ward next week"
    assert transfers["q2"].loc[transfers["ids"]["untouched"], "status"] == "Open"


def test_problem_that_comes_back_reopens(transfers):
    row = transfers["q3"].loc[transfers["ids"]["fixed"]]
    assert row["status"] == "Open" and row["times_reopened"] == 1
    assert transfers["q3"].loc[transfers["ids"]["accepted_error"], "status"] == "Accepted"


def test_query_ids_are_stable_across_runs(transfers):
    assert set(transfers["q1"].index) <= set(transfers["q3"].index)


def test_history_persists_in_the_warehouse(transfers):
    engine = create_engine(f"sqlite:///{transfers['out'] / 'warehouse.sqlite'}")
    history = pd.read_sql("select * from query_history", engine)
    engine.dispose()
    fixed = history[history["query_id"] == transfers["ids"]["fixed"]]
    assert fixed["to_status"].tolist() == ["Open", "Closed", "Open"]
    assert history["run_id"].nunique() == 3


def test_triage_workbook_is_ready_to_send(transfers):
    path = transfers["out"] / "triage" / "DLIPRO" / f"DLIPRO_{transfers['site']}_queries.xlsx"
    ws = openpyxl.load_workbook(path)["Queries"]
    headers = [c.value for c in ws[1]]
    # the site picked is the one with the planted dose error: its workbook is in the site's own language
    from dli_etl.site_profile import load_profiles

    language = next(p.language for p in load_profiles() if p.study == "DLIPRO" and p.site == transfers["site"])
    words = {"en": (["Query ID", "Status", "Response"], "Where in your file", ["Open", "Answered", "Closed"]),
             "zh": (["质疑编号", "状态", "回复"], "在文件中的位置", ["待处理", "已回复", "已关闭"])}[language]
    assert headers[:3] == words[0] and words[1] in headers
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    validations = ws.data_validations.dataValidation
    assert validations and validations[0].formula1 == '"' + ",".join(words[2]) + '"'
    statuses = {ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)}
    assert statuses <= set(words[2][:2])  # closed and accepted queries are not sent again


@pytest.mark.parametrize(("answer", "accepted"), [
    ("Confirmed correct: value re-checked against the lab report", True),
    ("确认无误", True),
    ("数据正确，已核对原始记录", True),
    ("We cannot confirm correct value yet, the lab is re-testing", False),
    ("Value is not correct, will send a corrected export", False),
    ("无法确认无误，需要实验室复查。", False),
    ("尚未确认无误", False),
    ("Will check with the ward next week", False),
])
def test_only_an_unnegated_confirmation_accepts(answer, accepted):
    from dli_etl.queries import confirms

    assert confirms(answer) is accepted


def test_trends_across_transfers_count_each_run_as_it_was(transfers):
    """Three transfers into one output: the warehouse keeps a trend row per run, study and site whose
    counts are that run's findings and waiting queries, and the report shows the three runs in order."""
    from sqlalchemy import create_engine

    from dli_etl.queries import ANSWERED, OPEN

    out = transfers["out"]
    engine = create_engine(f"sqlite:///{out / 'warehouse.sqlite'}")
    try:
        trends = pd.read_sql_table("dli_transfer_trends", engine)
    finally:
        engine.dispose()
    runs = [transfers[k].run_id for k in ("first", "second", "third")]
    assert list(dict.fromkeys(trends.sort_values("published_at", kind="stable")["run_id"])) == runs
    for key, q in (("first", "q1"), ("second", "q2"), ("third", "q3")):
        mine = trends[trends["run_id"] == transfers[key].run_id]
        assert mine["errors"].sum() == transfers[key].findings_by_severity.get("error", 0)
        assert mine["warnings"].sum() == transfers[key].findings_by_severity.get("warning", 0)
        assert mine["open_queries"].sum() == transfers[q]["status"].isin([OPEN, ANSWERED]).sum()
    waiting = trends.groupby("run_id")["open_queries"].sum()
    assert waiting[runs[1]] < waiting[runs[0]]  # the site answered and fixed some
    report = (out / "report" / "dq_report.html").read_text(encoding="utf-8")
    section = report[report.index("Trends across transfers"):report.index("<h2>Completeness</h2>")]
    assert [section.index(r) for r in runs] == sorted(section.index(r) for r in runs)
