"""Read worksheets into string frames with the sheet row number of every row.

python-calamine reads a workbook 10-30x faster than openpyxl (see stack notes); every cell becomes text
here so no value is coerced before the profile says what it means.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from dli_etl.ingest.errors import SourceReadError


@dataclass(frozen=True)
class SheetInfo:
    name: str
    visible: bool


@dataclass
class SheetTable:
    """A sheet below its header row: ``frame`` holds text, ``rows`` the 1-based sheet row of each record,
    ``letters`` the column letter of each header; ``repeated`` maps a header that occurs again further
    right (renamed ``<header> [<letter>]``, so every column stays readable) to the header it repeats."""

    sheet: str
    headers: list[str]
    letters: dict[str, str]
    frame: pd.DataFrame
    rows: list[int]
    repeated: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per header: its text on each header row
    orphan_values: int = 0  # non-blank cells below the header in columns that have no header

    def find(self, name: str) -> str | None:
        """The header a profile means by ``name``: the whole header, else the one column whose text on one
        header row is ``name``."""
        wanted = normalize_header(name)
        for header in self.headers:
            if normalize_header(header) == wanted:
                return header
        hits = [h for h in self.headers if h not in self.repeated
                and any(normalize_header(a) == wanted for a in self.aliases.get(h, ()))]
        return hits[0] if len(hits) == 1 else None


def normalize_header(text: object) -> str:
    """Compare headers as a person reads them: full-width brackets, spaces and case do not matter."""
    folded = unicodedata.normalize("NFKC", str(text or "")).strip()
    return " ".join(folded.split()).casefold()


def cell_text(value: object) -> str:
    """One cell as text: whole floats without '.0', dates as ISO 8601, empty as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


class XlsxWorkbook:
    """An open workbook; raises ``SourceReadError`` for a file that is not a readable xlsx."""

    def __init__(self, path: Path):
        from dli_etl.ingest.input_limits import check_xlsx

        self.path = Path(path)
        # before calamine sees it: a zip bomb is refused, a sheet with a far stray cell is not loaded
        checked = check_xlsx(self.path)
        self.too_large, self.blank_formulas = checked.too_large, checked.blank_formulas
        try:
            self._wb = CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises its own error types for corrupt/zip/password files
            raise SourceReadError(str(path), f"not a readable Excel workbook ({type(exc).__name__}: {exc})") from exc

    def sheets(self) -> list[SheetInfo]:
        return [SheetInfo(m.name, str(m.visible).endswith("Visible")) for m in self._wb.sheets_metadata]

    def _cells(self, sheet: str) -> list[list[object]]:
        if sheet in self.too_large:
            raise SourceReadError(str(self.path), f"sheet {sheet!r} was not read: {self.too_large[sheet]}")
        try:
            return self._wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception as exc:
            raise SourceReadError(str(self.path), f"sheet {sheet!r} cannot be read ({exc})") from exc

    def merged_ranges(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged ranges of a sheet as (first row, first column, last row, last column), 1-based rows and
        0-based columns like ``SheetTable.letters``; empty when the format does not say."""
        if sheet in self.too_large:
            return []
        try:
            ranges = self._wb.get_sheet_by_name(sheet).merged_cell_ranges or []
        except Exception:  # merge metadata is a nicety: a sheet without it reads the same
            return []
        return [(r0 + 1, c0, r1 + 1, c1) for (r0, c0), (r1, c1) in ranges]

    def cell_texts(self, sheet: str) -> list[list[str]]:
        """Every row of a sheet as text, as ``cell_text`` writes it."""
        return [[cell_text(v) for v in row] for row in self._cells(sheet)]

    def count_values(self, sheet: str) -> int:
        """Non-blank cells of a sheet: what a sheet no profile reads would have given."""
        return sum(1 for row in self._cells(sheet) for v in row if cell_text(v) != "")

    def read_table(self, sheet: str, header_row: int | list[int] = 1) -> SheetTable:
        """The table whose header is on ``header_row`` (1-based), or on several rows (a list: e.g. Chinese
        over English). A column's header is then its row texts joined with " / ", and the profile may name
        it by that or by any one of them (see ``header_aliases``). Blank rows are skipped, not counted."""
        from dli_etl.lineage import column_letter

        header_rows = sorted(header_row) if isinstance(header_row, list) else [int(header_row)]
        cells = self._cells(sheet)
        last = header_rows[-1]
        if len(cells) < last:
            return SheetTable(sheet, [], {}, pd.DataFrame(), [])
        width = max(len(cells[r - 1]) for r in header_rows)
        levels: list[list[str]] = []
        for r in header_rows:
            texts = [cell_text(v) for v in cells[r - 1]] + [""] * (width - len(cells[r - 1]))
            if r != last:
                # an upper header row is often merged across the columns it names: carry it right, but
                # only over columns that have a header of their own below
                below = [cell_text(v) for v in cells[last - 1]] + [""] * (width - len(cells[last - 1]))
                carried = ""
                for i, text in enumerate(texts):
                    carried = text or carried
                    texts[i] = text or (carried if below[i] else "")
            levels.append(texts)
        header_cells = [" / ".join(dict.fromkeys(t[i] for t in levels if t[i])) for i in range(width)]
        keep = [i for i, h in enumerate(header_cells) if h]
        # a header written twice: the second copy keeps its column under a name of its own (pandas cannot
        # hold two columns of one name, and the first copy is what the profile means)
        repeated: dict[str, str] = {}
        seen: set[str] = set()
        for i in keep:
            name = header_cells[i]
            if name in seen:
                header_cells[i] = f"{name} [{column_letter(i)}]"
                repeated[header_cells[i]] = name
            seen.add(header_cells[i])
        headers = [header_cells[i] for i in keep]
        letters = {header_cells[i]: column_letter(i) for i in keep}
        aliases = {header_cells[i]: tuple(dict.fromkeys(t[i] for t in levels if t[i])) for i in keep}
        records: list[list[str]] = []
        rows: list[int] = []
        kept = set(keep)
        orphans = 0
        for offset, raw in enumerate(cells[last:], start=last + 1):
            values = [cell_text(raw[i]) if i < len(raw) else "" for i in keep]
            orphans += sum(1 for i, v in enumerate(raw) if i not in kept and cell_text(v) != "")
            if any(values):
                records.append(values)
                rows.append(offset)
        frame = pd.DataFrame(records, columns=headers, dtype="string") if records else pd.DataFrame(
            {h: pd.Series(dtype="string") for h in headers})
        return SheetTable(sheet, headers, letters, frame, rows, repeated, aliases, orphans)
