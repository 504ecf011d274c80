"""How long the Great Expectations suites take on one landing's SDTM, clean and with planted failures, and
(with ``--against``) the same with another version of ``dli_etl/sdtm/expectation_suites.py``, in one run
so the ratio is not at the mercy of a noisy machine.

    dli-etl generate --out g
    git show fd2f864:dli_etl/sdtm/expectation_suites.py > /tmp/suites_before.py
    python bench/expectations.py --landing g/landing --against /tmp/suites_before.py --repeats 3

Both versions must give the same findings and the same pass/fail per domain; the bench stops if not.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import statistics
import time
from pathlib import Path


def _broken(domains: dict) -> dict:
    """Three wrong SEX codes, a duplicated subject and an AE that ends before it starts."""
    dm, ae = domains["dm"].copy(), domains["ae"].copy()
    dm.loc[dm.index[:3], "SEX"] = "X"
    dm.loc[dm.index[5], "USUBJID"] = dm["USUBJID"].iloc[6]
    if not ae.empty:
        ae.loc[ae.index[0], "AEENDTC"] = "2000-01-01"
    return {**domains, "dm": dm, "ae": ae}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--against", type=Path, default=None, help="another expectation_suites.py to time too")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DLI_PSEUDONYM_KEY", secrets.token_hex(32))
    from dli_etl import pipeline
    from dli_etl.sdtm import expectation_suites
    from dli_etl.sdtm.build import LINEAGE_TABLES

    versions = {"this checkout": expectation_suites}
    if args.against is not None:
        spec = importlib.util.spec_from_file_location("suites_against", args.against)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        versions[str(args.against)] = module
    cases = {}
    for study in pipeline.STUDIES:
        sdtm = pipeline.map_sdtm(pipeline.harmonize(pipeline.ingest(study, args.landing)))
        domains = {k: v for k, v in sdtm.domains.items() if k not in LINEAGE_TABLES}
        cases[f"{study} clean"] = (study, domains)
        cases[f"{study} broken"] = (study, _broken(domains))
    import great_expectations  # noqa: F401  (its import is not what is measured)

    times: dict[tuple[str, str], list[float]] = {}
    outcomes: dict[tuple[str, str], tuple] = {}
    for _ in range(args.repeats):
        for name, module in versions.items():  # interleaved, so drift in machine load hits both alike
            for case, (study, domains) in cases.items():
                started = time.perf_counter()
                found, success, _ = module.validate_domains(study, domains, None, [], None)
                times.setdefault((name, case), []).append(time.perf_counter() - started)
                outcomes[(name, case)] = (sorted(map(repr, found)), success)
    for case in cases:
        line = [f"{case:16}"]
        for name in versions:
            line.append(f"{name}: {statistics.median(times[(name, case)]):.2f} s")
        if args.against is not None:
            here, there = (statistics.median(times[(n, case)]) for n in versions)
            line.append(f"ratio {here / there:.2f}")
            if outcomes[("this checkout", case)] != outcomes[(str(args.against), case)]:
                raise SystemExit(f"{case}: the two versions disagree on findings or pass/fail")
        findings, success = outcomes[("this checkout", case)]
        line.append(f"({len(findings)} findings, {sum(success.values())}/{len(success)} domains pass)")
        print("  ".join(line), flush=True)


if __name__ == "__main__":
    main()
