"""The data-quality report: one self-contained HTML file (no CDN, renders offline) plus the findings
table as Parquet and as an xlsx a data manager can filter."""

from __future__ import annotations

import numbers
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from dli_etl.findings import rule_catalogue
from dli_etl.text_safety import streamed_text, workbook_text

_XLSX_COLUMNS = ("finding_id", "severity", "rule_id", "category", "study", "site", "subjid", "form", "field",
                 "value", "expected", "message", "src_file", "src_locator")


_COUNTS = ("rows_in", "rows_curated", "rows_held_back", "values_read", "values_curated", "values_nulled",
           "values_held_back", "values_unaccounted")


_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")


def _cell(value: object) -> object:
    """A number stays a number (numpy scalars as Python ones); anything else, missing included, is text."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value:
        return value.item() if hasattr(value, "item") else value
    return workbook_text(value)


def _sheet(wb: Workbook, title: str, columns: list[str], rows: list[list[object]], widths: list[int]) -> None:
    """One table per sheet: bold header, frozen, filterable; text cells written as text, never a formula.
    Streamed (``wb`` is write-only): with every finding of a registry, keeping a cell object per value and
    retyping each afterwards was most of the time. Settings come before rows: a streamed sheet writes its
    columns and panes first."""
    ws = wb.create_sheet(title)
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{len(rows) + 1}"
    header = []
    for name in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        header.append(cell)
    ws.append(header)
    texts = [WriteOnlyCell(ws) for _ in columns]  # for text openpyxl would not keep as text ("=1+1")
    for row in rows:
        ws.append([streamed_text(v, texts[k]) if isinstance(v, str) else v
                   for k, v in enumerate(_cell(value) for value in row)])


def findings_summary(findings: pd.DataFrame, accounting: pd.DataFrame) -> pd.DataFrame:
    """Per study: subjects with a finding, rows and values in, curated, held back or nulled, and findings
    by severity (the first sheet of findings.xlsx)."""
    studies = sorted(set(accounting["study"]) | set(findings["study"].dropna())) if not accounting.empty \
        else sorted(set(findings["study"].dropna()))
    rows = []
    for study in studies:
        acc = accounting[accounting["study"] == study] if not accounting.empty else accounting
        found = findings[findings["study"] == study]
        rows.append({"study": study, **{c: int(acc[c].sum()) if c in acc else 0 for c in _COUNTS},
                     **{f"{s}s": int((found["severity"] == s).sum()) for s in ("error", "warning", "info")},
                     "subjects_with_errors": int(found.loc[found["severity"] == "error", "subjid"].replace("", pd.NA)
                                                 .dropna().nunique())})
    return pd.DataFrame(rows)


def issue_summary(findings: pd.DataFrame) -> pd.DataFrame:
    """Per study and rule: how many findings, on how many subjects, sites and files, and what the rule says
    (one line per issue, as a validator's issue summary lists them)."""
    catalogue = rule_catalogue()
    if findings.empty:
        return pd.DataFrame(columns=["study", "rule_id", "severity", "category", "findings", "subjects", "sites",
                                     "files", "example"])
    grouped = findings.assign(subjid=findings["subjid"].replace("", pd.NA)).groupby(["study", "rule_id"], sort=True)
    out = grouped.agg(severity=("severity", "first"), category=("category", "first"), findings=("rule_id", "size"),
                      subjects=("subjid", "nunique"), sites=("site", "nunique"), files=("src_file", "nunique"),
                      example=("message", "first")).reset_index()
    order = {"error": 0, "warning": 1, "info": 2}
    out["action"] = out["rule_id"].map(lambda r: catalogue[r].action if r in catalogue else "")
    return out.sort_values(["study", "severity", "findings"], key=lambda c: c.map(order) if c.name == "severity"
                           else (-c if c.name == "findings" else c), kind="stable").reset_index(drop=True)


def write_findings_xlsx(findings: pd.DataFrame, path: Path, accounting: pd.DataFrame | None = None) -> Path:
    """The findings as a validator's report a data manager can filter: Summary (per study), Issue summary
    (per rule), Datasets (per form, site and file: rows and values in, curated, held back, nulled), Rules
    (the catalogue) and Findings (every finding). Every site text is written as text, never a formula."""
    accounting = accounting if accounting is not None else pd.DataFrame(columns=["study", "site", "form",
                                                                                  "src_file", *_COUNTS])
    wb = Workbook(write_only=True)
    summary = findings_summary(findings, accounting)
    _sheet(wb, "Summary", list(summary.columns), summary.values.tolist(), [10] + [14] * (summary.shape[1] - 1))
    issues = issue_summary(findings)
    _sheet(wb, "Issue summary", list(issues.columns), issues.values.tolist(),
           [9, 28, 9, 14, 9, 9, 7, 7, 80, 8])
    datasets = accounting[["study", "site", "form", "src_file", *_COUNTS]]
    _sheet(wb, "Datasets", list(datasets.columns), datasets.values.tolist(), [9, 7, 18, 44] + [12] * len(_COUNTS))
    rules = rule_catalogue_rows(findings)
    _sheet(wb, "Rules", list(_RULE_COLUMNS), [[r[c] for c in _RULE_COLUMNS] for r in rules],
           [30, 9, 14, 8, 13, 80, 60, 45, 9])
    _sheet(wb, "Findings", list(_XLSX_COLUMNS), findings[list(_XLSX_COLUMNS)].values.tolist(),
           [14, 9, 26, 13, 9, 7, 10, 12, 14, 18, 18, 70, 40, 50])
    wb.active = wb.sheetnames.index("Summary")
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


_RULE_COLUMNS = ("rule_id", "severity", "category", "action", "audience", "message", "why", "source", "count")


def rule_catalogue_rows(findings: pd.DataFrame) -> list[dict[str, object]]:
    """The rule catalogue (what, why, source, severity, Kahn category, who fixes it) with this run's
    count of findings per rule: errors first, then by id."""
    counts = findings["rule_id"].value_counts().to_dict() if not findings.empty else {}
    order = {s: i for i, s in enumerate(("error", "warning", "info"))}
    rules = sorted(rule_catalogue().values(), key=lambda r: (order.get(r.severity, 3), r.rule_id))
    return [{"rule_id": r.rule_id, "severity": r.severity, "category": r.category, "action": r.action,
             "audience": r.audience.replace("_", " "), "message": r.message, "why": r.why, "source": r.source,
             "count": int(counts.get(r.rule_id, 0))} for r in rules]


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


def rule_denominators(findings: pd.DataFrame, accounting: pd.DataFrame) -> pd.DataFrame:
    """Per rule, as the OHDSI Data Quality Dashboard shows a check: the records it checked (every record
    of the forms it fired on, in those studies) and the share that failed (distinct records with a
    finding). Rules about files or SDTM/ADaM datasets, not form records, have no denominator here."""
    columns = ["rule_id", "records_checked", "records_failing", "pct_failing"]
    if findings.empty or accounting.empty:
        return pd.DataFrame(columns=columns)
    rows_in = accounting.groupby(["study", "form"])["rows_in"].sum()
    on_records = findings[(findings["form"].fillna("") != "") & (findings["row_id"].fillna("") != "")]
    out = []
    for rule_id, part in on_records.groupby("rule_id"):
        pairs = [p for p in part[["study", "form"]].drop_duplicates().itertuples(index=False, name=None) if p in rows_in]
        checked = int(sum(rows_in[p] for p in pairs))
        failing = int(part[part[["study", "form"]].apply(tuple, axis=1).isin(pairs)][["study", "row_id"]]
                      .drop_duplicates().shape[0])
        if checked:
            out.append({"rule_id": rule_id, "records_checked": checked, "records_failing": failing,
                        "pct_failing": round(100 * failing / checked, 2)})
    return pd.DataFrame(out, columns=columns)


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
    if not by_rule.empty:
        by_rule = by_rule.merge(rule_denominators(findings, accounting), on="rule_id", how="left")
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
        rule_catalogue=rule_catalogue_rows(findings),
        heat_rows=[(idx, [(int(v), _heat(int(v), peaks[severity_of[c]], severity_of[c])) for c, v in row.items()])
                   for idx, row in heat.iterrows()],
        heat_columns=list(heat.columns),
        listing=findings.head(500).fillna("").to_dict("records"), listing_total=len(findings),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
