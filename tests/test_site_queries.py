"""Queries as a site meets them: its language, its own headers and places, one query per root cause, and
the rule catalogue (what, why, source) behind every finding."""

import re
import string
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dli_etl.findings import SITE_PLACEHOLDERS, Finding, findings_frame, rule_catalogue
from dli_etl.ingest.odm_reader import read_odm
from dli_etl.queries import empty_queries, read_responses, update_queries, write_triage_workbooks
from dli_etl.root_causes import link_root_causes
from dli_etl.rules.cell_dose import cell_dose_text
from dli_etl.rules.dates import date_pattern
from dli_etl.site_wording import SiteWording

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("rule", sorted(rule_catalogue().values(), key=lambda r: r.rule_id), ids=lambda r: r.rule_id)
def test_every_rule_says_why_and_where_it_comes_from(rule):
    assert rule.why and rule.source and rule.audience in ("site", "data_manager")
    if rule.audience == "site":
        messages = dict(rule.site_messages)
        assert set(messages) == {"en", "zh"}
        assert _CJK.search(messages["zh"]) and not _CJK.search(messages["en"])
        for text in messages.values():
            # a site never reads an internal field name ({field}) nor is told to "ask the site"
            assert _placeholders(text) <= set(SITE_PLACEHOLDERS), text
            assert "ask the site" not in text.lower()


def test_date_formats_are_shown_as_people_write_them():
    assert date_pattern("%d/%m/%Y") == "DD/MM/YYYY"
    assert date_pattern("%Y年%m月%d日") == "YYYY年MM月DD日"
    assert date_pattern(None) == "YYYY-MM-DD"


def test_doses_are_shown_as_protocols_write_them():
    assert cell_dose_text(3.0e7) == "3.0×10^7/kg"
    assert cell_dose_text(9.99e8) == "1.0×10^9/kg"  # rounding carries into the exponent
    assert cell_dose_text(2.5e5) == "2.5×10^5/kg"


def _finding(rule_id, subjid, form, field, value, instance="", **extra):
    return Finding(rule_id, "DLIPLX", "JLU", subjid, form, field, value, src_file="DLIPLX/redcap/x.csv",
                   src_locator=f"record={subjid};event=round_1_arm_1;instrument={form};instance={instance};field={field}",
                   **extra)


def _one_wrong_dli_date() -> pd.DataFrame:
    found = [_finding("ORDER-DLI-BEFORE-HSCT", "015", "dli", "dlidt", "2024-10-15", expected="2024-10-19"),
             _finding("PD-CHEMO-TIMING", "015", "chemo", "chemo_end", "2025-03-18", expected="3", detail="-154"),
             *[_finding("PD-PLERIXAFOR-TIMING", "015", "plerixafor", "plx_date", f"2025-04-0{d}", expected="+10..+14",
                        detail=f"+{160 + d}", instance=str(d)) for d in range(1, 6)],
             # another subject's timing problem has no root cause: it stays a query of its own
             _finding("PD-CHEMO-TIMING", "020", "chemo", "chemo_end", "2025-05-01", expected="3", detail="9")]
    return link_root_causes(findings_frame(found))


def test_one_wrong_dli_date_is_one_query_with_its_consequences():
    findings = _one_wrong_dli_date()
    root = findings.loc[findings["rule_id"] == "ORDER-DLI-BEFORE-HSCT", "finding_id"].iloc[0]
    linked = findings[findings["root_finding_id"] == root]
    assert sorted(linked["rule_id"]) == ["PD-CHEMO-TIMING"] + ["PD-PLERIXAFOR-TIMING"] * 5
    assert (linked["subjid"] == "015").all()
    queries, _ = update_queries(empty_queries(), findings, pd.DataFrame(), "r1", run_date="2026-12-01")
    assert sorted(queries["subjid"]) == ["015", "020"]  # 8 findings, 2 queries
    assert queries.set_index("query_id").loc[root, "consequences"] == "PD-CHEMO-TIMING ×1; PD-PLERIXAFOR-TIMING ×5"
    assert set(queries["opened_on"]) == {"2026-12-01"}


def test_a_query_that_becomes_a_consequence_closes_into_its_root():
    findings = _one_wrong_dli_date()
    alone = findings.assign(root_finding_id="")  # as an earlier run that did not link them saw it
    before, _ = update_queries(empty_queries(), alone, pd.DataFrame(), "r1")
    assert len(before) == 8
    after, history = update_queries(before, findings, pd.DataFrame(), "r2")
    root = findings.loc[findings["rule_id"] == "ORDER-DLI-BEFORE-HSCT", "finding_id"].iloc[0]
    folded = history[history["reason"].str.startswith("folded into")]
    assert len(folded) == 6 and (folded["reason"] == f"folded into query {root} (same root cause)").all()
    assert (after.set_index("query_id").loc[folded["query_id"], "status"] == "Closed").all()


def test_a_zh_site_workbook_speaks_to_the_site(tmp_path: Path):
    findings = _one_wrong_dli_date()
    queries, _ = update_queries(empty_queries(), findings, pd.DataFrame(), "r1", run_date="2026-12-01")
    wording = SiteWording(languages={("DLIPLX", "JLU"): "zh"},
                          items={("DLIPLX/redcap/x.csv", "dli", "dlidt"): "DLI 日期",
                                 ("DLIPLX/redcap/x.csv", "plerixafor", "plx_date"): "普乐沙福日期"})
    path = write_triage_workbooks(queries, tmp_path, wording, findings)[0]
    sheet = openpyxl.load_workbook(path)["Queries"]
    headers = [c.value for c in sheet[1]]
    rows = [dict(zip(headers, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert headers[:4] == ["质疑编号", "状态", "回复", "数据管理员回复"]
    root = next(r for r in rows if r["受试者"] == "015")
    assert root["质疑内容"] == "DLI 日期 2024-10-15 早于移植日期 2024-10-19。请核对两个日期。"
    assert root["条目"] == "DLI 日期" and root["状态"] == "待处理" and root["发出日期"] == "2026-12-01"
    assert "普乐沙福日期 2025-04-01" in root["同时受影响"]
    assert root["在文件中的位置"] == "记录 015，事件 round_1_arm_1，表单 dli，字段“dlidt”"
    # protected: only Status and Response are the site's to change
    assert sheet.protection.sheet
    assert {headers[c.column - 1] for c in sheet[2] if not c.protection.locked} == {"状态", "回复"}
    assert sheet.data_validations.dataValidation[0].formula1 == '"待处理,已回复,已关闭"'
    assert "填写说明" in openpyxl.load_workbook(path).sheetnames

    # the site answers in Chinese: the status it chose is read back as the loop's own
    for row in sheet.iter_rows(min_row=2):
        row[1].value, row[2].value = "已回复", "已核对原始病历，DLI 日期应为 2025-03-21"
    answered = tmp_path / "DLIPLX" / "query_responses"
    answered.mkdir(parents=True)
    book = openpyxl.load_workbook(path)
    book["Queries"].delete_rows(2, book["Queries"].max_row)
    for row in sheet.iter_rows(min_row=2, values_only=True):
        book["Queries"].append(list(row))
    book.save(answered / path.name)
    responses = read_responses(tmp_path / "DLIPLX")
    assert set(responses["site_status"]) == {"Answered"} and len(responses) == 2


def test_rules_only_the_data_manager_can_fix_never_reach_a_site(tmp_path: Path):
    found = [Finding("UNIT-UNKNOWN", "DLIPRO", "S01", "01-001", "cbc", "wbc", "12", "10^9/L", "cells/uL",
                     "DLIPRO/sites/S01/a.xlsx", src_locator="CBC!C2"),
             Finding("MRD-IMPOSSIBLE", "DLIPRO", "S01", "01-001", "mrd", "mrd_result", "130%",
                     src_file="DLIPRO/sites/S01/a.xlsx", src_locator="MRD!F2")]
    queries, _ = update_queries(empty_queries(), findings_frame(found), pd.DataFrame(), "r1")
    paths = {p.name: p for p in write_triage_workbooks(queries, tmp_path)}
    assert set(paths) == {"DLIPRO_S01_queries.xlsx", "DLIPRO_data_manager_queries.xlsx"}
    site = [r for r in openpyxl.load_workbook(paths["DLIPRO_S01_queries.xlsx"])["Queries"].iter_rows(min_row=2, values_only=True)]
    assert len(site) == 1 and site[0][8] == "The MRD result '130%' is above 100%. Please check the value and its unit."
    assert site[0][10] == "sheet MRD, cell F2"
    manager = list(openpyxl.load_workbook(paths["DLIPRO_data_manager_queries.xlsx"])["Queries"].iter_rows(min_row=2, values_only=True))
    assert len(manager) == 1 and manager[0][8].startswith("UNIT-UNKNOWN: ")


def test_an_edc_query_names_the_visit_form_and_item_as_the_edc_does(public_data: Path):
    content = read_odm(public_data / "odm-odmlib" / "odm-data-snapshot.xml")
    wording = SiteWording(names={"f.xml": content.def_names})
    locator = content.item_groups["IG.DM"]["src_locator"].iloc[0] + "/ItemData[IT.BRTHDAT]"
    # names from the file's own MetaDataVersion: StudyEventDef, FormDef and ItemDef Name attributes
    assert wording.where("f.xml", locator) == (f"visit 'Screening', form 'Informed Consent and Demographics', "
                                               f"item '{content.def_names['IT.BRTHDAT']}'")
    assert "访视“Screening”" in wording.where("f.xml", locator, "zh")


def test_the_demo_workbooks_carry_no_internal_words(run_defects):
    triage = Path(run_defects.out) / "triage"
    books = sorted(triage.rglob("*_queries.xlsx"))
    assert books
    for path in books:
        sheet = openpyxl.load_workbook(path)["Queries"]
        texts = [str(c.value) for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None]
        joined = "\n".join(texts)
        assert not re.search(r"%[dmYy]", joined), path.name  # strftime tokens
        assert not re.search(r"\de[+-]\d\d/kg", joined), path.name  # 3.0e+07/kg
        assert "Ask the site" not in joined and "3-3 days" not in joined
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", joined), path.name  # run UUIDs
    jlu = openpyxl.load_workbook(triage / "DLIPLX" / "DLIPLX_JLU_queries.xlsx")["Queries"]
    assert jlu["A1"].value == "质疑编号"
    assert all(_CJK.search(str(r[8])) for r in jlu.iter_rows(min_row=2, values_only=True))
    # the Chinese site's workbook as sent: protected, only 状态 (Status) and 回复 (Response) editable
    headers = [c.value for c in jlu[1]]
    assert jlu.protection.sheet
    assert {headers[c.column - 1] for row in jlu.iter_rows(min_row=2) for c in row if not c.protection.locked} == {
        "状态", "回复"}


def test_the_report_links_every_finding_to_its_rule(run_defects):
    html = (Path(run_defects.out) / "report" / "dq_report.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<tr id="rule-([A-Z0-9-]+)">', html))
    assert anchors == set(rule_catalogue())
    links = set(re.findall(r'href="#rule-([A-Z0-9-]+)"', html))
    findings = pd.read_parquet(Path(run_defects.out) / "findings" / "findings.parquet")
    assert links and links <= anchors and set(findings["rule_id"]) <= links
    assert "MAGIC criteria (Harris et al., BBMT 2016;22:4-10)" in html


def test_a_curve_keeps_events_after_the_landmark_at_their_own_time():
    from dli_etl.endpoints.curves import (
        LANDMARK_DAY,
        at_risk_days,
        curve_figure,
        curve_points,
        curve_svg,
        numbers_at_risk,
    )

    # four subjects: deaths on days 100, 400 and 500, one alive at day 600. Kaplan-Meier by hand:
    # S(100) = 3/4, S(400) = 3/4 * 2/3 = 1/2, S(500) = 1/2 * 1/2 = 1/4, flat to the censoring at 600
    adtte = pd.DataFrame({"PARAMCD": "OS", "ANL01FL": "Y", "ARMCD": "A", "AVAL": [100.0, 400.0, 500.0, 600.0],
                          "EVSTAT": [1, 1, 1, 0]})
    points = curve_points("X", adtte, "OS", "KM")
    at_risk = numbers_at_risk("X", adtte, "OS", at_risk_days(600))
    assert at_risk["TIME"].tolist() == [0, 90, 180, 270, 365, 545] and at_risk["AT_RISK"].tolist() == [4, 4, 3, 3, 3, 1]
    figure = curve_figure(points, at_risk, "OS", "probability")
    axes = figure.axes[0]
    line = next(ln for ln in axes.get_lines() if ln.get_gid() == "curve-A")
    x, y = (list(map(float, v)) for v in line.get_data())
    height = dict(zip(x, y, strict=True))
    assert height[400.0] == pytest.approx(0.5) and height[500.0] == pytest.approx(0.25)
    assert x[-1] == 600.0 and y[-1] == pytest.approx(0.25)  # the last step is at its height, at its time
    assert not any(LANDMARK_DAY - 1 < t < LANDMARK_DAY + 1 for t, s in zip(x, y, strict=True) if s < 0.75)
    assert axes.get_xlim()[1] >= 600
    censored = next(ln for ln in axes.get_lines() if ln.get_gid() == "censored-A")
    assert list(map(float, censored.get_data()[0])) == [600.0]
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["A (N=4)", "censored"]
    svg = curve_svg(points, at_risk, "OS", "probability")
    assert svg.startswith("<svg") and 'id="curve-A"' in svg and 'id="band-A"' in svg
    assert "http" not in svg.replace("http://www.w3.org", "")  # nothing fetched from anywhere


def test_a_site_id_from_a_file_never_names_a_path(tmp_path: Path):
    found = [Finding("MRD-IMPOSSIBLE", "DLIPRO", "x/../../PWNED", "01-001", "mrd", "mrd_result", "130%",
                     src_file="DLIPRO/sites/S01/a.xlsx", src_locator="MRD!F2")]
    queries, _ = update_queries(empty_queries(), findings_frame(found), pd.DataFrame(), "r1")
    [path] = write_triage_workbooks(queries, tmp_path / "triage")
    assert path.is_relative_to(tmp_path / "triage") and path.name == "DLIPRO_x_PWNED_queries.xlsx"


def test_each_rule_shows_its_denominator_as_the_dqd_does():
    from dli_etl.report import rule_denominators

    accounting = pd.DataFrame({"study": ["DLIPRO", "DLIPRO", "DLIPRO"], "site": ["S01", "S02", "S01"],
                               "form": ["cbc", "cbc", "mrd"], "rows_in": [10, 30, 7]})
    findings = pd.DataFrame({"rule_id": ["LAB-IMPLAUSIBLE"] * 3 + ["INGEST-FILE-UNREADABLE"],
                             "study": "DLIPRO", "form": ["cbc", "cbc", "cbc", ""],
                             "row_id": ["r1", "r1", "r2", ""], "field": ["wbc", "anc", "wbc", ""]})
    table = rule_denominators(findings, accounting).set_index("rule_id")
    # two records of 40 CBC records (both sites) fail: a record with two bad values counts once
    assert table.loc["LAB-IMPLAUSIBLE"].tolist() == [40, 2, 5.0]
    assert "INGEST-FILE-UNREADABLE" not in table.index  # about a file, not records


def test_progress_lines_show_a_bar_of_the_steps_done():
    from dli_etl.progress import progress_bar

    assert progress_bar(0, 4, width=8) == "[........] 0/4"
    assert progress_bar(1, 4, width=8) == "[##......] 1/4"
    assert progress_bar(4, 4, width=8) == "[########] 4/4"
