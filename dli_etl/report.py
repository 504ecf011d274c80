"""The data-quality report: one self-contained HTML file (no CDN, renders offline) plus the findings
table as Parquet and as an xlsx a data manager can filter."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font, PatternFill

from dli_etl.findings import rule_catalogue
from dli_etl.text_safety import workbook_text

_XLSX_COLUMNS = ("finding_id", "severity", "rule_id", "category", "study", "site", "subjid", "form", "field",
                 "value", "expected", "message", "src_file", "src_locator")


_COUNTS = ("rows_in", "rows_curated", "rows_held_back", "values_read", "values_curated", "values_nulled",
           "values_held_back", "values_unaccounted")


def write_findings_xlsx(findings: pd.DataFrame, path: Path) -> Path:
    """Findings as a workbook: frozen header, filters, every cell written as text (never a formula)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Findings"
    ws.append(list(_XLSX_COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
    for row in findings[list(_XLSX_COLUMNS)].itertuples(index=False):
        ws.append([workbook_text(v) for v in row])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.data_type = TYPE_STRING  # site text such as "=1+1" stays text
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for col, width in zip("ABCDEFGHIJKLMN", (14, 9, 26, 13, 9, 7, 10, 12, 14, 18, 18, 70, 40, 50), strict=True):
        ws.column_dimensions[col].width = width
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


_SEVERITY_RGB = {"error": (192, 57, 43), "warning": (214, 137, 16), "info": (127, 140, 141)}


def _heat(value: int, peak: int, severity: str = "error") -> str:
    """A cell coloured by its rule's severity (red error, amber warning, grey info), darker with the count
    relative to the busiest cell of that severity: many info notes never look worse than one error."""
    if value == 0 or peak == 0:
        return ""
    alpha = 0.15 + 0.75 * value / peak
    red, green, blue = _SEVERITY_RGB.get(severity, _SEVERITY_RGB["error"])
    return f"background: rgba({red}, {green}, {blue}, {alpha:.2f}); color: {'#fff' if alpha > 0.5 else '#000'}"


def p_value_text(p: object) -> str:
    """A p-value as a reader expects: 4 decimals, and "<0.0001" instead of "0.0000"."""
    if p is None or pd.isna(p):
        return ""
    return "<0.0001" if float(p) < 0.0001 else f"{float(p):.4f}"


def _endpoint_rows(endpoints: pd.DataFrame) -> list[tuple[str, list[dict]]]:
    """Endpoint rows grouped by study, with estimates and intervals as display text."""
    if endpoints is None or endpoints.empty:
        return []

    def number(value: object, percent: bool) -> str:
        if value is None or pd.isna(value):
            return ""
        return f"{100 * float(value):.1f}%" if percent else f"{float(value):.3f}"

    groups = []
    for study, part in endpoints.groupby("STUDYID", sort=False):
        rows = []
        for r in part.to_dict("records"):
            is_test = str(r["MEASURE"]).endswith("test")
            r["estimate_text"] = number(r["ESTIMATE"], not is_test)
            r["ci_text"] = "" if is_test or pd.isna(r["CI_LOW"]) else (
                f"{number(r['CI_LOW'], True)} – {number(r['CI_HIGH'], True)}")
            r["p_text"] = p_value_text(r["P_VALUE"])
            r["N"] = "" if r["N"] is None or pd.isna(r["N"]) else int(r["N"])
            r["EVENTS"] = "" if r["EVENTS"] is None or pd.isna(r["EVENTS"]) else int(r["EVENTS"])
            rows.append(r)
        groups.append((str(study), rows))
    return groups


def render_report(context: dict, path: Path) -> Path:
    """Render the HTML report from a summary context built by the pipeline."""
    findings: pd.DataFrame = context["findings"]
    accounting: pd.DataFrame = context["accounting"]
    by_severity = findings.groupby("severity").size().to_dict() if not findings.empty else {}
    by_site = (findings.pivot_table(index=["study", "site"], columns="severity", values="finding_id", aggfunc="count",
                                    fill_value=0).reset_index() if not findings.empty else pd.DataFrame())
    by_rule = (findings.groupby(["rule_id", "severity", "category"]).agg(count=("finding_id", "count"),
                                                                        example=("message", "first")).reset_index()
               .sort_values(["severity", "count"], ascending=[True, False]) if not findings.empty else pd.DataFrame())
    heat = pd.DataFrame()
    if not findings.empty:
        heat = findings.assign(where=findings["study"] + " " + findings["site"].fillna("")).pivot_table(
            index="where", columns="rule_id", values="finding_id", aggfunc="count", fill_value=0)
    catalogue = rule_catalogue()
    severity_of = {c: catalogue[c].severity if c in catalogue else "error" for c in heat.columns}
    order = {"error": 0, "warning": 1, "info": 2}
    heat = heat[sorted(heat.columns, key=lambda c: (order.get(severity_of[c], 3), c))] if not heat.empty else heat
    peaks = {sev: int(heat[[c for c in heat.columns if severity_of[c] == sev]].to_numpy().max())
             if any(severity_of[c] == sev for c in heat.columns) else 0 for sev in order}
    queries: pd.DataFrame = context.get("queries", pd.DataFrame())
    changes: pd.DataFrame = context.get("query_changes", pd.DataFrame())
    complete: pd.DataFrame = context.get("completeness", pd.DataFrame())
    query_table = (queries.pivot_table(index=["study", "site"], columns="status", values="query_id", aggfunc="count",
                                       fill_value=0).reset_index() if not queries.empty else pd.DataFrame())
    change_table = (changes.assign(change=changes["from_status"].replace("", "(new)") + " → " + changes["to_status"])
                    .groupby(["change", "reason"]).size().rename("count").reset_index() if not changes.empty
                    else pd.DataFrame())
    gaps = complete[complete["filled_pct"] < 100].sort_values("filled_pct") if not complete.empty else complete
    context.setdefault("data_docs", {})
    context.setdefault("expectation_results", {})
    context.setdefault("define_files", [])
    context.setdefault("xpt_count", 0)
    context.setdefault("figures", [])
    context.setdefault("coverage", [])
    endpoint_groups = _endpoint_rows(context.get("endpoints"))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string((resources.files("dli_etl") / "templates" / "report.html").read_text(encoding="utf-8"))
    html = template.render(
        **{k: v for k, v in context.items()
           if k not in ("findings", "accounting", "queries", "query_changes", "completeness", "endpoints")},
        endpoint_groups=endpoint_groups,
        query_rows=query_table.to_dict("records"),
        query_statuses=[c for c in ("Open", "Answered", "Accepted", "Closed") if c in query_table.columns],
        change_rows=change_table.to_dict("records"),
        completeness_gaps=gaps.head(200).to_dict("records") if not gaps.empty else [],
        completeness_fields=len(complete),
        by_severity=by_severity,
        accounting=accounting.to_dict("records"),
        accounting_by_form=(accounting.groupby(["study", "form"], sort=False)
                            .agg(sites=("site", "nunique"), **{c: (c, "sum") for c in _COUNTS}).reset_index().to_dict("records")
                            if not accounting.empty else []),
        totals=accounting[list(_COUNTS)].sum().to_dict() if not accounting.empty else {},
        by_site=by_site.to_dict("records"), site_columns=[c for c in ("error", "warning", "info") if c in by_site.columns],
        by_rule=by_rule.to_dict("records"),
        heat_rows=[(idx, [(int(v), _heat(int(v), peaks[severity_of[c]], severity_of[c])) for c, v in row.items()])
                   for idx, row in heat.iterrows()],
        heat_columns=list(heat.columns),
        listing=findings.head(500).fillna("").to_dict("records"), listing_total=len(findings),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
