"""Limits on what one landing file may cost before it is read (``specs/limits.yaml``).

An .xlsx is a zip: a 2 GiB "zip bomb" passes as a small file, and one stray cell at Z1000000 makes
every spreadsheet reader build a grid of 26 million cells. Both are measured without decompressing into
memory: the zip directory gives every member's size, and each worksheet's XML is streamed once to find
its farthest cell. A breach refuses the file (or the sheet) with a finding that names the limit.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as SafeET

from dli_etl.ingest.errors import InputLimitExceeded
from dli_etl.specs import load_spec

_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
# a formula cell with no cached value: spreadsheet readers see an empty cell (the workbook was written by a
# program and never recalculated)
_FORMULA_NO_VALUE = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"[^>]*>\s*'
                               rb'<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*'
                               rb'(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>')
# any formula at all: a cheap search that spares most stretches of a sheet the pattern above
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f\b")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    xlsx_max_uncompressed_mib: float
    sheet_max_cells: int
    odm_max_mib: float
    csv_max_mib: float


@lru_cache(maxsize=1)
def limits() -> Limits:
    spec = load_spec("limits")
    return Limits(float(spec["xlsx_max_uncompressed_mib"]), int(spec["sheet_max_cells"]),
                  float(spec["odm_max_mib"]), float(spec["csv_max_mib"]))


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ch - 64)
    return number


def check_file_size(path: Path, max_mib: float, what: str) -> None:
    size = Path(path).stat().st_size
    if size > max_mib * 1024 * 1024:
        raise InputLimitExceeded(str(path), f"is {size / 1048576:.0f} MiB, above the {max_mib:g} MiB limit for {what} "
                                         f"(specs/limits.yaml); split the export or raise the limit")


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its worksheet XML member, from workbook.xml and its relationships."""
    try:
        workbook = SafeET.fromstring(archive.read("xl/workbook.xml"))
        rels = SafeET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, SafeET.ParseError):
        return {}
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        targets[rel.get("Id")] = member
    out = {}
    for sheet in workbook.iter():
        if sheet.tag.rsplit("}", 1)[-1] == "sheet":
            rid = next((v for k, v in sheet.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
            if rid in targets:
                out[sheet.get("name", "")] = targets[rid]
    return out


def farthest_cell(archive: zipfile.ZipFile, member: str) -> tuple[int, int]:
    """(last row, last column) holding a cell, streaming the sheet XML in 1 MiB chunks."""
    rows, cols, _ = scan_sheet(archive, member)
    return rows, cols


def scan_sheet(archive: zipfile.ZipFile, member: str) -> tuple[int, int, list[str]]:
    """(last row, last column, formula cells without a cached value), streaming the sheet XML once."""
    rows = cols = 0
    blank_formulas: list[str] = []
    tail = b""
    with archive.open(member) as handle:
        while chunk := handle.read(_CHUNK):
            data = tail + chunk
            # every cell's reference, but Python work only per distinct column: a match object per cell
            # was most of reading a large workbook
            refs = _CELL_REF.findall(data)
            if refs:
                letters, digits = zip(*refs, strict=True)
                rows = max(rows, max(map(int, digits)))
                cols = max(cols, max(map(_column_number, set(letters))))
            if not _FORMULA_TAG.search(data):
                tail = data[-400:]
                continue  # no formula in this stretch: the costly pattern below would find nothing
            # a cell split across chunks is seen whole in the next pass: keep refs unique
            for match in _FORMULA_NO_VALUE.finditer(data):
                ref = match.group(1).decode()
                if ref not in blank_formulas[-50:]:
                    blank_formulas.append(ref)
            tail = data[-400:]
    return rows, cols, blank_formulas


@dataclass
class XlsxCheck:
    """What a workbook is before it is read: sheets too large to read (with why), and per sheet the
    formula cells that have no cached value (a reader sees them empty)."""

    too_large: dict[str, str]
    blank_formulas: dict[str, list[str]]


def check_xlsx(path: Path) -> XlsxCheck:
    """Refuse a workbook that decompresses beyond the limit; report the sheets too large to read, each
    with the reason (the rest of the workbook is read), and formula cells without cached values."""
    limit = limits()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return XlsxCheck({}, {})  # not a zip: the reader says what it is
    with archive:
        total = sum(info.file_size for info in archive.infolist())
        if total > limit.xlsx_max_uncompressed_mib * 1048576:
            raise InputLimitExceeded(str(path), f"decompresses to {total / 1048576:.0f} MiB, above the "
                                             f"{limit.xlsx_max_uncompressed_mib:g} MiB limit (specs/limits.yaml); "
                                             f"a workbook of lab results is rarely over 50 MiB: is it the right file?")
        too_large: dict[str, str] = {}
        blank: dict[str, list[str]] = {}
        for name, member in _sheet_members(archive).items():
            try:
                rows, cols, blank_formulas = scan_sheet(archive, member)
            except KeyError:
                continue
            if blank_formulas:
                blank[name] = blank_formulas
            if rows * cols > limit.sheet_max_cells:
                from dli_etl.lineage import column_letter

                too_large[name] = (f"its farthest cell is {column_letter(cols - 1)}{rows} ({rows * cols:,} cells), above "
                                   f"the {limit.sheet_max_cells:,}-cell limit (specs/limits.yaml); delete stray cells "
                                   f"far below or right of the table")
        return XlsxCheck(too_large, blank)
