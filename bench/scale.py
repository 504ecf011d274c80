"""How the pipeline grows with the data: wall, CPU, peak RSS and CPU per input row at several scales,
next to the I/O floor measured in the same run (read every landing file, write it as Parquet).

    python bench/scale.py --scales 1 2 4            # plain pipeline, GX off (the default)
    python bench/scale.py --scales 1 4 --dagster    # the Dagster asset graph as well
    python bench/scale.py --scales 1 4 16 --plot bench/scale.png
    python bench/scale.py --replot small.jsonl big.jsonl --plot docs/img/scale.png   # runs saved earlier

Each measurement runs in a fresh subprocess that reports its own CPU time and peak RSS, so the numbers
of one scale do not leak into the next. Figures are reported as ratios to the I/O floor of the same
scale, measured in the same run (machines are noisy; absolute seconds are not comparable across runs).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r'''
import json, os, resource, sys, time
from pathlib import Path
mode, landing, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
profiles = Path(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else None
started = time.perf_counter()
rows = 0
if mode == "floor":
    import pandas as pd
    from python_calamine import CalamineWorkbook
    import defusedxml.ElementTree as ET
    out.mkdir(parents=True, exist_ok=True)
    for n, path in enumerate(sorted(p for p in landing.rglob("*") if p.is_file())):
        if path.suffix == ".xlsx":
            book = CalamineWorkbook.from_path(str(path))
            for name in book.sheet_names:
                cells = book.get_sheet_by_name(name).to_python()
                if len(cells) > 1:
                    # positional column names: title blocks and repeated headers are not a reader's concern
                    frame = pd.DataFrame(cells[1:], columns=[f"c{i}" for i in range(len(cells[0]))]).astype(str)
                    rows += len(frame)
                    frame.to_parquet(out / f"{n}_{name}.parquet")
        elif path.suffix == ".xml":
            groups = []
            for _, elem in ET.iterparse(str(path)):
                if elem.tag.rsplit("}", 1)[-1] == "ItemGroupData":
                    groups.append({i.get("ItemOID"): i.get("Value") for i in elem})
                    elem.clear()
            rows += len(groups)
            pd.DataFrame(groups).astype(str).to_parquet(out / f"{n}.parquet")
        elif path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=str)
            rows += len(frame)
            frame.to_parquet(out / f"{n}.parquet")
elif mode == "plain":
    from dli_etl.pipeline import run_pipeline
    run_pipeline(landing, out, profiles_dir=profiles, expectations=False, data_docs=False)
else:
    from dli_etl.orchestrate import materialize_all
    run = materialize_all(landing, out, None, profiles, False, False)
    assert run.success, run.failed_steps
usage = resource.getrusage(resource.RUSAGE_SELF)
# the Dagster mode runs site partitions and roll-ups in forked workers: their CPU counts, and the peak is
# that of the largest process (this one or a worker)
workers = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": time.perf_counter() - started,
                  "cpu": usage.ru_utime + usage.ru_stime + workers.ru_utime + workers.ru_stime,
                  "rss_mib": max(usage.ru_maxrss, workers.ru_maxrss) / 1024, "rows": rows}))
'''


def _measure(mode: str, landing: Path, out: Path, profiles: Path | None) -> dict:
    env = {**os.environ, "DLI_PSEUDONYM_KEY": os.environ.get("DLI_PSEUDONYM_KEY") or secrets.token_hex(32)}
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, str(landing), str(out), str(profiles or "")],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _generated(folder: Path, seed: int, scale: int):
    """Generated data in ``folder``: reused when an earlier run left it complete (its ``.done`` marker)."""
    from types import SimpleNamespace

    from dli_etl.synth.generate import generate

    done = folder / ".done"
    if done.is_file():
        return SimpleNamespace(**{k: (Path(v) if k in ("landing", "profiles") and v else v)
                                  for k, v in json.loads(done.read_text(encoding="utf-8")).items()})
    data = generate(folder, seed=seed, defect_rate=0.03, scale=scale)
    done.write_text(json.dumps({"landing": str(data.landing), "profiles": str(data.profiles) if data.profiles else None,
                                "subjects": data.subjects}), encoding="utf-8")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--dagster", action="store_true", help="also run the Dagster asset graph")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of CPU per input row and RSS")
    parser.add_argument("--data", type=Path, default=None,
                        help="keep generated data in DATA/x<scale> and reuse it on the next run (256x takes minutes)")
    parser.add_argument("--replot", type=Path, nargs="+", default=None,
                        help="plot the JSON lines earlier runs printed (saved to files) instead of measuring")
    args = parser.parse_args()
    results = []
    if args.replot:
        for path in args.replot:
            results += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                        if line.startswith("{")]
        results.sort(key=lambda r: r["scale"])
    with tempfile.TemporaryDirectory() as tmp:
        for scale in [] if args.replot else args.scales:
            root = Path(tmp) / f"x{scale}"
            data = _generated(args.data / f"x{scale}" if args.data else root / "data", args.seed, scale)
            floor = _measure("floor", data.landing, root / "floor", None)
            row = {"scale": scale, "subjects": sum(data.subjects.values()), "input_rows": floor["rows"],
                   "floor_wall_s": floor["wall"]}
            modes = ["plain", "dagster"] if args.dagster else ["plain"]
            for mode in modes:
                got = _measure(mode, data.landing, root / f"out_{mode}", data.profiles)
                row.update({f"{mode}_wall_s": got["wall"], f"{mode}_cpu_s": got["cpu"], f"{mode}_rss_mib": got["rss_mib"],
                            f"{mode}_ms_cpu_per_row": 1000 * got["cpu"] / max(floor["rows"], 1),
                            f"{mode}_x_floor": got["wall"] / max(floor["wall"], 1e-9)})
            results.append(row)
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    if args.plot and results:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        subjects = [r["subjects"] for r in results]
        for mode in ("plain", "dagster"):
            if f"{mode}_cpu_s" in results[0]:
                left.plot(subjects, [r[f"{mode}_ms_cpu_per_row"] for r in results], marker="o", label=mode)
                right.plot(subjects, [r[f"{mode}_rss_mib"] for r in results], marker="o", label=mode)
        left.set(xscale="log", xlabel="subjects", ylabel="CPU ms per input row", title="CPU per input row")
        right.set(xscale="log", xlabel="subjects", ylabel="peak RSS (MiB)", title="Peak memory")
        for axis in (left, right):
            axis.set_xticks(subjects, [f"{s:,}" for s in subjects])
            axis.minorticks_off()
            axis.legend()
            axis.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
