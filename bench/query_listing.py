"""What the query listing costs when findings are many: the query update over three runs (opened; then
answered, decided and partly fixed; then read again) and writing the triage workbooks and findings.xlsx.
With ``--against DIR`` (holding another version's ``queries.py`` and ``report.py``) both versions are
timed in one run, alternating, so the ratio is not at the mercy of a noisy machine.

    dli-etl generate --out big --scale 4
    mkdir -p /tmp/before && git show 2c96ea1:dli_etl/queries.py > /tmp/before/queries.py \\
        && git show 2c96ea1:dli_etl/report.py > /tmp/before/report.py
    python bench/query_listing.py --landing big/landing --against /tmp/before --repeats 3

Without ``--profiles`` the scaled sites have no profile, so each of their EDC rows is a finding
(ODM-SITE-UNKNOWN): thousands of queries, which is what this measures. Both versions must give the same query tables and history, and
workbooks that read back the same; the bench stops if not.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _three_runs(queries: ModuleType, findings, pd) -> list:
    """Opened; answered, decided and a third fixed; read again with the fixed ones back."""
    empty = pd.DataFrame(columns=["query_id", "site_status", "response", "response_file", "source"], dtype="string")
    first, history = queries.update_queries(queries.empty_queries(), findings, empty, "run1", run_date="2026-12-01")
    ids = list(first["query_id"])
    answered, decided = ids[::7], ids[1::11]
    answers = pd.DataFrame({"query_id": answered, "site_status": [("Closed", "Open", "Answered")[k % 3] for k in range(len(answered))],
                            "response": [("value is correct", "", "fixed it")[k % 3] for k in range(len(answered))],
                            "response_file": "answers.xlsx", "source": "site:answers.xlsx"}).astype("string")
    decisions = pd.DataFrame({"query_id": decided, "decision": [("accept", "close", "reopen")[k % 3] for k in range(len(decided))],
                              "by": "dm", "at": "2026-12-02", "note": "checked", "source": "dm:dm@2026-12-02"}).astype("string")
    fixed = findings[~findings["finding_id"].isin(set(ids[::3]))]
    second, history2 = queries.update_queries(first, fixed, answers, "run2", history=history, decisions=decisions,
                                              run_date="2026-12-02")
    third, history3 = queries.update_queries(second, findings, empty, "run3", history=pd.concat([history, history2]),
                                             run_date="2026-12-03")
    return [first, history, second, history2, third, history3]


def _read_back(paths: list[Path]) -> list:
    import openpyxl

    out = []
    for path in sorted(paths):
        book = openpyxl.load_workbook(path)
        out.append([(sheet.title, [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()])
                    for sheet in book.worksheets])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--profiles", type=Path, default=None, help="site profiles (default: the shipped ones)")
    parser.add_argument("--against", type=Path, default=None, help="a folder with another queries.py and report.py")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DLI_PSEUDONYM_KEY", secrets.token_hex(32))
    import pandas as pd

    from dli_etl import pipeline, queries, report
    from dli_etl.site_profile import load_profiles

    profiles = load_profiles(args.profiles) if args.profiles else None
    findings = pd.concat([pipeline.harmonize(pipeline.ingest(study, args.landing, profiles)).findings
                          for study in pipeline.STUDIES], ignore_index=True)
    versions = {"this checkout": (queries, report)}
    if args.against is not None:
        versions[str(args.against)] = (_load("queries_against", args.against / "queries.py"),
                                       _load("report_against", args.against / "report.py"))
    times: dict[tuple[str, str], list[float]] = {}
    results: dict[str, tuple] = {}
    for _ in range(args.repeats):
        for name, (q, r) in versions.items():
            began = time.perf_counter()
            tables = _three_runs(q, findings, pd)
            updated = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                books = q.write_triage_workbooks(tables[0], Path(tmp) / "triage", findings=findings)
                written = time.perf_counter()
                listing = r.write_findings_xlsx(findings, Path(tmp) / "findings.xlsx")
                done = time.perf_counter()
                if name not in results:
                    results[name] = (tables, _read_back([*books, listing]))
            for step, seconds in (("query update, 3 runs", updated - began), ("triage workbooks", written - updated),
                                  ("findings.xlsx", done - written)):
                times.setdefault((name, step), []).append(seconds)
    baseline = results.pop("this checkout")
    for name, (tables, books) in results.items():
        for mine, theirs in zip(baseline[0], tables, strict=True):
            pd.testing.assert_frame_equal(mine, theirs)
        assert baseline[1] == books, f"{name}: the workbooks read back differently"
    print(f"{len(findings)} findings, {len(baseline[0][0])} queries; median of {args.repeats}")
    for step in ("query update, 3 runs", "triage workbooks", "findings.xlsx"):
        mine = statistics.median(times[("this checkout", step)])
        line = f"  {step}: {mine:.2f} s"
        for name in results:
            theirs = statistics.median(times[(name, step)])
            line += f"; {name}: {theirs:.2f} s, ratio {mine / theirs:.2f}"
        print(line)


if __name__ == "__main__":
    main()
