"""The data manager's query loop: every finding is a query with a stable id, sent to its site in a
triage workbook; answers come back with the next data transfer.

Status rules, applied on each run:
- a new problem opens a query (``Open``);
- a query whose problem is gone from the new data closes itself (``Closed``);
- a problem that comes back after its query was closed reopens it, and so does a query the site marked
  ``Closed`` while the problem is still in the data;
- an answer saying the value is confirmed correct accepts the query (``Accepted``): the response is
  kept as the audit record and the row is released from quarantine;
- any other answer leaves the query ``Answered`` until the data change or the data manager accepts it;
- the data manager decides last (``dli-etl queries decide``): accept (the value is released), close (the
  query ends although the problem stays: it is not reopened for the same problem) or reopen;
- each returned workbook and each decision is applied once: its source (file name and content hash, or
  the data manager and time) is kept in the history, so a workbook still lying in the landing folder on
  the next run changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook
from sqlalchemy import create_engine, inspect

from dli_etl.ingest.xlsx_reader import cell_text, normalize_header
from dli_etl.text_safety import path_component, workbook_text

OPEN, ANSWERED, CLOSED, ACCEPTED = "Open", "Answered", "Closed", "Accepted"
RESPONSES_FOLDER = "query_responses"
QUERY_COLUMNS = ("query_id", "study", "site", "subjid", "form", "field", "rule_id", "severity", "category", "value",
                 "message", "src_file", "src_locator", "status", "response", "first_seen_run", "last_seen_run",
                 "status_changed_run", "times_reopened", "decided_by", "dm_note")
HISTORY_COLUMNS = ("run_id", "query_id", "from_status", "to_status", "reason", "response", "source")
DECISIONS_FILE = "dm_decisions.csv"
DECISION_COLUMNS = ("query_id", "decision", "note", "by", "at")
DECISIONS = ("accept", "close", "reopen")
_CONFIRMED = re.compile(r"confirm(?:ed)?\s+correct|value\s+is\s+correct|确认无误|数据正确", re.IGNORECASE)
# "We cannot confirm correct value yet", "无法确认无误": a negated confirmation must never accept a query
_NEGATED = re.compile(r"\b(?:not|cannot|unable|never|no)\b|n't\b|无法|不能|不是|尚未|未能|没有|不(?!错)", re.IGNORECASE)
_SHEET = "Queries"
_WORKBOOK_COLUMNS = (("Query ID", "query_id", 16), ("Status", "status", 11), ("Response", "response", 40),
                     ("Data manager note", "dm_note", 30),
                     ("Subject", "subjid", 11), ("Form", "form", 13), ("Field", "field", 16), ("Value", "value", 18),
                     ("Problem", "message", 70), ("Rule", "rule_id", 26), ("Severity", "severity", 9),
                     ("Source file", "src_file", 36), ("Source cell", "src_locator", 40),
                     ("Open since run", "first_seen_run", 22))


def confirms(text: str) -> bool:
    """True when a site's answer confirms the value as correct, in English or Chinese, and says nothing
    that negates it ("cannot confirm", "not correct", "无法确认")."""
    return bool(_CONFIRMED.search(text)) and not _NEGATED.search(text)


def empty_queries() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "times_reopened" else "string") for c in QUERY_COLUMNS})


def empty_decisions() -> pd.DataFrame:
    return pd.DataFrame(columns=[*DECISION_COLUMNS, "source"], dtype="string")


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in HISTORY_COLUMNS})


def load_previous(warehouse_url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Query state and history from the warehouse; empty on the first run."""
    engine = create_engine(warehouse_url)
    try:
        tables = set(inspect(engine).get_table_names())
        queries = pd.read_sql_table("queries", engine) if "queries" in tables else empty_queries()
        history = pd.read_sql_table("query_history", engine) if "query_history" in tables else empty_history()
    finally:
        engine.dispose()
    # the warehouse tags rows with the run that published them; the query state itself does not carry it
    queries = queries.drop(columns=["dli_run_id"], errors="ignore")
    history = history.drop(columns=["dli_run_id"], errors="ignore")
    # a warehouse written before a column existed gets it empty
    queries = queries.reindex(columns=list(QUERY_COLUMNS)).astype({"decided_by": "string", "dm_note": "string"})
    history = history.reindex(columns=list(HISTORY_COLUMNS))
    queries = queries.astype({c: "string" for c in QUERY_COLUMNS if c != "times_reopened"})
    queries["times_reopened"] = pd.to_numeric(queries["times_reopened"]).astype("Int64")
    return queries, history.astype("string")


def read_responses(study_landing: Path) -> pd.DataFrame:
    """Answered triage workbooks a site sent back (``<study>/query_responses/*.xlsx``)."""
    rows = []
    folder = Path(study_landing) / RESPONSES_FOLDER
    for path in sorted(folder.glob("*.xlsx")) if folder.exists() else []:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        try:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(_SHEET).to_python()
        except Exception:  # an unreadable returned workbook must not stop the run; it is simply not applied
            continue
        if not sheet:
            continue
        header = [normalize_header(h) for h in sheet[0]]
        try:
            qid, status, response = (header.index(n) for n in ("query id", "status", "response"))
        except ValueError:
            continue
        for raw in sheet[1:]:
            if len(raw) <= max(qid, status, response):
                continue
            rows.append({"query_id": cell_text(raw[qid]), "site_status": cell_text(raw[status]),
                         "response": cell_text(raw[response]), "response_file": path.name,
                         "source": f"{path.name}#{digest}"})
    frame = pd.DataFrame(rows, columns=["query_id", "site_status", "response", "response_file", "source"]).astype("string")
    return frame[frame["query_id"] != ""].drop_duplicates("query_id", keep="last")


def read_decisions(study_landing: Path) -> pd.DataFrame:
    """The data manager's decisions (``<study>/query_responses/dm_decisions.csv``), in the order made."""
    path = Path(study_landing) / RESPONSES_FOLDER / DECISIONS_FILE
    if not path.is_file():
        return pd.DataFrame(columns=[*DECISION_COLUMNS, "source"], dtype="string")
    frame = pd.read_csv(path, dtype="string", keep_default_na=False).reindex(columns=list(DECISION_COLUMNS))
    frame = frame[frame["query_id"].fillna("") != ""].fillna("")
    return frame.assign(source="dm:" + frame["by"] + "@" + frame["at"]).astype("string")


def record_decision(study_landing: Path, query_ids: list[str], decision: str, note: str, by: str) -> Path:
    """Append a data-manager decision; the next run applies it once."""
    from datetime import UTC, datetime

    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}")
    path = Path(study_landing) / RESPONSES_FOLDER / DECISIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    new = pd.DataFrame([{"query_id": q, "decision": decision, "note": note, "by": by, "at": at} for q in query_ids])
    new.to_csv(path, mode="a", header=not path.exists(), index=False)
    return path


def accepted_ids(previous: pd.DataFrame, responses: pd.DataFrame, decisions: pd.DataFrame | None = None) -> set[str]:
    """Queries that are (or now become) accepted: their rows are released from quarantine. The data
    manager's last decision on a query wins over the site's answer."""
    accepted = set(previous.loc[previous["status"] == ACCEPTED, "query_id"])
    if not responses.empty:
        confirmed = responses["response"].fillna("").map(confirms).astype(bool)
        accepted |= set(responses.loc[confirmed, "query_id"])
    if decisions is not None and not decisions.empty:
        last = decisions.drop_duplicates("query_id", keep="last").set_index("query_id")["decision"]
        accepted = (accepted - set(last[last != "accept"].index)) | set(last[last == "accept"].index)
    return accepted


def update_queries(previous: pd.DataFrame, findings: pd.DataFrame, responses: pd.DataFrame,
                   run_id: str, read_files: set[str] | None = None,
                   studies_read: set[str] | None = None, history: pd.DataFrame | None = None,
                   decisions: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New query state and this run's history rows.

    A query whose problem is gone closes itself only when its source was read this run
    (``read_files``, ``studies_read``; None = everything was read): a file that did not come is not a fix.
    Site answers and data-manager decisions already in ``history`` (same source) are not applied again."""
    prev = previous.set_index("query_id") if not previous.empty else empty_queries().set_index("query_id")
    applied: set[tuple[str, str]] = set()
    if history is not None and not history.empty and "source" in history.columns:
        applied = {(str(q), str(src)) for q, src in zip(history["query_id"], history["source"], strict=True)
                   if isinstance(src, str) and src}
    fresh = responses
    if not responses.empty:
        new = [(str(q), str(src)) not in applied for q, src in zip(responses["query_id"], responses["source"], strict=True)] \
            if "source" in responses.columns else [True] * len(responses)
        fresh = responses[new]
    answers = fresh.set_index("query_id") if not fresh.empty else None
    choice = None
    if decisions is not None and not decisions.empty:
        pending = decisions[[(str(q), str(src)) not in applied
                             for q, src in zip(decisions["query_id"], decisions["source"], strict=True)]]
        choice = pending.drop_duplicates("query_id", keep="last").set_index("query_id") if not pending.empty else None
    # info findings (e.g. documented sponsor CT extensions) are notes for the standards team, not site queries
    current = findings[findings["severity"] != "info"].drop_duplicates("finding_id").set_index("finding_id")
    rows: list[dict[str, object]] = []

    changes: list[dict[str, str]] = []

    def move(qid: str, old: str, new: str, reason: str, response: str = "", source: str = "",
             always: bool = False) -> None:
        if old != new or always or source:
            changes.append({"run_id": run_id, "query_id": qid, "from_status": old, "to_status": new,
                            "reason": reason, "response": response, "source": source})

    for qid, finding in current.iterrows():
        old_row = prev.loc[qid] if qid in prev.index else None
        old = "" if old_row is None else str(old_row["status"])
        response = "" if old_row is None or pd.isna(old_row["response"]) else str(old_row["response"])
        reopened = 0 if old_row is None or pd.isna(old_row["times_reopened"]) else int(old_row["times_reopened"])
        first_seen = run_id if old_row is None else str(old_row["first_seen_run"])
        decided_by = "" if old_row is None or pd.isna(old_row.get("decided_by")) else str(old_row["decided_by"])
        dm_note = "" if old_row is None or pd.isna(old_row.get("dm_note")) else str(old_row["dm_note"])
        new, reason = OPEN, "new problem" if old_row is None else "still in the data"
        if old == ACCEPTED:
            new, reason = ACCEPTED, "accepted earlier"
        elif old == CLOSED and decided_by:
            new, reason = CLOSED, f"closed by the data manager ({decided_by})"
        elif old == CLOSED:
            new, reason = OPEN, "the problem came back"
            reopened += 1
        elif old == ANSWERED:
            new, reason = ANSWERED, "answered, problem still in the data"
        source, always = "", False
        if answers is not None and qid in answers.index and new not in (ACCEPTED, CLOSED):
            answer = answers.loc[qid]
            text = "" if pd.isna(answer["response"]) else str(answer["response"])
            site_status = str(answer["site_status"]).strip().capitalize()
            source = str(answer.get("source", "") or "")
            if text and confirms(text):
                new, reason, response = ACCEPTED, "site confirmed the value is correct", text
            elif site_status == CLOSED:
                new, reason = OPEN, "site marked it closed but the problem is still in the data"
                response = text or response
                reopened += 1
                always = True
            elif text:
                new, reason, response = ANSWERED, "site answered", text
            else:
                source = ""
        move(qid, old, new, reason, response, source, always)
        if choice is not None and qid in choice.index:
            decision = choice.loc[qid]
            who, note = str(decision["by"]), str(decision["note"])
            before = new
            if decision["decision"] == "accept":
                new, decided_by = ACCEPTED, who
            elif decision["decision"] == "close":
                new, decided_by = CLOSED, who
            elif decision["decision"] == "reopen":
                new, decided_by = OPEN, ""
            # the data manager's note is theirs: the site's response stays as the site wrote it
            dm_note = note or dm_note
            move(qid, before, new, f"data manager {who}: {decision['decision']}", note, str(decision["source"]),
                 always=True)
        changed = run_id if old != new else (str(old_row["status_changed_run"]) if old_row is not None else run_id)
        rows.append({"query_id": qid, **{c: finding[c] for c in ("study", "site", "subjid", "form", "field", "rule_id",
                                                              "severity", "category", "value", "message", "src_file",
                                                              "src_locator")},
                     "status": new, "response": response, "first_seen_run": first_seen, "last_seen_run": run_id,
                     "status_changed_run": changed, "times_reopened": reopened, "decided_by": decided_by,
                     "dm_note": dm_note})
    for qid, old_row in prev.iterrows():
        if qid in current.index:
            continue
        source = "" if pd.isna(old_row["src_file"]) else str(old_row["src_file"])
        unread = (studies_read is not None and str(old_row["study"]) not in studies_read) or (
            read_files is not None and source != "" and source not in read_files)
        if unread:
            rows.append({"query_id": qid, **{c: old_row[c] for c in QUERY_COLUMNS if c != "query_id"}})
            continue
        old = str(old_row["status"])
        new = CLOSED
        response = "" if pd.isna(old_row["response"]) else str(old_row["response"])
        source = ""
        if answers is not None and qid in answers.index:
            # the site's explanation that came with the fix is kept with the closed query
            answer = answers.loc[qid]
            response = str(answer["response"]) if pd.notna(answer["response"]) and str(answer["response"]) else response
            source = str(answer.get("source", "") or "")
        move(qid, old, new, "problem no longer in the data", response, source)
        rows.append({"query_id": qid, **{c: old_row[c] for c in QUERY_COLUMNS if c not in ("query_id",)},
                     "status": new, "response": response,
                     "status_changed_run": run_id if old != new else old_row["status_changed_run"]})
    queries = pd.DataFrame(rows, columns=list(QUERY_COLUMNS))
    queries = queries.astype({c: "string" for c in QUERY_COLUMNS if c != "times_reopened"})
    queries["times_reopened"] = pd.to_numeric(queries["times_reopened"]).astype("Int64")
    return queries.sort_values(["study", "site", "query_id"], kind="mergesort").reset_index(drop=True), \
        pd.DataFrame(changes, columns=list(HISTORY_COLUMNS)).astype("string")


def write_triage_workbooks(queries: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One workbook per study and site with its open and answered queries, ready to send."""
    written = []
    pending = queries[queries["status"].isin([OPEN, ANSWERED])]
    for (study, site), group in pending.groupby(["study", "site"], dropna=False):
        # site ids come from source files (an ODM SiteRef): never trusted as a path
        study_name, site_name = path_component(study), path_component(site)
        path = Path(out_dir) / study_name / f"{study_name}_{site_name}_queries.xlsx"
        written.append(_write_workbook(group, path, f"{study} site {site_name}"))
    return written


def _write_workbook(group: pd.DataFrame, path: Path, title: str) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = _SHEET
    ws.append([header for header, _, _ in _WORKBOOK_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
    for _, query in group.sort_values(["subjid", "form", "field"], kind="mergesort").iterrows():
        ws.append([workbook_text(query[key]) for _, key, _ in _WORKBOOK_COLUMNS])
    editable = {i for i, (_, key, _) in enumerate(_WORKBOOK_COLUMNS) if key in ("status", "response")}
    # the query rows only: the site answers the queries it was sent, it does not add rows
    for row in ws.iter_rows(min_row=2, max_row=ws.max_row, max_col=len(_WORKBOOK_COLUMNS)):
        for i, cell in enumerate(row):
            if cell.value is not None:
                cell.data_type = TYPE_STRING  # source text stays text, never a formula
            if i in editable:
                cell.protection = Protection(locked=False)
    # only Status and Response are the site's to change; filters and column widths still work
    ws.protection.sheet = True
    ws.protection.autoFilter = False
    ws.protection.sort = False
    ws.protection.formatColumns = False
    status = DataValidation(type="list", formula1='"Open,Answered,Closed"', allow_blank=False,
                            showErrorMessage=True, errorTitle="Status", error="Choose Open, Answered or Closed")
    ws.add_data_validation(status)
    status.add(f"B2:B{max(ws.max_row, 2) + 200}")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for i, (_, _, width) in enumerate(_WORKBOOK_COLUMNS):
        ws.column_dimensions[chr(65 + i)].width = width
    help_sheet = wb.create_sheet("How to answer")
    for line in (f"Queries for {title}.",
                 "For each row: set Status to Answered and write your answer in Response.",
                 "If the value is right as it is, write 'confirmed correct' and why.",
                 "If you corrected the source data, say so; the query closes when the next transfer no longer shows the problem.",
                 "Only the Status and Response columns can be changed; the Data manager note is the data manager's reply.",
                 "Do not change the Query ID column."):
        help_sheet.append([line])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
