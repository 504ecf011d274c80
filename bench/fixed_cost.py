"""What one call of harmonize + SDTM costs whatever its size: each study run whole, then once per site
(the study's rows split by their site), in one process, CPU seconds, medians of ``--repeats``.

    python bench/fixed_cost.py [--landing DIR] [--profiles DIR] [--repeats 3]

Processing per site partition (issue 15) multiplies the calls by the number of sites, so the cost of a
call that does not grow with its rows decides whether it can pay: the figure to watch is the per-site
sum over the whole-study time, and the fixed cost per call the split implies. Without ``--landing`` the
bundled 1x synthetic data is generated into a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _cpu(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        call()
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--landing", type=Path, help="a landing folder (default: generate the 1x data)")
    parser.add_argument("--profiles", type=Path, help="extra site profiles (what `generate --scale K` writes)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DLI_PSEUDONYM_KEY", secrets.token_hex(32))
    from dli_etl.harmonize.study import harmonize_study
    from dli_etl.ingest.raw_form import IngestResult
    from dli_etl.pipeline import STUDIES, ingest, map_sdtm
    from dli_etl.site_profile import load_profiles
    from dli_etl.synth.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        landing = args.landing or generate(Path(tmp) / "data").landing
        profiles = load_profiles(args.profiles) if args.profiles else None
        for study in STUDIES:
            whole = ingest(study, landing, profiles)
            sites = sorted({str(s) for raw in whole.forms for s in raw.frame["site"].dropna().unique()})
            parts = [IngestResult(study, forms=[replace(raw, frame=raw.frame[raw.frame["site"] == site])
                                                for raw in whole.forms if (raw.frame["site"] == site).any()])
                     for site in sites]
            rows = sum(len(raw.frame) for raw in whole.forms)
            one = _cpu(lambda w=whole: map_sdtm(harmonize_study(w)), args.repeats)
            split = _cpu(lambda p=parts: [map_sdtm(harmonize_study(x)) for x in p], args.repeats)
            print(f"{study}: {rows} rows, {len(sites)} sites; whole study {one:.2f} s CPU, one call per site "
                  f"{split:.2f} s = {split / one:.1f}x", end="")
            if len(sites) > 1:
                print(f"; fixed cost per call about {(split - one) / (len(sites) - 1):.2f} s")
            else:
                print()


if __name__ == "__main__":
    main()
