"""Wall time and peak memory of ``dli-etl demo``, with the plain-Python pipeline as the reference.

    python bench/bench_demo.py --repeats 3 [--without-gx]

Each repeat runs both variants back to back in fresh processes; figures are medians, and the
Dagster/plain ratio is taken within one run of this script (the machines are noisy). ``--without-gx``
adds the Dagster demo with ``--no-expectations``: what the Great Expectations suites (their import
and their validation) cost of the demo, as a share measured in the same run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one child process, read from ``/usr/bin/time -v``."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *args], check=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return seconds, int(match.group(1)) / 1024 if match else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--without-gx", action="store_true", help="also time the Dagster demo without GX")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "dli_etl.cli", "demo"]
    variants = [("dagster", []), ("plain", ["--no-dagster"])]
    if args.without_gx:
        variants.append(("dagster, GX off", ["--no-expectations"]))
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in variants}
    for _ in range(args.repeats):
        for name, extra in variants:
            with tempfile.TemporaryDirectory() as tmp:
                results[name].append(_run([*cli, "--out", str(Path(tmp) / "out"), *extra]))
    for name, runs in results.items():
        times = [t for t, _ in runs]
        print(f"dli-etl demo ({name}): median {statistics.median(times):.2f} s over {len(times)} runs "
              f"(min {min(times):.2f}, max {max(times):.2f}); peak RSS median {statistics.median(m for _, m in runs):.0f} MiB")
    ratio = statistics.median(t for t, _ in results["dagster"]) / statistics.median(t for t, _ in results["plain"])
    print(f"Dagster in-process / plain pipeline wall-time ratio: {ratio:.2f}")
    if args.without_gx:
        without = statistics.median(t for t, _ in results["dagster, GX off"])
        share = 1 - without / statistics.median(t for t, _ in results["dagster"])
        print(f"GX suites' share of the Dagster demo (import and validation): {share:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
