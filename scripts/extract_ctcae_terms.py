"""Rebuild ``dli_etl/specs/ctcae_v5_terms.csv`` from the official NCI CTCAE v5.0 workbook.

    python scripts/extract_ctcae_terms.py ../shared/reference/public-data/ctcae-v5/CTCAE_v5.0_2017-11-27.xlsx

Facts only (term, MedDRA code, SOC, which grades exist); the workbook is a US Government work.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from dli_etl.reference.ctcae_terms import read_ctcae_workbook

OUT = Path(__file__).resolve().parents[1] / "dli_etl" / "specs" / "ctcae_v5_terms.csv"


def main(workbook: str) -> int:
    terms = read_ctcae_workbook(Path(workbook))
    with open(OUT, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["meddra_code", "soc", "term", "grades"])
        writer.writeheader()
        writer.writerows(terms)
    print(f"{len(terms)} terms -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
