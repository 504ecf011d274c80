"""Text from sites, made safe for where it goes: workbook cells (no control characters openpyxl refuses,
never a formula) and path components (no separators, no "..").

One control character in one REDCap value once stopped every site's triage workbook; a site id from an
ODM file once named a folder outside the output.
"""

from __future__ import annotations

import re

import pandas as pd
from openpyxl.cell.cell import ERROR_CODES, TYPE_STRING, Cell

# C0 controls except tab, newline and carriage return, plus DEL: what openpyxl (and Excel) refuse. Also
# the invisible format characters that change how text reads without showing: zero-width spaces and joiners,
# bidirectional marks, embeddings, overrides and isolates (a U+202E in "5.1" once made a number unreadable
# with no hint why), and a byte-order mark inside a value. None belongs in a clinical value or an id.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
_UNSAFE_PATH = re.compile(r"[^A-Za-z0-9_\-]+")


def workbook_text(value: object) -> str:
    """A cell value as text a workbook accepts: missing is empty, control characters removed."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return CONTROL_CHARACTERS.sub("", str(value))


def streamed_text(text: str, cell: Cell) -> str | Cell:
    """``text`` for a row of a streamed (write-only) sheet, stored as text: as itself when openpyxl
    stores it as text anyway, else in ``cell`` marked as text (openpyxl reads a leading "=" as a formula
    and "#N/A" as an error). ``cell`` is written when its row is appended, so it can serve the next row."""
    if (len(text) > 1 and text.startswith("=")) or text in ERROR_CODES:
        cell.value = text
        cell.data_type = TYPE_STRING
        return cell
    return text


def has_control_characters(text: pd.Series) -> pd.Series:
    """Per value: whether it holds a control character (reported, then stripped)."""
    return text.astype("string").str.contains(CONTROL_CHARACTERS, regex=True).fillna(False).astype(bool)


def strip_control_characters(text: pd.Series) -> pd.Series:
    return text.astype("string").str.replace(CONTROL_CHARACTERS, "", regex=True)


def path_component(text: object, fallback: str = "unassigned") -> str:
    """A name safe to use as one file or folder name: letters, digits, '-' and '_' only."""
    cleaned = _UNSAFE_PATH.sub("_", workbook_text(text)).strip("_")
    return cleaned or fallback
