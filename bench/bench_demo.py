"""Wall time and peak memory of ``dli-etl demo``, with the plain-Python pipeline as the reference.

    python bench/bench_demo.py --repeats 3 [--without-gx] [--against REV]

Each repeat runs both variants back to back in fresh processes; figures are medians, and the
Dagster/plain ratio is taken within one run of this script (the machines are noisy). ``--without-gx``
adds the Dagster demo with ``--no-expectations``: what the Great Expectations suites (their import
and their validation) cost of the demo, as a share measured in the same run. ``--against REV`` runs
each variant of another commit's code (a temporary git worktree) right after this one's, alternating,
and gives their ratio: a before/after in the same hour.
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


# another commit's command line: its worktree first on the path, laid out as the installed package
_OTHER_CLI = ("import sys; sys.path.insert(0, sys.argv.pop(1)); import dli_etl.cli as cli; "
              "sys.exit(getattr(cli, 'entry_point', cli.main)())")


def _worktree(rev: str, into: Path) -> Path:
    """``rev``'s code in a git worktree at ``into``, with assets/, schemas/ and expectations/ inside
    dli_etl/ as the package installs them."""
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "--quiet", str(into), rev], check=True)
    for folder in ("assets", "schemas", "expectations"):
        if (into / folder).is_dir() and not (into / "dli_etl" / folder).exists():
            (into / "dli_etl" / folder).symlink_to(into / folder, target_is_directory=True)
    return into


def _median(runs: list[tuple[float, float]]) -> float:
    return statistics.median(t for t, _ in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--without-gx", action="store_true", help="also time the Dagster demo without GX")
    parser.add_argument("--against", metavar="REV", help="also time another commit's code, alternating with this one")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "dli_etl.cli", "demo"]
    variants = [("dagster", []), ("plain", ["--no-dagster"])]
    if args.without_gx:
        variants.append(("dagster, GX off", ["--no-expectations"]))
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in variants}
    others: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in variants}
    with tempfile.TemporaryDirectory() as scratch:
        other = [sys.executable, "-c", _OTHER_CLI, str(_worktree(args.against, Path(scratch) / "other")), "demo"] \
            if args.against else None
        try:
            for _ in range(args.repeats):
                for name, extra in variants:
                    for command, into in ((cli, results), (other, others)):
                        if command is not None:
                            with tempfile.TemporaryDirectory() as tmp:
                                into[name].append(_run([*command, "--out", str(Path(tmp) / "out"), *extra]))
        finally:
            if other is not None:
                subprocess.run(["git", "-C", str(Path(__file__).resolve().parents[1]), "worktree", "remove", "--force",
                                str(Path(scratch) / "other")], check=False)
    for name, runs in results.items():
        times = [t for t, _ in runs]
        print(f"dli-etl demo ({name}): median {statistics.median(times):.2f} s over {len(times)} runs "
              f"(min {min(times):.2f}, max {max(times):.2f}); peak RSS median {statistics.median(m for _, m in runs):.0f} MiB")
        if others[name]:
            print(f"  {args.against}: median {_median(others[name]):.2f} s "
                  f"({', '.join(f'{t:.1f}' for t, _ in others[name])}); peak RSS median "
                  f"{statistics.median(m for _, m in others[name]):.0f} MiB; this / {args.against}: "
                  f"{_median(runs) / _median(others[name]):.2f}")
    ratio = _median(results["dagster"]) / _median(results["plain"])
    print(f"Dagster in-process / plain pipeline wall-time ratio: {ratio:.2f}")
    if args.without_gx:
        share = 1 - _median(results["dagster, GX off"]) / _median(results["dagster"])
        print(f"GX suites' share of the Dagster demo (import and validation): {share:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
