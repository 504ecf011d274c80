"""How long reading one study's landing folder takes with the code of this checkout: every site through
its profiles (``ingest_study``), the step whose cost once grew with the cube of the number of sites.

    dli-etl generate --out big --scale 64
    python bench/ingest_study.py --landing big/landing --profiles big/profiles [--study DLIPRO]

Run it at two commits (``git checkout``) on the same landing folder to compare; it prints the counts too,
so the two runs can be seen to read the same thing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--profiles", type=Path, default=None, help="extra site profiles (a scaled landing's)")
    parser.add_argument("--study", default="DLIPRO")
    args = parser.parse_args()
    os.environ.setdefault("DLI_PSEUDONYM_KEY", secrets.token_hex(32))
    from dli_etl.ingest.apply_profile import ingest_study
    from dli_etl.site_profile import load_profiles

    profiles = load_profiles(args.profiles)
    started = time.perf_counter()
    result = ingest_study(args.study, args.landing, profiles)
    seconds = time.perf_counter() - started
    print(f"ingest {args.study}: {seconds:.1f} s; {len(result.forms)} raw forms, "
          f"{sum(len(f.frame) for f in result.forms)} rows, {len(result.findings)} findings")


if __name__ == "__main__":
    main()
