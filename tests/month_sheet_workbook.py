"""Build the "unseen site workbook" of issue 12 from a site's clean lab workbook, with defects planted.

Layout: one sheet per month ("2026年3月"), a two-row title block, two header rows (Chinese over English),
dotted dates ("2026.03.05"), Hb in g/L, bilirubin and creatinine in µmol/L, MRD results as text columns
on the lab rows ("0.02%", "<0.01%", "阴性", "阳性(0.15%)"), name and record-number columns, spacer rows, a
totals row per sheet and a hidden template sheet. The values are the clean site's own, so every finding
on a row that was not planted is a false one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from dli_etl.ingest.xlsx_reader import XlsxWorkbook

# (Chinese header, English header, source column in the clean S02 workbook)
LAB_COLUMNS = [
    ("白细胞", "WBC (10^9/L)", "白细胞(×10^9/L)"),
    ("中性粒细胞", "ANC (10^9/L)", "中性粒细胞(×10^9/L)"),
    ("血红蛋白", "Hb (g/L)", "血红蛋白(g/L)"),
    ("血小板", "PLT (10^9/L)", "血小板(×10^9/L)"),
    ("淋巴细胞", "LYM (10^9/L)", "淋巴细胞(×10^9/L)"),
    ("总胆红素", "TBIL (µmol/L)", "总胆红素(µmol/L)"),
    ("谷丙转氨酶", "ALT (U/L)", "谷丙转氨酶(U/L)"),
    ("谷草转氨酶", "AST (U/L)", "谷草转氨酶(U/L)"),
    ("肌酐", "Cr (µmol/L)", "肌酐(µmol/L)"),
]
HEADER_ZH = ["研究编号", "姓名", "病案号", "检查日期", *(z for z, _, _ in LAB_COLUMNS), "流式MRD", "WT1"]
HEADER_EN = ["Subject ID", "Name", "Record No.", "Date", *(e for _, e, _ in LAB_COLUMNS), "MRD flow", "WT1 qPCR"]
FIRST_DATA_ROW = 6  # title (1-2), blank (3), headers (4-5)
NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞"]

PROFILE = """\
study: DLIPRO
site: S02
source_name: Soochow University First Affiliated Hospital (monthly lab summary)
format: xlsx
files: ["sites/S02/*.xlsx"]
date_format: "%Y.%m.%d"
identifiers: {姓名: drop, 病案号: pseudonymize}
forms:
  cbc:
    sheet: "*年*月"
    header_row: [4, 5]
    skip_rows: [{column: Subject ID, matching: "^(合计|总计|Total)"}, {column: Subject ID, matching: "^[-—]+$"}]
    columns: {Subject ID: subjid, Date: lbdtc, WBC (10^9/L): wbc, ANC (10^9/L): anc, Hb (g/L): hgb,
              PLT (10^9/L): plt, LYM (10^9/L): lym}
    units: {wbc: 10^9/L, anc: 10^9/L, hgb: g/L, plt: 10^9/L, lym: 10^9/L}
  chemistry:
    sheet: "*年*月"
    header_row: [4, 5]
    skip_rows: [{column: Subject ID, matching: "^(合计|总计|Total)"}, {column: Subject ID, matching: "^[-—]+$"}]
    columns: {研究编号: subjid, 检查日期: lbdtc, 总胆红素: bili, 谷丙转氨酶: alt, 谷草转氨酶: ast, 肌酐: creat}
    units: {bili: umol/L, alt: U/L, ast: U/L, creat: umol/L}
  mrd:
    sheet: "*年*月"
    header_row: [4, 5]
    skip_rows: [{column: Subject ID, matching: "^(合计|总计|Total)"}, {column: Subject ID, matching: "^[-—]+$"}]
    columns: {Subject ID: subjid, Date: lbdtc}
    constants: {specimen: BONE MARROW}
    unpivot:
      value_field: mrd_result
      columns:
        MRD flow: {mrd_method: FLOW CYTOMETRY, mrd_marker: LAIP}
        WT1 qPCR: {mrd_method: QRT-PCR, mrd_marker: WT1}
"""


@dataclass(frozen=True)
class Planted:
    rule_id: str
    sheet: str
    row: int


def _clean_rows(clean_workbook: Path) -> pd.DataFrame:
    book = XlsxWorkbook(clean_workbook)
    cbc = book.read_table("血常规").frame
    chem = book.read_table("生化").frame
    mrd = book.read_table("微小残留病").frame
    labs = cbc.drop(columns=["住院号"]).merge(chem, on=["研究编号", "检查日期"], how="outer")
    flow = mrd[mrd["检测方法"] == "流式细胞术"].drop_duplicates(["研究编号", "检查日期"])
    wt1 = mrd[mrd["标志物"] == "WT1"].drop_duplicates(["研究编号", "检查日期"])
    rows = labs.merge(flow[["研究编号", "检查日期", "微小残留病"]].rename(columns={"微小残留病": "流式MRD"}),
                      on=["研究编号", "检查日期"], how="outer")
    rows = rows.merge(wt1[["研究编号", "检查日期", "微小残留病"]].rename(columns={"微小残留病": "WT1"}),
                      on=["研究编号", "检查日期"], how="outer")
    rows["住院号"] = rows.groupby("研究编号")["住院号"].transform(lambda s: s.ffill().bfill())
    rows = rows.fillna("")
    parts = rows["检查日期"].str.extract(r"(\d{4})年(\d{1,2})月(\d{1,2})日").astype(int)
    rows["date"] = pd.to_datetime(dict(year=parts[0], month=parts[1], day=parts[2]))
    # the site writes words for clear-cut results: "<0.01%" by flow is 阴性, a positive is 阳性(value)
    rows["流式MRD"] = rows["流式MRD"].replace("<0.01%", "阴性")
    positive = rows["WT1"].str.fullmatch(r"\d+(\.\d+)?%") & (rows["WT1"].str.rstrip("%").replace("", "0")
                                                             .astype(float) > 0.6)
    rows.loc[positive, "WT1"] = "阳性(" + rows.loc[positive, "WT1"] + ")"
    return rows.sort_values(["date", "研究编号"], kind="stable").reset_index(drop=True)


def _line(row: pd.Series) -> list[str]:
    subject = str(row["研究编号"])
    name = NAMES[int(re.sub(r"\D", "", subject) or 0) % len(NAMES)]
    return [subject, name, str(row["住院号"]), row["date"].strftime("%Y.%m.%d"),
            *(str(row[src]) for _, _, src in LAB_COLUMNS), str(row["流式MRD"]), str(row["WT1"])]


def build(clean_workbook: Path, out: Path) -> list[Planted]:
    """Write the month-sheet workbook to ``out``; return the defects planted (rule, sheet, row)."""
    rows = _clean_rows(clean_workbook)
    months = list(dict.fromkeys(f"{d.year}年{d.month}月" for d in rows["date"]))
    lines: dict[str, list[list[str]]] = {m: [] for m in months}
    for _, row in rows.iterrows():
        lines[f"{row['date'].year}年{row['date'].month}月"].append(_line(row))
    col = {h: i for i, h in enumerate(HEADER_EN)}
    planted: list[tuple[str, str, int, int]] = []  # rule, sheet, index in its month's lines, copies of it

    def plant(rule: str, sheet: str, index: int) -> None:
        planted.append((rule, sheet, index, 0))

    first, second, third = months[0], months[1], months[2]
    lines[first][0][col["Date"]] = "2026.02.30"
    plant("DATE-INVALID", first, 0)
    lines[first][1][col["Hb (g/L)"]] = str(int(float(lines[first][1][col["Hb (g/L)"]]) * 10))
    plant("LAB-IMPLAUSIBLE", first, 1)
    lines[first][2][col["PLT (10^9/L)"]] = "二百"
    plant("TYPE-NOT-NUMBER", first, 2)
    with_flow = next(i for i, line in enumerate(lines[second]) if line[col["MRD flow"]])
    lines[second][with_flow][col["MRD flow"]] = "120%"
    plant("MRD-IMPOSSIBLE", second, with_flow)
    with_wt1 = next(i for i, line in enumerate(lines[second]) if line[col["WT1 qPCR"]] and i != with_flow)
    lines[second][with_wt1][col["WT1 qPCR"]] = "待复查"
    plant("MRD-UNREADABLE", second, with_wt1)
    lines[second][-1][col["Date"]] = ""
    plant("REQ-MISSING", second, len(lines[second]) - 1)
    lines[third][0][col["Subject ID"]] = "02-999"
    plant("ID-UNKNOWN-SUBJECT", third, 0)
    # three duplicate draws: two exact copies (one with MRD results) and one with a different WBC
    with_mrd = next(i for i, line in enumerate(lines[third]) if line[col["MRD flow"]] and i > 0)
    lines[third].append(list(lines[third][with_mrd]))
    plant("LAB-DUPLICATE-DRAW", third, len(lines[third]) - 1)
    without_mrd = next(i for i, line in enumerate(lines[third][1:], start=1)
                       if not line[col["MRD flow"]] and not line[col["WT1 qPCR"]])
    lines[third].append(list(lines[third][without_mrd]))
    plant("LAB-DUPLICATE-DRAW", third, len(lines[third]) - 1)
    changed = list(lines[first][5])
    changed[col["WBC (10^9/L)"]] = f"{float(changed[col['WBC (10^9/L)']]) + 1.3:.2f}"
    lines[second].append(changed)
    plant("LAB-DUPLICATE-CONFLICT", second, len(lines[second]) - 1)

    book = Workbook()
    book.remove(book.active)
    where: dict[tuple[str, int], int] = {}
    for month in months:
        sheet = book.create_sheet(month)
        sheet["A1"] = "苏州大学附属第一医院血液科 DLI 研究检验汇总"
        sheet.merge_cells("A1:F1")
        sheet["A2"] = f"{month} 导出"
        for c, (zh, en) in enumerate(zip(HEADER_ZH, HEADER_EN, strict=True), start=1):
            sheet.cell(4, c, zh)
            sheet.cell(5, c, en)
        row = FIRST_DATA_ROW
        previous = None
        for index, line in enumerate(lines[month]):
            if previous is not None and line[0] != previous:
                row += 1  # a blank spacer row between subjects
            if index == len(lines[month]) // 2:
                sheet.cell(row, 1, "——")  # a drawn separator line
                row += 1
            for c, value in enumerate(line, start=1):
                if value != "":
                    sheet.cell(row, c, value)
            where[(month, index)] = row
            previous = line[0]
            row += 1
        sheet.cell(row + 1, 1, "合计")
        sheet.cell(row + 1, 5, f"{len(lines[month])} 例次")
        sheet.cell(row + 1, 7, "=SUM(G6:G99)")
    template = book.create_sheet("模板")
    template.sheet_state = "hidden"
    for c, (zh, en) in enumerate(zip(HEADER_ZH, HEADER_EN, strict=True), start=1):
        template.cell(1, c, zh)
        template.cell(2, c, en)
    book.save(out)
    return [Planted(rule, sheet, where[(sheet, index)]) for rule, sheet, index, _ in planted]
