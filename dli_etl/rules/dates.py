"""Dates as sites write them: strptime formats, Chinese 年月日, Excel serials, ISO partial dates.

Nothing is guessed: a partial date stays partial (``2026-03``), an impossible one (``2026-02-30``) is
reported, and day/month order is never swapped to make a value fit.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's 1900 date system, including its phantom 29 Feb 1900
_EXCEL_MIN, _EXCEL_MAX = 2, 2958465  # 1900-01-01 .. 9999-12-31

STATUS_OK = "ok"
STATUS_PARTIAL = "partial"
STATUS_INVALID = "invalid"
STATUS_MISSING = "missing"
STATUS_AMBIGUOUS = "ambiguous"

_ISO_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}|UN|UNK|--))?(?:-(\d{2}|UN|UNK|--))?$", re.IGNORECASE)
_TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$")
_ZH = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?\s*$")


_PATTERN_TOKENS = {"%Y": "YYYY", "%y": "YY", "%m": "MM", "%d": "DD", "%b": "Mon", "%B": "Month", "%H": "hh",
                   "%M": "mm", "%S": "ss"}


def date_pattern(date_format: str | None) -> str:
    """The date format as people write it ("DD/MM/YYYY", "YYYY年MM月DD日"), not as strftime does."""
    if date_format in (None, "", "iso"):
        return "YYYY-MM-DD"
    return re.sub(r"%[A-Za-z]", lambda m: _PATTERN_TOKENS.get(m.group(0), m.group(0)), date_format)


def excel_serial_to_date(serial: float) -> date | None:
    """Excel serial day number to a date; None outside Excel's range."""
    if not _EXCEL_MIN <= serial <= _EXCEL_MAX:
        return None
    return EXCEL_EPOCH + timedelta(days=int(serial))


def _iso_partial(text: str) -> tuple[str | None, str]:
    match = _ISO_PARTIAL.match(text)
    if not match:
        return None, STATUS_INVALID
    year, month, day = match.groups()
    month = month if month and month.isdigit() else None
    day = day if day and day.isdigit() else None
    if month and not 1 <= int(month) <= 12:
        return None, STATUS_INVALID
    if month and day:
        try:
            return date(int(year), int(month), int(day)).isoformat(), STATUS_OK
        except ValueError:
            return None, STATUS_INVALID
    if day and not month:
        return f"{year}---{day}", STATUS_PARTIAL  # ISO 8601 keeps a known day with an unknown month
    return (f"{year}-{month}" if month else year), STATUS_PARTIAL


def parse_one_date(text: object, date_format: str | None) -> tuple[str | None, str]:
    """One value to (ISO 8601 text or None, status). ``date_format``: strptime format or ``excel_serial``."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or str(text).strip() == "":
        return None, STATUS_MISSING
    value = str(text).strip()
    if date_format == "excel_serial":
        try:
            parsed = excel_serial_to_date(float(value))
        except ValueError:
            parsed = None
        return (parsed.isoformat(), STATUS_OK) if parsed else (None, STATUS_INVALID)
    zh = _ZH.match(value)
    if zh:
        year, month, day = zh.groups()
        if day is None:
            return (f"{year}-{int(month):02d}", STATUS_PARTIAL) if 1 <= int(month) <= 12 else (None, STATUS_INVALID)
        try:
            return date(int(year), int(month), int(day)).isoformat(), STATUS_OK
        except ValueError:
            return None, STATUS_INVALID
    if date_format in (None, "%Y-%m-%d", "iso"):
        return _iso_partial(value.split("T")[0])
    try:
        return pd.to_datetime(value, format=date_format).date().isoformat(), STATUS_OK
    except (ValueError, TypeError):
        # "03/04/26": the century (and, across sites, the day/month order) is a guess; never make it
        if _TWO_DIGIT_YEAR.match(value):
            return None, STATUS_AMBIGUOUS
        return None, STATUS_INVALID


def parse_date_column(values: pd.Series, date_format: str | None) -> pd.DataFrame:
    """Vectorised parse of a column: returns ``iso`` (str) and ``status`` columns aligned to ``values``.

    The whole column goes through one vectorised conversion; only values it rejects take the per-value
    path that tells partial from impossible.
    """
    text = values.astype("string").str.strip()
    iso = pd.Series(pd.NA, index=values.index, dtype="string")
    status = pd.Series(STATUS_MISSING, index=values.index, dtype="string")
    present = text.notna() & (text != "")
    if date_format == "excel_serial":
        serial = pd.to_numeric(text.where(present), errors="coerce")
        good = serial.between(_EXCEL_MIN, _EXCEL_MAX).fillna(False).astype(bool)
        dates = pd.to_datetime("1899-12-30") + pd.to_timedelta(serial.where(good).fillna(0).astype("int64"), unit="D")
        iso = iso.mask(good, dates.dt.strftime("%Y-%m-%d"))
        status = status.mask(present, STATUS_INVALID).mask(good, STATUS_OK)
        return pd.DataFrame({"iso": iso, "status": status})
    fmt = "%Y-%m-%d" if date_format in (None, "iso") else date_format
    fast = pd.to_datetime(text.where(present), format=fmt, errors="coerce") if "年" not in fmt else None
    if fast is not None:
        ok = (fast.notna() & present).astype(bool)
        iso = iso.mask(ok, fast.dt.strftime("%Y-%m-%d"))
        status = status.mask(ok, STATUS_OK)
        slow = present & ~ok
    else:
        slow = present
    if slow.any():
        # full Chinese dates ("2026年3月5日") whole-column too: a site writing them sends thousands
        zh = text[slow].str.extract(_ZH.pattern)
        # numpy knows a year 0, Python's dates (the per-value path) do not: that one is left to them
        written = (zh[0] + "-" + zh[1].str.zfill(2) + "-" + zh[2].str.zfill(2)).where(zh[0] != "0000")
        valid = pd.to_datetime(written, format="%Y-%m-%d", errors="coerce").dropna()
        iso.loc[valid.index] = valid.dt.strftime("%Y-%m-%d")
        status.loc[valid.index] = STATUS_OK
        slow = slow & ~text.index.isin(valid.index)
    # the rest (partial, impossible, two-digit years): one value at a time, written back in one step
    rest = text.index[slow.to_numpy(dtype=bool)]
    results = [parse_one_date(text[idx], date_format) for idx in rest]
    iso.loc[rest] = pd.array([value for value, _ in results], dtype="string")
    status.loc[rest] = pd.array([state for _, state in results], dtype="string")
    return pd.DataFrame({"iso": iso, "status": status})
