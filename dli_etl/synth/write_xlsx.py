"""Write site lab workbooks in the layout a site profile describes.

The profile is the single description of a layout: the reader parses what this writer writes. A profile
with ``header_row > 1`` gets a title block (merged cells) above the header and a hidden sheet;
``fill_down`` columns are written once per subject and merged down its rows; ``excel_serial`` dates are
written as Excel serial numbers.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from dli_etl.site_profile import SiteProfile

_EXCEL_EPOCH = date(1899, 12, 30)
_NUMERIC = {"wbc", "anc", "hgb", "plt", "lym", "bili", "alt", "ast", "creat"}
_UMOL_PER_MG_DL = {"bili": 17.1, "creat": 88.4}


def write_date(iso: str, date_format: str | None) -> object:
    """A date as the site writes it; an unparseable planted value passes through as text."""
    try:
        d = date.fromisoformat(iso)
    except ValueError:
        return iso
    if date_format == "excel_serial":
        return (d - _EXCEL_EPOCH).days
    if date_format and "年" in date_format:
        return f"{d.year}年{d.month}月{d.day}日"
    return d.strftime(date_format or "%Y-%m-%d")


def _site_value(field: str, value: str, units: dict[str, str], value_maps: dict[str, dict[str, str]]) -> object:
    if field in _NUMERIC and value not in ("",):
        try:
            number = float(value)
        except ValueError:
            return value
        unit = units.get(field, "")
        if field == "hgb" and unit == "g/L":
            return round(number * 10)
        if field in _UMOL_PER_MG_DL and unit == "umol/L":
            return round(number * _UMOL_PER_MG_DL[field], 1)
        return number
    if field in value_maps:
        reverse = {}
        canonical = {"FLOW": "FLOW CYTOMETRY", "QPCR": "QRT-PCR", "BM": "BONE MARROW", "PB": "BLOOD"}.get(value, value)
        for source, target in value_maps[field].items():
            reverse.setdefault(target, source)
        return reverse.get(canonical, value)
    return value


def write_site_workbook(
    site_records: dict[str, list[dict]], profile: SiteProfile, path: Path, extra_columns: dict[str, dict[int, str]]
) -> dict[int, tuple[str, int]]:
    """Write one site's workbook; return ``_rid`` -> (sheet, row). ``extra_columns``: header -> {rid: value}."""
    wb = Workbook()
    wb.remove(wb.active)
    where: dict[int, tuple[str, int]] = {}
    for form, spec in profile.forms.items():
        records = site_records.get(form, [])
        ws = wb.create_sheet(spec["sheet"])
        header_row = int(spec.get("header_row", 1))
        headers = list(spec["columns"])
        fields = [spec["columns"][h] for h in headers]
        declared_ids = list(profile.identifiers)
        extras = [h for h in extra_columns if any(r["_rid"] in extra_columns[h] for r in records)]
        all_headers = headers + declared_ids + extras
        if header_row > 1:
            ws.cell(row=1, column=1, value=f"{profile.source_name} - DLIPRO local laboratory results")
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(all_headers))
            ws.cell(row=2, column=1, value="Exported from LIS; do not edit above the header row")
            ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(all_headers))
        for col, header in enumerate(all_headers, start=1):
            ws.cell(row=header_row, column=col, value=header)
        fill_down = set(spec.get("fill_down", []))
        records = sorted(records, key=lambda r: (r["subjid"], r.get("lbdtc", "")))
        row = header_row + 1
        run_start: dict[str, tuple[int, str]] = {}
        for record in records:
            for col, field in enumerate(fields, start=1):
                value = record.get(field, "")
                if field == "lbdtc":
                    out = write_date(value, profile.date_format)
                else:
                    out = _site_value(field, value, spec.get("units", {}), profile.value_maps)
                if field in fill_down:
                    start = run_start.get(field)
                    if start is not None and start[1] == value:
                        continue  # merged down from the first row of this subject
                    if start is not None and row - 1 > start[0]:
                        ws.merge_cells(start_row=start[0], start_column=col, end_row=row - 1, end_column=col)
                    run_start[field] = (row, value)
                cell = ws.cell(row=row, column=col, value=out if out != "" else None)
                if isinstance(out, str):
                    cell.data_type = TYPE_STRING  # never a formula, even if the text starts with "="
            for offset, header in enumerate(declared_ids + extras, start=len(fields) + 1):
                value = extra_columns.get(header, {}).get(record["_rid"])
                if value is None and header in declared_ids:
                    digest = hashlib.sha256(f"{profile.site}:{record['subjid']}".encode()).hexdigest()
                    value = f"H{int(digest[:8], 16) % 10**7:07d}"  # a fake hospital record number
                if value is not None:
                    ws.cell(row=row, column=offset, value=value).data_type = TYPE_STRING
            where[record["_rid"]] = (spec["sheet"], row)
            row += 1
        for field, (start, _) in run_start.items():
            col = fields.index(field) + 1
            if row - 1 > start:
                ws.merge_cells(start_row=start, start_column=col, end_row=row - 1, end_column=col)
    if any(int(s.get("header_row", 1)) > 1 for s in profile.forms.values()):
        hidden = wb.create_sheet("lookup")
        hidden.append(["code", "meaning"])
        hidden.append(["NEUT#", "absolute neutrophil count, 10^9/L"])
        hidden.sheet_state = "hidden"
    wb.properties.created = datetime(2026, 11, 1)
    wb.properties.modified = datetime(2026, 11, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    _fix_zip_timestamps(path)
    return where


def _fix_zip_timestamps(path: Path) -> None:
    """An xlsx is a zip whose entries carry the save time; fix them so a seed gives identical bytes."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with the save time
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-01T00:00:00Z", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, data)
