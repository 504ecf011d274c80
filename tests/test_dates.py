"""Dates as sites write them: nothing guessed, partial kept, impossible reported."""

import pandas as pd
import pytest

from dli_etl.rules.dates import excel_serial_to_date, parse_date_column, parse_one_date


@pytest.mark.parametrize(
    ("text", "fmt", "iso", "status"),
    [
        ("2026-03-05", None, "2026-03-05", "ok"),
        ("2026-02-30", None, None, "invalid"),
        ("2026-13-01", None, None, "invalid"),
        ("2026-03", None, "2026-03", "partial"),
        ("2026", None, "2026", "partial"),
        ("2026-UN-UN", None, "2026", "partial"),
        ("05/03/2026", "%d/%m/%Y", "2026-03-05", "ok"),
        ("31/04/2026", "%d/%m/%Y", None, "invalid"),
        ("2026年3月5日", "%Y年%m月%d日", "2026-03-05", "ok"),
        ("2026年2月29日", "%Y年%m月%d日", None, "invalid"),  # 2026 is not a leap year
        ("2026年3月", "%Y年%m月%d日", "2026-03", "partial"),
        ("46086", "excel_serial", "2026-03-05", "ok"),
        ("", None, None, "missing"),
    ],
)
def test_parse_one_date(text, fmt, iso, status):
    assert parse_one_date(text, fmt) == (iso, status)


def test_excel_serial_epoch():
    # Excel's 1900 system counts the phantom 29 Feb 1900, so day 61 is 1 March 1900
    assert excel_serial_to_date(61).isoformat() == "1900-03-01"
    assert excel_serial_to_date(0) is None


@pytest.mark.parametrize("fmt", [None, "%d/%m/%Y", "%Y年%m月%d日", "excel_serial"])
def test_column_parse_matches_single_value_parse(fmt):
    samples = {
        None: ["2026-03-05", "2026-02-30", "2026-03", "", "x", "2026年3月5日"],
        "%d/%m/%Y": ["05/03/2026", "31/04/2026", "05/03/26", "", "2026年12月01日"],
        # the whole-column path for Chinese dates, and what it must leave to the per-value one: partial,
        # impossible, outside pandas' timestamps (1500), year 0, spaces, a date in another format
        "%Y年%m月%d日": ["2026年3月5日", "2026年2月30日", "2026年3月", " 2026 年 03 月 05 日 ", "1500年3月5日",
                        "0000年1月1日", "2026年13月1日", "2024年2月29日", "2026-03-05", "", "2026年3月5"],
        "excel_serial": ["46086", "46086.0", "abc", ""],
    }[fmt]
    column = parse_date_column(pd.Series(samples, dtype="string"), fmt)
    for i, text in enumerate(samples):
        iso, status = parse_one_date(text, fmt)
        got = column.loc[i, "iso"]
        assert (None if pd.isna(got) else got) == iso, text
        assert column.loc[i, "status"] == status, text
