"""Recall per planted defect class, row-level precision of error findings, and what quarantine did.

    python bench/defect_detection.py --seed 20261101 --defect-rate 0.03

Recall: a planted defect counts as found when a finding of the rule meant for its class points at the
same study, subject, field and source row. Precision: share of error findings whose source row carries
a planted defect (on clean data every error finding is a false positive). Quarantine: per class, how
many planted values were nulled (the record stays) and how many records were held back whole (only
unattributable ones should be), plus the value accounting of the run.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import tempfile
from pathlib import Path

import pandas as pd

from dli_etl.pipeline import run_pipeline
from dli_etl.synth.generate import generate

RULE_FOR_CLASS = {
    "dose_power_of_ten": "DOSE-POWER-OF-TEN", "dose_wrong_unit": "DOSE-NOT-PER-KG", "impossible_date": "DATE-INVALID",
    "dli_before_transplant": "ORDER-DLI-BEFORE-HSCT", "dli_outside_window": "PD-PROPH-DLI-WINDOW",
    "duplicate_subject": "ID-DUPLICATE-SUBJECT", "unknown_subject": "ID-UNKNOWN-SUBJECT",
    "missing_required": "REQ-MISSING", "identifier_column": "PRIV-UNDECLARED-IDENTIFIER",
    "ambiguous_date": "DATE-AMBIGUOUS", "mrd_above_100_percent": "MRD-IMPOSSIBLE",
    "ctcae_grade_contradiction": "CTCAE-GRADE-CONTRADICTS-LAB", "magic_grade_contradiction": "MAGIC-GRADE-CONTRADICTION",
    "cgvhd_severity_contradiction": "NIH-SEVERITY-CONTRADICTION",
}


# Study B's protocol sets no DLI dose: an exponent slip there is caught by plausibility, not by a target
NO_DOSE_TARGET = {"DOSE-CD3-SHARE-IMPLAUSIBLE", "DOSE-CD3-EXCEEDS-MNC", "DOSE-OUT-OF-RANGE"}


def rules_for(cls: str, study: str) -> set[str]:
    if cls == "dose_power_of_ten" and study == "DLIPLX":
        return NO_DOSE_TARGET
    return {RULE_FOR_CLASS[cls]}


def same_row(cell: str, row: str) -> bool:
    cell = re.sub(r"!([A-Z]+)(\d+)$", r"!\2", cell)
    return cell == row or cell.startswith((row + "/", row + ";"))


def main() -> int:
    # synthetic data only: a throwaway pseudonym key (a real run refuses to pseudonymise without one)
    os.environ.setdefault("DLI_PSEUDONYM_KEY", secrets.token_hex(32))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--defect-rate", type=float, default=0.03)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gen = generate(Path(tmp) / "gen", seed=args.seed, defect_rate=args.defect_rate)
        run_pipeline(gen.landing, Path(tmp) / "out")
        manifest = pd.read_csv(gen.manifest, dtype=str, keep_default_na=False)
        findings = pd.read_parquet(Path(tmp) / "out" / "findings" / "findings.parquet")
        nulled = pd.concat([pd.read_parquet(p) for p in (Path(tmp) / "out" / "quarantine").glob("*/values.parquet")],
                           ignore_index=True)
        held = pd.concat([pd.read_parquet(p) for p in (Path(tmp) / "out" / "quarantine").glob("*/*.parquet")
                          if p.name != "values.parquet"], ignore_index=True)
        accounting = pd.read_parquet(Path(tmp) / "out" / "findings" / "row_accounting.parquet")
        clean = generate(Path(tmp) / "clean", seed=args.seed, defect_rate=0)
        run_pipeline(clean.landing, Path(tmp) / "clean_out")
        clean_findings = pd.read_parquet(Path(tmp) / "clean_out" / "findings" / "findings.parquet")
    print(f"{'defect class':32} planted  found  recall  values nulled  records held back")
    for cls, group in manifest.groupby("defect_class"):
        found = values_nulled = records_held = 0
        for _, d in group.iterrows():
            hits = findings[findings["rule_id"].isin(rules_for(cls, d["study"])) & (findings["study"] == d["study"])
                            & (findings["field"] == d["field"]) & (findings["src_file"] == d["file"])]
            if cls != "identifier_column":
                hits = hits[(hits["subjid"] == d["subjid"]) & hits["src_locator"].map(lambda c, r=d["locator"]: same_row(c, r))]
            found += int(not hits.empty)
            at_row = (nulled["src_file"] == d["file"]) & nulled["src_locator"].map(lambda c, r=d["locator"]: same_row(c, r))
            values_nulled += int((at_row & (nulled["field"] == d["field"])).any())
            records_held += int(((held["src_file"] == d["file"]) & (held["src_locator"] == d["locator"])
                                 & (held["subjid"] == d["subjid"])).any())
        print(f"{cls:32} {len(group):7d} {found:6d} {found / len(group):7.0%} {values_nulled:14d} {records_held:17d}")
    totals = accounting.drop(columns=["study", "site", "form", "src_file"]).sum()
    print(f"rows: {totals['rows_in']} in = {totals['rows_curated']} curated + {totals['rows_held_back']} held back; "
          f"values: {totals['values_read']} read = {totals['values_curated']} curated + {totals['values_nulled']} nulled "
          f"+ {totals['values_held_back']} in held-back rows; unaccounted {totals['values_unaccounted']}")
    errors = findings[findings["severity"] == "error"]
    explained = sum(
        any(same_row(f["src_locator"], loc) for loc in manifest.loc[manifest["file"] == f["src_file"], "locator"])
        or (f["rule_id"] == "PRIV-UNDECLARED-IDENTIFIER" and (manifest["file"] == f["src_file"]).any())
        for _, f in errors.iterrows())
    print(f"error findings on defect data: {len(errors)}, on a planted row: {explained} "
          f"(precision {explained / max(len(errors), 1):.0%})")
    print(f"error findings on clean data (--defect-rate 0): {(clean_findings['severity'] == 'error').sum()}, "
          f"warnings: {(clean_findings['severity'] == 'warning').sum()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
