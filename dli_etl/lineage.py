"""Lineage: where a value came from, down to the source cell.

Locators are plain strings so they survive Parquet, SQL and spreadsheets:
- xlsx: ``CBC!F17`` (sheet and A1 cell), row-level ``CBC!17``
- ODM: an XPath-like key path ``SubjectData[S01-004]/StudyEventData[SE.DLI:1]/FormData[F.DLI:1]/ItemGroupData[IG.DLI:1]``
  plus ``/ItemData[IT.DLIDT]`` for one value
- REDCap: ``record=001;event=round_1_arm_1;instrument=dli;instance=1`` plus ``;field=dli_date``
"""

from __future__ import annotations

import hashlib
from pathlib import Path

LINEAGE_COLUMNS = ("src_file", "src_sha256", "src_format", "src_locator", "src_row")


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes, streamed so large exports do not load at once."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def column_letter(index: int) -> str:
    """0-based column index to Excel letters (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def xlsx_row_locator(sheet: str, row: int) -> str:
    return f"{sheet}!{row}"


def odm_row_locator(subject: str, event: str, event_rk: str, form: str, form_rk: str, group: str, group_rk: str,
                    occurrence: int = 1) -> str:
    """Key path of one ItemGroupData; a repeated SubjectData with the same key gets ``[n]``."""
    nth = f"[{occurrence}]" if occurrence > 1 else ""
    return (
        f"SubjectData[{subject}]{nth}/StudyEventData[{event}:{event_rk or 1}]/FormData[{form}:{form_rk or 1}]"
        f"/ItemGroupData[{group}:{group_rk or 1}]"
    )


def redcap_row_locator(record: str, event: str, instrument: str, instance: str) -> str:
    return f"record={record};event={event};instrument={instrument};instance={instance}"


def cell_locator(src_format: str, row_locator: str, source_column: str) -> str:
    """One value's locator from its row locator and its source column (letter, ItemOID or field name)."""
    if not row_locator:
        return source_column
    if not source_column:
        return row_locator
    if src_format == "xlsx":
        sheet, _, row = row_locator.rpartition("!")
        return f"{sheet}!{source_column}{row}"
    if src_format == "odm":
        return f"{row_locator}/ItemData[{source_column}]"
    if src_format == "redcap":
        return f"{row_locator};field={source_column}"
    return f"{row_locator}:{source_column}"
