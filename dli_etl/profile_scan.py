"""Draft a site profile for a workbook nobody has described yet (``dli-etl scan``).

For every visible sheet: find the header row(s) by how many cells name a known field
(``specs/header_synonyms.yaml``, Chinese and English), match each column to a field by its header, then
look at the values: the date format, the unit a header leaves out (from where the median falls), MRD
results held as columns, identifier-looking columns, subject ids merged down their rows, and coded
values the codelists do not know. Sheets with the same layout become one block with a sheet pattern.
What it cannot place is listed, so the data manager knows what to check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from dli_etl.ingest.xlsx_reader import XlsxWorkbook
from dli_etl.rules.identifiers import identifier_reason
from dli_etl.rules.mrd import parse_mrd_result
from dli_etl.specs import load_spec

_UNIT = re.compile(r"[(（\[].*?[)）\]]")
_SEARCH_ROWS = 20
_DATE_PATTERNS = (
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), None),
    (re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$"), "%Y年%m月%d日"),
    (re.compile(r"^\d{4}\.\d{1,2}\.\d{1,2}$"), "%Y.%m.%d"),
    (re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$"), "%Y/%m/%d"),
)
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_UNITS_IN_HEADER = {"g/l": "g/L", "g/dl": "g/dL", "mmol/l": "mmol/L", "µmol/l": "umol/L", "umol/l": "umol/L",
                    "μmol/l": "umol/L", "mg/dl": "mg/dL", "u/l": "U/L", "10^9/l": "10^9/L", "×10^9/l": "10^9/L",
                    "x10^9/l": "10^9/L", "10^3/ul": "10^3/uL", "/mm3": "/mm3"}


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return " ".join(folded.split())


@dataclass
class ScannedColumn:
    letter: str
    header: str  # as the profile will name it
    texts: tuple[str, ...]
    values: list[str]
    field: str | None = None
    implies: dict[str, str] | None = None  # an MRD result column whose header names the method


@dataclass
class ScannedSheet:
    name: str
    header_rows: list[int]
    columns: list[ScannedColumn]
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)


@dataclass
class ProfileDraft:
    """The drafted profile (a mapping ready for YAML) and what the scan could not place."""

    profile: dict[str, Any]
    sheets: list[ScannedSheet]
    notes: list[str]

    def to_yaml(self) -> str:
        lines = ["# Drafted by `dli-etl scan`: check every line, then validate with `dli-etl check-profile`."]
        lines += [f"# {note}" for note in dict.fromkeys(self.notes)]
        return "\n".join(lines) + "\n" + yaml.dump(self.profile, Dumper=_PlainDumper, allow_unicode=True,
                                                     sort_keys=False, width=110)


class _PlainDumper(yaml.SafeDumper):
    """No anchors and aliases: a data manager reads and edits the draft block by block."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _synonyms() -> dict[str, list[str]]:
    return {name: [_fold(s) for s in words] for name, words in load_spec("header_synonyms")["fields"].items()}


def match_field(header: str, synonyms: dict[str, list[str]] | None = None) -> str | None:
    """The field a header names: an exact synonym (unit in brackets ignored) first, then the longest
    synonym of at least three characters it contains."""
    synonyms = synonyms or _synonyms()
    bare = _fold(_UNIT.sub("", header))
    for name, words in synonyms.items():
        if bare in words:
            return name
    best: tuple[int, str] | None = None
    for name, words in synonyms.items():
        for word in words:
            if len(word) >= 3 and word in bare and (best is None or len(word) > best[0]):
                best = (len(word), name)
    return best[1] if best else None


def _header_score(row: list[str], synonyms: dict[str, list[str]]) -> int:
    return sum(1 for text in row if text and match_field(text, synonyms))


def _header_rows(cells: list[list[str]], synonyms: dict[str, list[str]]) -> list[int] | None:
    scores = [_header_score(row, synonyms) for row in cells[:_SEARCH_ROWS]]
    if not scores or max(scores) < 2:
        return None
    best = scores.index(max(scores))
    width = [i for i, t in enumerate(cells[best]) if t]
    # a second header row: the row above (or below) names the same columns, mostly with known words
    for other in (best - 1, best + 1):
        if 0 <= other < len(cells):
            texts = [cells[other][i] if i < len(cells[other]) else "" for i in width]
            filled = [t for t in texts if t]
            if len(filled) >= max(2, len(width) // 2) and scores[other] >= max(2, scores[best] // 2) \
                    and not any(_looks_like_value(t) for t in filled):
                return sorted([best + 1, other + 1])
    return [best + 1]


def _looks_like_value(text: str) -> bool:
    return bool(re.fullmatch(r"[-+<>]?\d[\d.,%/年月日\s:-]*", text)) or any(p.match(text) for p, _ in _DATE_PATTERNS)


def _date_format(values: list[str]) -> tuple[str | None, str | None]:
    """(date_format, note) from a date column's values."""
    sample = [v for v in values if v][:500]
    if not sample:
        return None, None
    for pattern, fmt in _DATE_PATTERNS:
        if sum(1 for v in sample if pattern.match(v)) >= 0.8 * len(sample):
            return fmt, None
    numbers = pd.to_numeric(pd.Series(sample), errors="coerce")
    if numbers.notna().mean() >= 0.8 and numbers.between(20000, 80000).mean() >= 0.8:
        return "excel_serial", None
    parts = [m.groups() for m in (_DAY_MONTH.match(v) for v in sample) if m]
    if len(parts) >= 0.8 * len(sample):
        sep = next(c for c in sample[0] if c in "/.-")
        if any(int(a) > 12 for a, _, _ in parts):
            return f"%d{sep}%m{sep}%Y", None
        if any(int(b) > 12 for _, b, _ in parts):
            return f"%m{sep}%d{sep}%Y", None
        return f"%d{sep}%m{sep}%Y", "day/month order could not be told from the values: check date_format"
    return None, "date format not recognised: set date_format"


def _unit(field_name: str, header: str, values: list[str]) -> tuple[str | None, str | None]:
    units = load_spec("units")
    analyte = load_spec("forms")
    spec = next((f for form in analyte.values() for n, f in form["fields"].items() if n == field_name), {})
    name = spec.get("analyte")
    if name is None:
        return None, None
    folded = _fold(header).replace(" ", "").replace("*", "^")
    for text, unit in sorted(_UNITS_IN_HEADER.items(), key=lambda kv: -len(kv[0])):
        if text in folded and unit in units[name]["convert"]:
            return unit, None
    numbers = pd.to_numeric(pd.Series([v for v in values if v]), errors="coerce").dropna()
    typical = load_spec("header_synonyms").get("typical_median", {}).get(name)
    if typical and not numbers.empty:
        median = float(numbers.median())
        for unit, rule in units[name]["convert"].items():
            factor = float(rule[1:])
            converted = median / factor if rule[0] == "/" else median * factor
            if typical[0] <= converted <= typical[1]:
                return unit, f"{header}: unit {unit} taken from the values (median {median:g}); check it"
    return units[name]["unit"], None


def _mrd_implies(header: str) -> dict[str, str] | None:
    bare = _fold(header)
    for entry in load_spec("header_synonyms").get("mrd_columns", []):
        if any(_fold(word) in bare for word in entry["header"]):
            return dict(entry["implies"])
    return None


def _is_mrd_column(values: list[str]) -> bool:
    sample = [v for v in values if v][:200]
    if len(sample) < 2:
        return False
    readable = sum(1 for v in sample if parse_mrd_result(v).problem is None and ("%" in v or not v[0].isdigit()))
    return readable >= 0.8 * len(sample)


def _value_map(field_name: str, values: list[str]) -> dict[str, str]:
    forms = load_spec("forms")
    spec = next((f for form in forms.values() for n, f in form["fields"].items() if n == field_name), {})
    if spec.get("type") != "code":
        return {}
    codelist = {k.upper() for k in load_spec("codelists")[spec["codelist"]]}
    known = load_spec("header_synonyms").get("values", {}).get(field_name, {})
    return {v: known[v] for v in sorted(set(values)) if v and v.upper() not in codelist and v in known}


def _scan_sheet(book: XlsxWorkbook, name: str, synonyms: dict[str, list[str]]) -> ScannedSheet | None:
    cells = book.cell_texts(name)
    header_rows = _header_rows(cells, synonyms)
    if header_rows is None:
        return None
    table = book.read_table(name, header_rows)
    columns = []
    for header in table.headers:
        texts = table.aliases.get(header, (header,))
        matches = [m for m in (match_field(t, synonyms) for t in (*texts, header)) if m]
        column = ScannedColumn(table.letters[header], header, texts, table.frame[header].fillna("").tolist(),
                               matches[0] if matches else None)
        if column.field in (None, "mrd_result") and _is_mrd_column(column.values):
            column.implies = _mrd_implies(header)
            column.field = "mrd_result"
        columns.append(column)
    return ScannedSheet(name, header_rows, columns)


def _forms_of(sheet: ScannedSheet, notes: list[str]) -> None:
    forms = load_spec("forms")
    own = {n: form for form, spec in forms.items() for n in spec["fields"]
           if form in ("cbc", "chemistry", "mrd") and n not in ("lbdtc",)}
    by_field: dict[str, ScannedColumn] = {}
    for column in sheet.columns:
        if column.field and column.field not in by_field and not column.implies:
            by_field[column.field] = column
    unpivot = [c for c in sheet.columns if c.implies]
    has_method = "mrd_method" in by_field
    for form in ("cbc", "chemistry", "mrd"):
        specific = [f for f in by_field if own.get(f) == form]
        if form == "mrd" and unpivot and not has_method:
            specific = ["mrd_result"]
        if not specific or "subjid" not in by_field:
            continue
        block: dict[str, Any] = {"sheet": sheet.name, "header_row": sheet.header_rows[0] if len(sheet.header_rows) == 1
                                 else sheet.header_rows}
        columns = {by_field["subjid"].header: "subjid"}
        if "lbdtc" in by_field:
            columns[by_field["lbdtc"].header] = "lbdtc"
        units = {}
        for name in (f for f in forms[form]["fields"] if f in by_field and own.get(f) == form):
            if form == "mrd" and unpivot and not has_method and name == "mrd_result":
                continue
            columns[by_field[name].header] = name
            unit, note = _unit(name, by_field[name].header, by_field[name].values)
            if unit:
                units[name] = unit
            if note:
                notes.append(f"{sheet.name}: {note}")
        block["columns"] = columns
        if units:
            block["units"] = units
        if form == "mrd" and unpivot and not has_method:
            block["constants"] = {"specimen": "BONE MARROW"}
            notes.append("MRD results sit in columns by method: read with unpivot; specimen assumed BONE MARROW, check it")
            block["unpivot"] = {"value_field": "mrd_result",
                                "columns": {c.header: c.implies for c in unpivot}}
        skips = _non_data_rows(by_field["subjid"].values)
        if skips:
            block["skip_rows"] = [{"column": by_field["subjid"].header, "matching": skips}]
        subject = by_field["subjid"].values
        dated = by_field["lbdtc"].values if "lbdtc" in by_field else subject
        if any(not s and d for s, d in zip(subject, dated, strict=True)) and subject and subject[0]:
            block["fill_down"] = ["subjid"]
        sheet.forms[form] = block


_TOTALS = re.compile(r"^(合计|总计|小计|total|sum|subtotal)\b", re.I)
_RULE_LINE = re.compile(r"^[-—=_*.\s]+$")


def _non_data_rows(subjects: list[str]) -> str | None:
    """A skip_rows pattern for what sits in the subject column but is no subject: totals and ruled lines."""
    found = []
    if any(_TOTALS.match(v) for v in subjects if v):
        found.append(r"^(合计|总计|小计|Total|Sum|Subtotal)")
    if any(_RULE_LINE.match(v) for v in subjects if v):
        found.append(r"^[-—=_*.\s]+$")
    return "|".join(found) or None


def _sheet_pattern(names: list[str]) -> str | list[str]:
    if len(names) == 1:
        return names[0]
    pattern = re.sub(r"\d+", "*", names[0])
    if pattern != names[0] and all(re.sub(r"\d+", "*", n) == pattern for n in names):
        return pattern
    return names


def scan_workbook(path: Path, study: str = "STUDY", site: str = "SITE") -> ProfileDraft:
    """Draft a profile for one xlsx workbook."""
    book = XlsxWorkbook(path)
    synonyms = _synonyms()
    notes: list[str] = []
    sheets: list[ScannedSheet] = []
    for info in book.sheets():
        if not info.visible:
            notes.append(f"hidden sheet {info.name!r} not scanned")
            continue
        sheet = _scan_sheet(book, info.name, synonyms)
        if sheet is None:
            notes.append(f"sheet {info.name!r}: no header row with known column names; not placed")
            continue
        _forms_of(sheet, notes)
        sheets.append(sheet)
    date_formats: list[str | None] = []
    identifiers: dict[str, str] = {}
    value_maps: dict[str, dict[str, str]] = {}
    for sheet in sheets:
        used = {h for block in sheet.forms.values() for h in block["columns"]} | {
            h for block in sheet.forms.values() for h in (block.get("unpivot") or {}).get("columns", {})}
        for column in sheet.columns:
            if column.field == "lbdtc" and column.header in used:
                fmt, note = _date_format(column.values)
                date_formats.append(fmt)
                if note:
                    notes.append(f"{sheet.name}!{column.letter}: {note}")
            if column.header in used and column.field:
                value_maps.setdefault(column.field, {}).update(_value_map(column.field, column.values))
            if column.header not in used:
                reason = identifier_reason(column.header, pd.Series(column.values))
                if reason:
                    key = column.texts[0] if column.texts else column.header
                    identifiers[key] = "pseudonymize" if "record" in reason else "drop"
                else:
                    sheet.unplaced.append(f"{column.letter} {column.header!r}")
        if sheet.unplaced:
            notes.append(f"sheet {sheet.name!r}: columns not placed: {', '.join(sheet.unplaced)}")
        if not sheet.forms:
            notes.append(f"sheet {sheet.name!r}: no form recognised")
    forms: dict[str, Any] = {}
    for form in ("cbc", "chemistry", "mrd"):
        groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for sheet in sheets:
            if form in sheet.forms:
                block = sheet.forms[form]
                layout = yaml.safe_dump({k: v for k, v in block.items() if k != "sheet"}, allow_unicode=True)
                groups.setdefault(layout, []).append((sheet.name, block))
        blocks = [{**members[0][1], "sheet": _sheet_pattern([n for n, _ in members])} for members in groups.values()]
        if blocks:
            forms[form] = blocks[0] if len(blocks) == 1 else blocks
    known = [f for f in date_formats if f is not None]
    profile: dict[str, Any] = {"study": study, "site": site, "source_name": Path(path).stem, "format": "xlsx",
                               "files": [f"sites/{site}/*.xlsx"]}
    if known:
        profile["date_format"] = max(set(known), key=known.count)
    profile["identifiers"] = identifiers
    profile["forms"] = forms
    maps = {k: v for k, v in value_maps.items() if v}
    if maps:
        profile["value_maps"] = maps
    return ProfileDraft(profile, sheets, notes)
