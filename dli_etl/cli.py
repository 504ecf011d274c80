"""The ``dli-etl`` command line: generate synthetic sources, run the pipeline, or both (``demo``)."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

from dli_etl import __version__

DEFAULT_OUT = Path("dli-etl-out")
EPILOG = """examples:
  dli-etl demo                               generate synthetic data for both studies and run everything
  dli-etl demo --defect-rate 0               the same on clean data (no error findings expected)
  dli-etl generate --out data --seed 7       only write landing files + defect manifest
  dli-etl run --landing data/landing --out results --warehouse postgresql+psycopg://u@host/db
  dli-etl scan landing/DLIPRO/sites/S07/labs.xlsx --study DLIPRO --site S07 > S07.yaml
                                             draft a site profile for a workbook nobody has described yet
  dli-etl check-profile S07.yaml --landing landing
                                             try a profile on the landing files it claims (seconds, writes nothing)
  dli-etl queries list --out results --status Answered --site S02
  dli-etl queries decide accept 3f2a9c0b1d2e --landing data/landing --study DLIPRO --note "lab confirmed" --by LW

outputs (under --out): sdtm/, adam/, endpoints/, curated/, quarantine/ (held-back rows; values.parquet: nulled
values with their verbatim), findings/ (findings, row and value accounting, source coverage), triage/,
queries/, report/dq_report.html, report/findings.xlsx, warehouse.sqlite, run_manifest.json

site profiles: docs/site-profiles.md lists every key, the fields of each form, units and required fields
"""


def _print_summary(published: dict, out: Path, seconds: float) -> None:
    print()
    print(f"done in {seconds:.1f} s  (run {published['run_id']})")
    subjects = ", ".join(f"{k} {v}" for k, v in published["subjects"].items())
    print(f"  subjects in DM : {subjects}")
    acc = published["accounting"]
    rows_in = sum(r["rows_in"] for r in acc)
    cur = sum(r["rows_curated"] for r in acc)
    held = sum(r["rows_held_back"] for r in acc)
    print(f"  rows           : {rows_in} in = {cur} curated + {held} held back (unattributable)")
    read = sum(r["values_read"] for r in acc)
    print(f"  values         : {read} read = {sum(r['values_curated'] for r in acc)} curated + "
          f"{sum(r['values_nulled'] for r in acc)} nulled with a finding + {sum(r['values_held_back'] for r in acc)} in held-back rows")
    sev = published["findings_by_severity"]
    print(f"  findings       : {sev.get('error', 0)} error, {sev.get('warning', 0)} warning, {sev.get('info', 0)} info")
    queries = published.get("queries_by_status", {})
    if queries:
        print("  queries        : " + ", ".join(f"{n} {k.lower()}" for k, n in sorted(queries.items()))
              + f"; {len(published.get('triage', []))} triage workbooks in {out.resolve() / 'triage'}")
    print(f"  report         : {published['report']}")
    print(f"  findings xlsx  : {published['findings_xlsx']}")
    print(f"  parquet        : {out.resolve()}/sdtm, curated, quarantine ({published['parquet_files']} files)")
    print(f"  warehouse      : {published['warehouse_url']}  ({len(published['sql_tables'])} tables)")
    for note in published.get("notes", []):
        print(f"  note           : {note}")


def _demo_pseudonym_key(out: Path) -> None:
    """The demo's synthetic data need a key too: a throwaway one, generated once per output folder and kept
    beside it, so demo runs stay reproducible. ``run`` never does this: real data need a real key."""
    import os
    import secrets

    from dli_etl.rules.identifiers import KEY_VARIABLE

    if os.environ.get(KEY_VARIABLE):
        return
    path = Path(out) / ".demo_pseudonym_key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    os.environ[KEY_VARIABLE] = path.read_text(encoding="utf-8").strip()
    print(f"  demo: pseudonyms use a throwaway key kept in {path} (set {KEY_VARIABLE} for real data)")


def _generate(out: Path, seed: int, defect_rate: float, scale: int, load_meanwhile: str | None):
    """``generate``; with ``load_meanwhile`` (the module the demo runs next), generation goes to a forked
    process while this one imports that module (Dagster alone takes about two seconds): a second core
    would otherwise wait through both."""
    import importlib

    from dli_etl.forked_workers import forked_pool
    from dli_etl.synth.generate import generate

    pool = forked_pool(1) if load_meanwhile else None
    if pool is None:
        return generate(out, seed=seed, defect_rate=defect_rate, scale=scale)
    with pool:
        generated = pool.submit(generate, out, seed=seed, defect_rate=defect_rate, scale=scale)
        importlib.import_module(load_meanwhile)
        return generated.result()


def _run(landing: Path, out: Path, warehouse: str | None, profiles: Path | None, use_dagster: bool,
         expectations: bool = True, data_docs: bool = False, allow_empty: bool = False,
         submission: str = "none", workers: int | None = None) -> int:
    from dli_etl.release_gates import ReleaseBlocked
    from dli_etl.release_guard import PublishRefused, check_landing, unknown_study_folders
    from dli_etl.rules.identifiers import PseudonymKeyMissing
    from dli_etl.run_lock import RunLocked

    started = time.perf_counter()
    if not landing.exists():
        print(f"error: landing folder {landing} does not exist (try: dli-etl generate --out {landing.parent})",
              file=sys.stderr)
        return 2
    try:
        from dli_etl.pipeline import require_pseudonym_key
        from dli_etl.site_profile import load_profiles

        require_pseudonym_key(load_profiles(profiles))
    except PseudonymKeyMissing as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    unknown = unknown_study_folders(landing)
    if unknown:
        print(f"warning: {landing} has folder(s) for unknown studies, not read: {', '.join(unknown)}", file=sys.stderr)
    try:
        check_landing(landing, out, allow_empty)
    except PublishRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 3
    if use_dagster:
        from dli_etl.orchestrate import materialize_all

        print("running the Dagster asset graph (one run per site, per study, then the release; "
              "side by side on the machine's cores) ...", flush=True)
        run = materialize_all(landing, out, warehouse, profiles, expectations, data_docs, allow_empty,
                              echo=lambda line: print(f"  {line}", flush=True), submission=submission,
                              workers=workers)
        if not run.success or run.published is None:
            print(f"run {run.run_id} failed at: {', '.join(run.failed_steps) or 'unknown step'}", file=sys.stderr)
            for line in run.errors:
                print(f"  {line}", file=sys.stderr)
            print(f"  the full Dagster log: dagster dev -w workspace.yaml with DAGSTER_HOME={out.resolve() / '.dagster_home'}",
                  file=sys.stderr)
            failed_checks = [k for k, ok in run.check_results.items() if not ok]
            if failed_checks:
                print(f"failed checks: {', '.join(failed_checks)}", file=sys.stderr)
            return 1
        _print_summary(run.published, out, time.perf_counter() - started)
        return 0
    from dli_etl.pipeline import run_pipeline

    try:
        summary = run_pipeline(landing, out, warehouse, profiles, echo=lambda m: print(f"  {m}", flush=True),
                               expectations=expectations, data_docs=data_docs, allow_empty=allow_empty,
                               submission=submission, workers=workers)
    except (ReleaseBlocked, PublishRefused, RunLocked) as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 3
    published = {"run_id": summary.run_id, "subjects": summary.subjects, "accounting": summary.accounting.to_dict("records"),
                 "findings_by_severity": summary.findings_by_severity, "report": str(summary.report),
                 "findings_xlsx": str(summary.findings_xlsx), "parquet_files": summary.parquet_files,
                 "warehouse_url": summary.warehouse_url, "sql_tables": summary.sql_tables,
                 "queries_by_status": summary.queries_by_status, "triage": [str(p) for p in summary.triage_workbooks],
                 "notes": summary.notes}
    _print_summary(published, out, time.perf_counter() - started)
    return 0


def _scan(path: Path, study: str, site: str, out: Path | None) -> int:
    from dli_etl.ingest.errors import SourceReadError
    from dli_etl.profile_scan import scan_workbook

    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    try:
        if path.suffix.lower() == ".xml":
            from dli_etl.export_scan import scan_odm

            draft = scan_odm(path, study, site if site != "SITE" else "EDC")
        else:
            draft = scan_workbook(path, study, site)
    except SourceReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = draft.to_yaml()
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        print(f"draft profile written to {out}: {len(draft.profile['forms'])} forms; check the notes at its top, "
              f"then: dli-etl check-profile {out} --landing <landing>")
    return 0 if draft.profile["forms"] else 1


def _check_profile(path: Path, landing: Path, profiles: Path | None) -> int:
    from dli_etl.profile_check import check_profile, format_check
    from dli_etl.rules.identifiers import PseudonymKeyMissing
    from dli_etl.site_profile import ProfileError

    try:
        check = check_profile(path, landing, profiles)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PseudonymKeyMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_check(check))
    return 1 if check.problems else 0


def _queries_list(out: Path, status: str | None, site: str | None, study: str | None) -> int:
    import pandas as pd

    path = out / "queries" / "queries.parquet"
    if not path.is_file():
        print(f"error: no queries in {out} (run the pipeline first: dli-etl run --out {out} ...)", file=sys.stderr)
        return 2
    queries = pd.read_parquet(path)
    for column, wanted in (("status", status), ("site", site), ("study", study)):
        if wanted:
            queries = queries[queries[column].astype("string").str.casefold() == wanted.casefold()]
    if queries.empty:
        print("no query matches")
        return 0
    shown = queries[["query_id", "status", "study", "site", "subjid", "form", "field", "value", "rule_id", "response"]]
    with pd.option_context("display.max_rows", 500, "display.max_colwidth", 40, "display.width", 200):
        print(shown.fillna("").to_string(index=False))
    print(f"\n{len(queries)} queries; " + ", ".join(f"{n} {s}" for s, n in queries["status"].value_counts().items()))
    return 0


def _queries_decide(landing: Path, study: str, decision: str, query_ids: list[str], note: str, by: str) -> int:
    from dli_etl.queries import record_decision

    if not (landing / study).is_dir():
        print(f"error: {landing / study} does not exist; give the landing folder the runs read", file=sys.stderr)
        return 2
    path = record_decision(landing / study, query_ids, decision, note, by)
    print(f"{decision}: {len(query_ids)} queries recorded in {path}; the next run applies the decision (once)")
    return 0


def _add_run_options(command: argparse.ArgumentParser) -> None:
    """The options ``run`` and ``demo`` share: how the pipeline runs and what it writes besides Parquet/SQL."""
    command.add_argument("--no-dagster", action="store_true",
                         help="run the plain-Python pipeline instead of the Dagster graph")
    command.add_argument("--no-expectations", action="store_true", help="skip the Great Expectations suites on SDTM")
    command.add_argument("--data-docs", action="store_true",
                         help="also render GX Data Docs under <out>/data_docs (the report shows every expectation's "
                              "result without them; Data Docs load scripts from the web)")
    command.add_argument("--no-data-docs", action="store_true", help=argparse.SUPPRESS)  # the default now
    command.add_argument("--workers", type=int, default=None, metavar="N",
                         help="processes for work that does not depend on each other (site runs, then studies): "
                              "default one per core (at most 8 with Dagster); 1 does everything in this process, "
                              "which holds the least memory at once")
    command.add_argument("--submission", choices=["none", "study", "all"], default="none",
                         help="SDTM submission package: SAS XPT v5 and Define-XML 2.1 per study ('study'), also for "
                              "the pooled domains ('all'); Parquet and SQL are always written (default: %(default)s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dli-etl", description="Harmonize DLI trial data: site spreadsheets, ODM and REDCap exports in; "
        "validated SDTM-like tables, findings and a data-quality report out.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"dli-etl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="write synthetic landing files for both studies and a defect manifest")
    gen.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for landing/ and defect_manifest.csv (default: %(default)s)")
    gen.add_argument("--seed", type=int, default=20261101, help="random seed; same seed, same files (default: %(default)s)")
    gen.add_argument("--defect-rate", type=float, default=0.03,
                     help="share of records per defect class to corrupt on purpose; 0 = clean data (default: %(default)s)")
    gen.add_argument("--scale", type=int, default=1,
                     help="K x the subjects of both studies and K x Study A's sites, same layouts and defect classes; "
                          "the added sites' profiles go to OUT/profiles (pass as --profiles) (default: %(default)s)")

    run = sub.add_parser("run", help="run the pipeline on a landing folder")
    run.add_argument("--landing", type=Path, required=True, help="folder with one sub-folder per study (DLIPRO/, DLIPLX/)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    run.add_argument("--warehouse", default=None, help="SQLAlchemy URL (default: SQLite file <out>/warehouse.sqlite)")
    run.add_argument("--profiles", type=Path, default=None, help="folder of extra/overriding site profile YAML files")
    _add_run_options(run)
    run.add_argument("--allow-empty", action="store_true",
                     help="publish even if a study that has data in the live release has no source this run "
                          "(default: refuse, and change nothing)")

    demo = sub.add_parser("demo", help="generate synthetic data, then run the full pipeline on it")
    demo.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=20261101, help="random seed (default: %(default)s)")
    demo.add_argument("--defect-rate", type=float, default=0.03, help="planted defect rate (default: %(default)s)")
    demo.add_argument("--warehouse", default=None, help="SQLAlchemy URL (default: SQLite file under --out)")
    _add_run_options(demo)

    scan = sub.add_parser("scan", help="draft a site profile for an unseen workbook or ODM export",
                          description="Look at a workbook's sheets, header rows, columns and values and draft a site "
                                      "profile: forms, fields matched by Chinese/English header names, date format, "
                                      "units, MRD columns, identifier columns. Read the notes it writes at the top.")
    scan.add_argument("file", type=Path, help="the .xlsx workbook, or an ODM .xml export (items matched by name)")
    scan.add_argument("--study", default="DLIPRO", help="study code (default: %(default)s)")
    scan.add_argument("--site", default="SITE", help="site code (default: %(default)s)")
    scan.add_argument("--out", type=Path, default=None, help="write the draft here (default: print it)")

    check = sub.add_parser("check-profile", help="try one site profile on the landing files it claims",
                           description="Validate a site profile, read only the files it claims and print what each "
                                       "form would get (rows, how full each field is, the first findings) and where "
                                       "every source value went. Exit 0: usable; 1: the profile names sheets or "
                                       "columns that are not there, or claims no file; 2: not a valid profile.")
    check.add_argument("profile", type=Path, help="the profile YAML file")
    check.add_argument("--landing", type=Path, required=True, help="landing folder (with <STUDY>/ inside)")
    check.add_argument("--profiles", type=Path, default=None,
                       help="folder of the other site profiles in use (to find files claimed twice)")

    queries = sub.add_parser("queries", help="list queries, or record a data manager's decision on them")
    qsub = queries.add_subparsers(dest="queries_command", required=True, metavar="ACTION")
    qlist = qsub.add_parser("list", help="the current queries, filtered")
    qlist.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder of the runs (default: %(default)s)")
    qlist.add_argument("--status", help="Open, Answered, Accepted or Closed")
    qlist.add_argument("--site", help="site code")
    qlist.add_argument("--study", help="study code")
    decide = qsub.add_parser("decide", help="accept, close or reopen queries (applied by the next run, once)",
                             description="accept: the value is right as collected; it is released from quarantine. "
                                         "close: the query ends although the problem stays (e.g. the site cannot "
                                         "provide it); the value stays quarantined and the query is not reopened. "
                                         "reopen: back to Open. The decision, your name and note are kept in the "
                                         "query history.")
    decide.add_argument("decision", choices=["accept", "close", "reopen"])
    decide.add_argument("query_ids", nargs="+", metavar="QUERY_ID")
    decide.add_argument("--landing", type=Path, required=True, help="the landing folder the runs read")
    decide.add_argument("--study", required=True, help="study code of the queries (DLIPRO or DLIPLX)")
    decide.add_argument("--note", required=True, help="why (kept with the decision)")
    decide.add_argument("--by", required=True, help="your name or initials")

    args = parser.parse_args(argv)
    if getattr(args, "workers", None) is not None and args.workers < 1:
        parser.error("--workers must be 1 or more")
    if args.command == "queries":
        if args.queries_command == "list":
            return _queries_list(args.out, args.status, args.site, args.study)
        return _queries_decide(args.landing, args.study, args.decision, args.query_ids, args.note, args.by)
    if args.command == "scan":
        return _scan(args.file, args.study, args.site, args.out)
    if args.command == "check-profile":
        return _check_profile(args.profile, args.landing, args.profiles)
    if args.command in ("generate", "demo"):
        if not 0 <= args.defect_rate <= 0.5:
            parser.error("--defect-rate must be between 0 and 0.5")
        print(f"generating synthetic sources (seed {args.seed}, defect rate {args.defect_rate}) ...", flush=True)
        scale = getattr(args, "scale", 1)
        if scale < 1:
            parser.error("--scale must be 1 or more")
        run_next = None if args.command == "generate" or args.workers == 1 else "dli_etl.pipeline" \
            if args.no_dagster else "dli_etl.assets.definitions"
        result = _generate(args.out, args.seed, args.defect_rate, scale, run_next)
        print(f"  {sum(result.subjects.values())} subjects ({', '.join(f'{k} {v}' for k, v in result.subjects.items())}), "
              f"{len(result.files)} files in {result.landing}")
        print(f"  {result.defects} planted defects listed in {result.manifest}")
        if result.profiles is not None:
            print(f"  profiles of the added sites in {result.profiles}: dli-etl run --profiles {result.profiles} ...")
        if args.command == "generate":
            return 0
        _demo_pseudonym_key(args.out)
        return _run(result.landing, args.out, args.warehouse, None, not args.no_dagster, not args.no_expectations,
                    args.data_docs, submission=args.submission, workers=args.workers)
    return _run(args.landing, args.out, args.warehouse, args.profiles, not args.no_dagster, not args.no_expectations,
                args.data_docs, args.allow_empty, args.submission, args.workers)


def entry_point() -> int:
    """``dli-etl``: ``main`` in a process of its own, which it leaves without a last garbage collection."""
    code = main()
    # the interpreter collects again and again while it unloads modules on exit: 1.5 s with Dagster and GX
    # loaded, for memory the process is about to give back anyway
    gc.freeze()
    return code


if __name__ == "__main__":
    raise SystemExit(entry_point())
