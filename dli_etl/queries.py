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
from openpyxl.cell.cell import TYPE_STRING, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook
from sqlalchemy import create_engine, inspect

from dli_etl.findings import render_site_message, rule_catalogue
from dli_etl.ingest.xlsx_reader import cell_text, normalize_header
from dli_etl.lineage import column_letter
from dli_etl.site_wording import SiteWording, form_label
from dli_etl.text_safety import path_component, streamed_text, workbook_text

OPEN, ANSWERED, CLOSED, ACCEPTED = "Open", "Answered", "Closed", "Accepted"
RESPONSES_FOLDER = "query_responses"
QUERY_COLUMNS = ("query_id", "study", "site", "subjid", "form", "field", "rule_id", "severity", "category", "value",
                 "message", "src_file", "src_locator", "status", "response", "first_seen_run", "last_seen_run",
                 "status_changed_run", "times_reopened", "decided_by", "dm_note", "expected", "detail", "audience",
                 "consequences", "opened_on")
# copied from the finding each time the problem is seen: the query says what the data says now
_FROM_FINDING = ("study", "site", "subjid", "form", "field", "rule_id", "severity", "category", "value", "message",
                 "src_file", "src_locator", "expected", "detail")
HISTORY_COLUMNS = ("run_id", "query_id", "from_status", "to_status", "reason", "response", "source")
DECISIONS_FILE = "dm_decisions.csv"
DECISION_COLUMNS = ("query_id", "decision", "note", "by", "at")
DECISIONS = ("accept", "close", "reopen")
_CONFIRMED = re.compile(r"confirm(?:ed)?\s+correct|value\s+is\s+correct|确认无误|数据正确", re.IGNORECASE)
# "We cannot confirm correct value yet", "无法确认无误": a negated confirmation must never accept a query
_NEGATED = re.compile(r"\b(?:not|cannot|unable|never|no)\b|n't\b|无法|不能|不是|尚未|未能|没有|不(?!错)", re.IGNORECASE)
_SHEET = "Queries"
# (query column, English header, Chinese header, width): what a research nurse needs to find and fix the
# value, in the site's words; only Status and Response are the site's to edit
_WORKBOOK_COLUMNS = (
    ("query_id", "Query ID", "质疑编号", 16), ("status", "Status", "状态", 11), ("response", "Response", "回复", 40),
    ("dm_note", "Data manager reply", "数据管理员回复", 30), ("subjid", "Subject", "受试者", 11),
    ("form_label", "Form", "表单", 20), ("item", "Item", "条目", 22), ("value", "Value", "数值", 18),
    ("question", "Query", "质疑内容", 70), ("also", "Also affected", "同时受影响", 40),
    ("where", "Where in your file", "在文件中的位置", 40), ("file", "File", "文件", 28),
    ("opened_on", "Opened on", "发出日期", 12))
_EDITABLE = ("status", "response")
# how each status reads in the site's language (the workbook's drop-down); read back to the English status
STATUS_WORDS = {"en": {OPEN: OPEN, ANSWERED: ANSWERED, CLOSED: CLOSED},
                "zh": {OPEN: "待处理", ANSWERED: "已回复", CLOSED: "已关闭"}}
_STATUS_BACK = {word: status for words in STATUS_WORDS.values() for status, word in words.items()}
_HOW_TO_ANSWER = {
    "en": ("How to answer", (
        "Queries for {title}.",
        "For each row: set Status to Answered and write your answer in Response.",
        "If the value is right as it is, write 'confirmed correct' and why.",
        "If you corrected the source data, say so; the query closes when the next transfer no longer shows the problem.",
        "'Also affected' lists other checks that fail because of the same value; fixing this one value fixes them too.",
        "Only the Status and Response columns can be changed; the Data manager reply is the data manager's.",
        "Send the workbook back with the next data transfer.")),
    "zh": ("填写说明", (
        "{title} 的数据质疑。",
        "请逐行处理：将“状态”改为“已回复”，并在“回复”栏写明答复。",
        "如数值本身无误，请填写“确认无误”并说明理由。",
        "如已更正原始数据，请注明；下次数据传输中问题消失后，质疑将自动关闭。",
        "“同时受影响”列出因同一数值而未通过的其他核查；更正该数值即可一并解决。",
        "只有“状态”和“回复”两栏可以修改；“数据管理员回复”由数据管理员填写。",
        "请随下一次数据传输一并发回本工作簿。")),
}


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
        positions = []
        for key in ("query_id", "status", "response"):
            names = {normalize_header(en) for k, en, _, _ in _WORKBOOK_COLUMNS if k == key} | \
                {normalize_header(zh) for k, _, zh, _ in _WORKBOOK_COLUMNS if k == key}
            positions.append(next((i for i, h in enumerate(header) if h in names), None))
        if None in positions:
            continue
        qid, status, response = positions
        for raw in sheet[1:]:
            if len(raw) <= max(qid, status, response):
                continue
            said = cell_text(raw[status])
            rows.append({"query_id": cell_text(raw[qid]), "site_status": _STATUS_BACK.get(said, said),
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
                   decisions: pd.DataFrame | None = None, run_date: str | None = None,
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New query state and this run's history rows.

    A query whose problem is gone closes itself only when its source was read this run
    (``read_files``, ``studies_read``; None = everything was read): a file that did not come is not a fix.
    Site answers and data-manager decisions already in ``history`` (same source) are not applied again.
    A finding that follows from another (``root_finding_id``, see ``root_causes``) is not a query of its
    own: its root's query lists it under ``consequences``. ``run_date`` (YYYY-MM-DD, default today) is
    the date a new query is opened on."""
    from datetime import UTC, datetime

    run_date = run_date or datetime.now(UTC).strftime("%Y-%m-%d")
    catalogue = rule_catalogue()
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
    answers = _rows_by_id(fresh.set_index("query_id")) if not fresh.empty else {}
    choice: dict[str, dict] = {}
    if decisions is not None and not decisions.empty:
        pending = decisions[[(str(q), str(src)) not in applied
                             for q, src in zip(decisions["query_id"], decisions["source"], strict=True)]]
        choice = _rows_by_id(pending.drop_duplicates("query_id", keep="last").set_index("query_id"))
    # info findings (e.g. documented sponsor CT extensions) are notes for the standards team, not site queries
    current = findings[findings["severity"] != "info"].drop_duplicates("finding_id").set_index("finding_id")
    for column in ("rule_id", "expected", "detail", "root_finding_id"):
        if column not in current.columns:
            current[column] = ""
    root = current["root_finding_id"].fillna("")
    folded = (root != "") & root.isin(current.index)
    consequences = current[folded].groupby(root[folded])["rule_id"].agg(
        lambda rules: "; ".join(f"{r} ×{n}" for r, n in rules.value_counts().sort_index().items()))
    folded_into = dict(zip(current.index[folded], root[folded], strict=True))
    current = current[~folded]
    rows: list[dict[str, object]] = []

    changes: list[dict[str, str]] = []

    def move(qid: str, old: str, new: str, reason: str, response: str = "", source: str = "",
             always: bool = False) -> None:
        if old != new or always or source:
            changes.append({"run_id": run_id, "query_id": qid, "from_status": old, "to_status": new,
                            "reason": reason, "response": response, "source": source})

    # plain dicts, not a Series per row: at registry scale (tens of thousands of queries) building a
    # Series for each query, its previous state and its answer was most of this function's time
    previous_rows = _rows_by_id(prev)
    for qid, finding in _rows_by_id(current).items():
        old_row = previous_rows.get(qid)
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
        if qid in answers and new not in (ACCEPTED, CLOSED):
            answer = answers[qid]
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
        if qid in choice:
            decision = choice[qid]
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
        opened = run_date if old_row is None or pd.isna(old_row.get("opened_on")) else str(old_row["opened_on"])
        rule = catalogue.get(str(finding["rule_id"]))
        rows.append({"query_id": qid, **{c: finding[c] for c in _FROM_FINDING},
                     "status": new, "response": response, "first_seen_run": first_seen, "last_seen_run": run_id,
                     "status_changed_run": changed, "times_reopened": reopened, "decided_by": decided_by,
                     "dm_note": dm_note, "audience": rule.audience if rule else "site",
                     "consequences": consequences.get(qid, ""), "opened_on": opened})
    for qid, old_row in previous_rows.items():
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
        if qid in folded_into and old != ACCEPTED:
            # the same problem is now part of another query's root cause: that query carries it
            move(qid, old, new, f"folded into query {folded_into[qid]} (same root cause)")
            rows.append({"query_id": qid, **{c: old_row[c] for c in QUERY_COLUMNS if c != "query_id"},
                         "status": new, "status_changed_run": run_id if old != new else old_row["status_changed_run"]})
            continue
        if qid in answers:
            # the site's explanation that came with the fix is kept with the closed query
            answer = answers[qid]
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


def _rows_by_id(frame: pd.DataFrame) -> dict[str, dict]:
    """Each row of ``frame`` as a dict, keyed by its index (query or finding id, unique)."""
    return dict(zip(frame.index, frame.to_dict("records"), strict=True))


def write_triage_workbooks(queries: pd.DataFrame, out_dir: Path, wording: SiteWording | None = None,
                           findings: pd.DataFrame | None = None) -> list[Path]:
    """One workbook per study and site with its open and answered queries, in the site's language and
    words (``wording``); and one per study for the data manager with the queries only they can resolve
    (profiles, mappings, the pipeline), which are never sent to a site. ``findings`` lets a query list
    the findings that follow from it."""
    wording = wording or SiteWording()
    written = []
    pending = queries[queries["status"].isin([OPEN, ANSWERED])]
    audience = pending["audience"].fillna("site") if "audience" in pending.columns else pd.Series("site", index=pending.index)
    consequences = _consequences_by_root(findings)
    for (study, site), group in pending[audience != "data_manager"].groupby(["study", "site"], dropna=False):
        # site ids come from source files (an ODM SiteRef): never trusted as a path
        study_name, site_name = path_component(study), path_component(site)
        language = wording.language(str(study), str(site))
        path = Path(out_dir) / study_name / f"{study_name}_{site_name}_queries.xlsx"
        rows = [_site_row(q, wording, language, consequences) for q in group.to_dict("records")]
        written.append(_write_workbook(rows, path, f"{study} site {site_name}", language))
    for study, group in pending[audience == "data_manager"].groupby("study", dropna=False):
        study_name = path_component(study)
        path = Path(out_dir) / study_name / f"{study_name}_data_manager_queries.xlsx"
        rows = [_data_manager_row(q, wording, consequences) for q in group.to_dict("records")]
        written.append(_write_workbook(rows, path, f"{study}: data manager", "en"))
    return written


def _consequences_by_root(findings: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if findings is None or findings.empty or "root_finding_id" not in findings.columns:
        return {}
    linked = findings[findings["root_finding_id"].fillna("") != ""]
    return {str(root): part for root, part in linked.groupby("root_finding_id")}


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _also_affected(qid: str, consequences: dict[str, pd.DataFrame], wording: SiteWording, language: str) -> str:
    part = consequences.get(qid)
    if part is None:
        return ""
    items = [f"{wording.item(_text(f['src_file']), _text(f['form']), _text(f['field']))} {_text(f['value'])}".strip()
             for f in part.to_dict("records")]
    shown = list(dict.fromkeys(items))
    return ("；" if language == "zh" else "; ").join(shown[:10]) + (" …" if len(shown) > 10 else "")


def _site_row(query: dict, wording: SiteWording, language: str, consequences: dict[str, pd.DataFrame]) -> dict[str, str]:
    src_file, form, field_name = _text(query["src_file"]), _text(query["form"]), _text(query["field"])
    item = wording.item(src_file, form, field_name) if field_name else ""
    label = form_label(form, language) if form else ""
    question = render_site_message(_text(query["rule_id"]), language, _text(query["value"]),
                                   _text(query.get("expected")), _text(query.get("detail")), item, label)
    status = _text(query["status"])
    return {"query_id": _text(query["query_id"]), "status": STATUS_WORDS[language].get(status, status),
            "response": _text(query["response"]), "dm_note": _text(query["dm_note"]), "subjid": _text(query["subjid"]),
            "form_label": label, "item": item, "value": _text(query["value"]), "question": question,
            "also": _also_affected(_text(query["query_id"]), consequences, wording, language),
            "where": wording.where(src_file, _text(query["src_locator"]), language),
            "file": src_file.rsplit("/", 1)[-1], "opened_on": _text(query.get("opened_on"))}


def _data_manager_row(query: dict, wording: SiteWording, consequences: dict[str, pd.DataFrame]) -> dict[str, str]:
    row = _site_row(query, wording, "en", consequences)
    # the data manager reads the rule's own message: it names the profile key or spec to change
    return {**row, "question": f"{_text(query['rule_id'])}: {_text(query['message'])}", "file": _text(query["src_file"]),
            "where": _text(query["src_locator"])}


def _write_workbook(rows: list[dict[str, str]], path: Path, title: str, language: str) -> Path:
    # streamed (write-only): at registry scale a site has thousands of queries, and a cell object kept
    # and styled one by one per value was most of writing them. Sheet settings come first, since a
    # streamed sheet writes its columns and panes before its rows.
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_SHEET)
    headers = [zh if language == "zh" else en for _, en, zh, _ in _WORKBOOK_COLUMNS]
    for i, (_, _, _, width) in enumerate(_WORKBOOK_COLUMNS):
        ws.column_dimensions[column_letter(i)].width = width
    ws.freeze_panes = "A2"
    last = column_letter(len(_WORKBOOK_COLUMNS) - 1)
    ws.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    # printed for the ward round: landscape, the header row on every page
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.print_title_rows = "1:1"
    # only Status and Response are the site's to change; filters and column widths still work
    ws.protection.sheet = True
    ws.protection.autoFilter = False
    ws.protection.sort = False
    ws.protection.formatColumns = False
    words = STATUS_WORDS[language]
    choices = ",".join(words[s] for s in (OPEN, ANSWERED, CLOSED))
    status = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=False, showErrorMessage=True,
                            errorTitle=headers[1], error=choices)
    status.add(f"B2:B{max(len(rows) + 1, 2) + 200}")
    ws.data_validations.append(status)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=header)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        header_cells.append(cell)
    ws.append(header_cells)
    # one cell per column, given each row's value in turn (a streamed row is written when appended): styled
    # where the column is, else used only for text openpyxl would not keep as text
    cells, styled = [], []
    for key, _, _, _ in _WORKBOOK_COLUMNS:
        cell = WriteOnlyCell(ws)
        if key in _EDITABLE:  # the query rows only: the site answers the queries it was sent, it adds none
            cell.protection = Protection(locked=False)
        if key in ("question", "also", "response"):
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        cells.append(cell)
        styled.append(cell.has_style)
    for row in sorted(rows, key=lambda r: (r["subjid"], r["form_label"], r["item"], r["query_id"])):
        values: list[object] = []
        for cell, is_styled, (key, _, _, _) in zip(cells, styled, _WORKBOOK_COLUMNS, strict=True):
            text = workbook_text(row[key])
            if is_styled:
                cell.value = text
                cell.data_type = TYPE_STRING  # source text stays text, never a formula
                values.append(cell)
            else:
                values.append(streamed_text(text, cell))
        ws.append(values)
    sheet_name, lines = _HOW_TO_ANSWER[language]
    help_sheet = wb.create_sheet(sheet_name)
    help_sheet.column_dimensions["A"].width = 110
    help_sheet.protection.sheet = True
    for line in lines:
        help_sheet.append([line.format(title=title)])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
