"""CTCAE v5.0 terms: the shipped list and the reader that builds it from NCI's workbook."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from pathlib import Path

from python_calamine import CalamineWorkbook

SHEET = "CTCAE v5.0 Clean Copy"


def read_ctcae_workbook(path: Path) -> list[dict[str, str]]:
    """Terms from the official workbook: MedDRA code, SOC, term and the grades that exist ("-" = none)."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python()
    header = [str(h).replace("\xa0", " ").strip() for h in rows[0]]
    col = {name: i for i, name in enumerate(header)}
    grade_cols = [col[f"Grade {g}"] for g in range(1, 6)]
    terms = []
    for row in rows[1:]:
        term = str(row[col["CTCAE Term"]]).strip()
        if not term:
            continue
        code = row[col["MedDRA Code"]]
        grades = "".join(str(g) for g, i in enumerate(grade_cols, start=1)
                         if str(row[i]).strip() not in ("", "-", "–", "\u2013"))
        terms.append({"meddra_code": str(int(code)) if isinstance(code, float) else str(code),
                      "soc": str(row[col["MedDRA SOC"]]).strip(), "term": term, "grades": grades})
    return terms


@cache
def ctcae_terms() -> dict[str, dict[str, str]]:
    """Shipped term list keyed by lower-cased term."""
    text = (resources.files("dli_etl") / "specs" / "ctcae_v5_terms.csv").read_text(encoding="utf-8")
    return {row["term"].casefold(): row for row in csv.DictReader(text.splitlines())}
