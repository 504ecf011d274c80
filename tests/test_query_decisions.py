"""The query loop as data managers and sites use it: a returned workbook is applied once, a site closing
an unfixed problem leaves a history row, an explanation that comes with the fix is kept, and the data
manager decides last (accept releases the value, close ends the query for good, reopen)."""

from __future__ import annotations

import pandas as pd

from dli_etl.cli import main
from dli_etl.queries import (
    ACCEPTED,
    CLOSED,
    OPEN,
    accepted_ids,
    empty_decisions,
    empty_queries,
    read_decisions,
    update_queries,
)

FINDING = {"finding_id": "q1", "rule_id": "DOSE-POWER-OF-TEN", "severity": "error", "category": "plausibility",
           "study": "DLIPRO", "site": "S01", "subjid": "01-001", "form": "dli", "field": "cd3_dose",
           "value": "3.0e9", "message": "100x", "src_file": "DLIPRO/edc/a.xml", "src_locator": "x"}


def _findings(present: bool = True) -> pd.DataFrame:
    return pd.DataFrame([FINDING] if present else [], columns=list(FINDING)).astype("string")


def _answer(status: str, text: str, source: str = "S01_queries.xlsx#abc") -> pd.DataFrame:
    return pd.DataFrame([{"query_id": "q1", "site_status": status, "response": text, "response_file": "f",
                          "source": source}]).astype("string")


def _run(previous, history, responses, run_id, present=True, decisions=None):
    queries, changes = update_queries(previous, _findings(present), responses, run_id, history=history,
                                      decisions=decisions)
    return queries, pd.concat([history, changes], ignore_index=True)


def test_a_returned_workbook_is_applied_once():
    q, h = _run(empty_queries(), pd.DataFrame(), pd.DataFrame(), "r1")
    closed_by_site = _answer("Closed", "we looked at it")
    q, h = _run(q, h, closed_by_site, "r2")
    assert q.iloc[0]["status"] == OPEN and int(q.iloc[0]["times_reopened"]) == 1
    site_rows = h[h["reason"].str.startswith("site marked it closed")]
    assert len(site_rows) == 1 and site_rows.iloc[0]["source"] == "S01_queries.xlsx#abc"
    for run in ("r3", "r4", "r5"):  # the same workbook still lies in the landing folder
        q, h = _run(q, h, closed_by_site, run)
    assert int(q.iloc[0]["times_reopened"]) == 1 and len(h[h["reason"].str.startswith("site marked")]) == 1


def test_an_explanation_that_comes_with_the_fix_is_kept():
    q, h = _run(empty_queries(), pd.DataFrame(), pd.DataFrame(), "r1")
    q, h = _run(q, h, _answer("Answered", "corrected to 3.0e7 in the EDC"), "r2", present=False)
    assert q.iloc[0]["status"] == CLOSED and q.iloc[0]["response"] == "corrected to 3.0e7 in the EDC"
    assert h.iloc[-1]["reason"] == "problem no longer in the data" and h.iloc[-1]["source"] != ""


def _decision(decision: str, at: str) -> pd.DataFrame:
    return pd.DataFrame([{"query_id": "q1", "decision": decision, "note": "checked with the lab", "by": "LW",
                          "at": at, "source": f"dm:LW@{at}"}]).astype("string")


def test_the_data_manager_closes_a_query_for_good_and_can_reopen_it():
    q, h = _run(empty_queries(), pd.DataFrame(), pd.DataFrame(), "r1")
    close = _decision("close", "2026-12-01T10:00:00Z")
    q, h = _run(q, h, pd.DataFrame(), "r2", decisions=close)
    assert q.iloc[0]["status"] == CLOSED and q.iloc[0]["decided_by"] == "LW"
    q, h = _run(q, h, pd.DataFrame(), "r3", decisions=close)  # the problem is still in the data
    assert q.iloc[0]["status"] == CLOSED and int(q.iloc[0]["times_reopened"]) == 0
    reopen = pd.concat([close, _decision("reopen", "2026-12-02T09:00:00Z")], ignore_index=True)
    q, h = _run(q, h, pd.DataFrame(), "r4", decisions=reopen)
    assert q.iloc[0]["status"] == OPEN
    assert list(h.loc[h["source"].str.startswith("dm:", na=False), "reason"]) == [
        "data manager LW: close", "data manager LW: reopen"]


def test_a_data_manager_accept_releases_the_value_and_beats_the_site():
    q, h = _run(empty_queries(), pd.DataFrame(), pd.DataFrame(), "r1")
    accept = _decision("accept", "2026-12-01T10:00:00Z")
    assert "q1" in accepted_ids(q, pd.DataFrame(), accept)
    q, h = _run(q, h, _answer("Answered", "will check"), "r2", decisions=accept)
    assert q.iloc[0]["status"] == ACCEPTED and q.iloc[0]["dm_note"] == "checked with the lab"
    assert q.iloc[0]["response"] == "will check"  # the site's words stay the site's
    # a site answer "confirmed correct" then a data-manager reopen: the data manager's word counts
    reopened = _decision("reopen", "2026-12-03T10:00:00Z")
    assert "q1" not in accepted_ids(q.assign(status=OPEN), _answer("Answered", "confirmed correct"), reopened)
    assert accepted_ids(q, pd.DataFrame(), empty_decisions()) == {"q1"}


def test_decide_command_records_and_the_next_run_reads_it(tmp_path, capsys):
    (tmp_path / "DLIPRO").mkdir()
    code = main(["queries", "decide", "close", "q1", "q2", "--landing", str(tmp_path), "--study", "DLIPRO",
                 "--note", "site cannot provide", "--by", "LW"])
    assert code == 0 and "next run applies" in capsys.readouterr().out
    decisions = read_decisions(tmp_path / "DLIPRO")
    assert list(decisions["query_id"]) == ["q1", "q2"] and set(decisions["decision"]) == {"close"}
    assert decisions["source"].str.startswith("dm:LW@").all()


def test_queries_list_filters_what_the_last_run_published(run_defects, capsys):
    code = main(["queries", "list", "--out", str(run_defects.out), "--status", "open", "--site", "S01"])
    out = capsys.readouterr().out
    assert code == 0 and "Open" in out and " S01 " in out and "Accepted" not in out.split("\n\n")[0]


def test_the_triage_workbook_lets_the_site_edit_status_and_response_only(tmp_path):
    from openpyxl import load_workbook

    from dli_etl.queries import write_triage_workbooks

    q, _ = _run(empty_queries(), pd.DataFrame(), pd.DataFrame(), "r1")
    q = q.assign(dm_note="please check the lab report")
    path = write_triage_workbooks(q, tmp_path)[0]
    sheet = load_workbook(path)["Queries"]
    headers = [c.value for c in sheet[1]]
    assert sheet.protection.sheet and "Data manager reply" in headers
    editable = {headers[c.column - 1] for c in sheet[2] if not c.protection.locked}
    assert editable == {"Status", "Response"}
    assert sheet.cell(2, headers.index("Data manager reply") + 1).value == "please check the lab report"
