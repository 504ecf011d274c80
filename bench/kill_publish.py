"""Kill a publishing run at random moments and check that nothing a reader sees is torn.

    python bench/kill_publish.py --kills 20 [--warehouse sqlite postgresql]

Generates the clean synthetic sources, harmonizes and maps them once, publishes a first release, then
``--kills`` times: forks a process that publishes the next release (``write_outputs``, with the XPT
package so every kind of file is written), sends it SIGKILL after a random delay: between 0 and the time a whole
forked publish takes (measured first, in the same run) for odd kills, within its last sixth (the SQL
transaction, the commit and the switch) for even ones, and lets the next run's first act
(``reconcile_release``) run. It counts the kills after which ``current``, every warehouse table and
``dli_publish_log`` name one release (``dli_etl.publish.release_state``), and where the kills landed
(before the SQL commit: the old release stays; after it: the new one is live).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DLI_PSEUDONYM_KEY", "bench-only-key-0123456789abcdef0123456789abcdef")

from dli_etl import pipeline  # noqa: E402
from dli_etl.publish import reconcile_release, release_state  # noqa: E402
from dli_etl.synth.generate import generate  # noqa: E402


def _publish(runs, analysis, out: Path, url: str, run_id: str) -> None:
    pipeline.write_outputs(runs, out, Path("landing"), url, run_id=run_id, analysis=analysis, submission="study")


def _child(runs, analysis, out, url, run_id) -> None:
    _publish(runs, analysis, out, url, run_id)
    os._exit(0)


def kill_runs(runs, analysis, out: Path, url: str, kills: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    _publish(runs, analysis, out, url, "run-00")
    # the time a forked publish takes to the end (a forked child is slower than the parent: it copies the
    # pages it touches), so the kills spread over every step
    started = time.perf_counter()
    process = multiprocessing.get_context("fork").Process(target=_child, args=(runs, analysis, out, url, "run-00b"))
    process.start()
    process.join()
    whole = time.perf_counter() - started
    tally = {"consistent": 0, "old release kept": 0, "new release live": 0, "finished before the kill": 0}
    for i in range(1, kills + 1):
        run_id = f"run-{i:02d}"
        before = release_state(out, url).live
        process = multiprocessing.get_context("fork").Process(target=_child, args=(runs, analysis, out, url, run_id))
        process.start()
        # every other kill aims at the last sixth, where the SQL transaction, the commit and the switch are
        time.sleep(rng.uniform(0, whole) if i % 2 else rng.uniform(0.85 * whole, 1.02 * whole))
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join()
        reconcile_release(out, url)
        state = release_state(out, url)
        tally["consistent"] += state.consistent and state.live in (before, run_id)
        if process.exitcode == 0:
            tally["finished before the kill"] += 1
        else:
            tally["new release live" if state.live == run_id else "old release kept"] += 1
        (out / ".lock").unlink(missing_ok=True)  # the killed run's lock; the next run would take it over
    tally["whole publish (s)"] = round(whole, 2)
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warehouse", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        landing = generate(Path(tmp) / "gen", seed=20261101, defect_rate=0.0).landing
        runs = []
        for study in pipeline.STUDIES:
            ingested = pipeline.ingest(study, landing)
            harmonized = pipeline.harmonize(ingested)
            runs.append(pipeline.study_run(ingested, harmonized, pipeline.map_sdtm(harmonized)))
        analysis = pipeline.analyse(runs)
        for warehouse in args.warehouse:
            server = None
            if warehouse == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'warehouse.sqlite'}"
            else:
                sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
                from postgres_server import PostgresServer, find_binaries

                binaries = find_binaries()
                if binaries is None:
                    print("postgresql: binaries not found (bash scripts/ensure-postgres.sh installs them)")
                    continue
                server = PostgresServer(binaries)
                url = server.start()
            try:
                tally = kill_runs(runs, analysis, Path(tmp) / f"out_{warehouse}", url, args.kills, args.seed)
            finally:
                if server is not None:
                    server.stop()
            print(f"{warehouse}: {tally['consistent']}/{args.kills} kills left one release "
                  f"({tally['old release kept']} before the commit: old release kept; {tally['new release live']} "
                  f"after it: new release live; {tally['finished before the kill']} finished first); "
                  f"a whole publish took {tally['whole publish (s)']} s", flush=True)


if __name__ == "__main__":
    main()
