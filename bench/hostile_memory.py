"""Peak memory of the two costly hostile inputs, each read in its own process next to the clean workbook
it was made from (same run, so the figures compare).

    python bench/hostile_memory.py [--bomb-mib 2048]

- zip bomb: the S05 lab workbook plus one member of zeros that unpacks to ``--bomb-mib`` MiB (2 GiB by
  default, the size the robustness probe used; it peaked at 2.2 GB before the limits);
- far cell: the S06 lab workbook with one stray value at Z1000000 (the probe: 1.2 GB).

Each line: peak RSS of a process that imports dli-etl and reads that one file through its site profile,
and the findings it produced. The issue asks for under 600 MB for both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hostile.make_corpus import far_cell, zip_bomb  # noqa: E402

READ_ONE = """
import json, resource, sys
from pathlib import Path
from dli_etl.ingest.apply_profile import ingest_xlsx
from dli_etl.ingest.raw_form import IngestResult
from dli_etl.site_profile import load_profiles
path, site = Path(sys.argv[1]), sys.argv[2]
profile = next(p for p in load_profiles(None) if p.study == "DLIPRO" and p.site == site)
result = IngestResult("DLIPRO")
ingest_xlsx(profile, path, f"sites/{site}/{path.name}", result)
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": sum(len(r.frame) for r in result.forms),
                  "findings": sorted({f.rule_id for f in result.findings})}))
"""


def read_one(path: Path, site: str) -> dict:
    # the S05 profile pseudonymises record numbers, which needs a key; a throwaway one will do here
    env = {**os.environ, "DLI_PSEUDONYM_KEY": os.environ.get("DLI_PSEUDONYM_KEY", "bench-only-" + "0" * 32)}
    done = subprocess.run([sys.executable, "-c", READ_ONE, str(path), site], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"reading {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-mib", type=int, default=2048)
    args = parser.parse_args()
    from dli_etl.synth.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        landing = generate(Path(tmp) / "gen", seed=20261101, defect_rate=0.0).landing / "DLIPRO" / "sites"
        s05, s06 = landing / "S05" / "DLIPRO_S05_local_labs.xlsx", landing / "S06" / "DLIPRO_S06_local_labs.xlsx"
        bomb = zip_bomb(Path(tmp) / "DLIPRO_S05_bomb.xlsx", s05, args.bomb_mib)
        far = far_cell(Path(shutil.copy(s06, Path(tmp) / "DLIPRO_S06_far.xlsx")), "Biochemistry")
        runs = [("clean S05 workbook", s05, "S05"), (f"zip bomb ({bomb.stat().st_size // 1024} KiB -> {args.bomb_mib} MiB)", bomb, "S05"),
                ("clean S06 workbook", s06, "S06"), ("far cell (Z1000000)", far, "S06")]
        print(f"{'input':<40} {'peak RSS':>10} {'rows read':>10}  findings")
        for label, path, site in runs:
            got = read_one(path, site)
            print(f"{label:<40} {got['peak_mib']:>7.0f} MiB {got['rows']:>10}  {', '.join(got['findings']) or '-'}",
                  flush=True)


if __name__ == "__main__":
    main()
