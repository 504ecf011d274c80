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
        self.path = Path(path)
        try:
            self._wb = CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises its own error types for corrupt/zip/password files
            raise SourceReadError(str(path), f"not a readable Excel workbook ({type(exc).__name__}: {exc})") from exc

    def sheets(self) -> list[SheetInfo]:
        return [SheetInfo(m.name, str(m.visible).endswith("Visible")) for m in self._wb.sheets_metadata]

    def read_table(self, sheet: str, header_row: int = 1) -> SheetTable:
        """The table whose header is on ``header_row`` (1-based); blank rows are skipped, not counted."""
        from dli_etl.lineage import column_letter

        try:
            cells = self._wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception as exc:
            raise SourceReadError(str(self.path), f"sheet {sheet!r} cannot be read ({exc})") from exc
        if len(cells) < header_row:
            return SheetTable(sheet, [], {}, pd.DataFrame(), [])
        header_cells = [cell_text(v) for v in cells[header_row - 1]]
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
        records: list[list[str]] = []
        rows: list[int] = []
        for offset, raw in enumerate(cells[header_row:], start=header_row + 1):
            values = [cell_text(raw[i]) if i < len(raw) else "" for i in keep]
            if any(values):
                records.append(values)
                rows.append(offset)
        frame = pd.DataFrame(records, columns=headers, dtype="string") if records else pd.DataFrame(
            {h: pd.Series(dtype="string") for h in headers})
        return SheetTable(sheet, headers, letters, frame, rows, repeated)
