"""The whole flow as plain functions: ingest -> harmonize -> map -> publish -> report.

Dagster assets (``dli_etl.assets``) call these same functions one step per asset; ``run_pipeline`` runs
them in a loop for scripts, notebooks and tests that do not need an orchestrator.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from dli_etl import __version__
from dli_etl.adam.build import adam_findings, build_adam
from dli_etl.endpoints.curves import study_curves
from dli_etl.endpoints.protocol import endpoint_table
from dli_etl.findings import empty_findings, findings_frame
from dli_etl.forked_workers import forked_pool, worker_count
from dli_etl.harmonize.study import ACCOUNTING_COLUMNS, HarmonizeResult, harmonize_study
from dli_etl.ingest.apply_profile import ingest_study
from dli_etl.ingest.raw_form import IngestResult, SourceCoverage
from dli_etl.progress import progress_line
from dli_etl.publish import (
    RUN_ID_COLUMN,
    default_warehouse_url,
    publish_sql,
    reconcile_release,
    release_dir,
    switch_release,
    write_release_files,
)
from dli_etl.queries import (
    accepted_ids,
    empty_decisions,
    empty_history,
    empty_queries,
    load_previous,
    read_decisions,
    read_responses,
    update_queries,
    write_triage_workbooks,
)
from dli_etl.release_gates import (
    GateResult,
    ReleaseBlocked,
    dm_subjects,
    endpoint_populations,
    sdtm_reconciles,
)
from dli_etl.release_guard import check_landing, check_read
from dli_etl.report import render_report, write_findings_xlsx
from dli_etl.root_causes import link_root_causes
from dli_etl.rules.identifiers import key_fingerprint, pseudonym_key
from dli_etl.run_cache import cache_root
from dli_etl.run_lock import run_lock
from dli_etl.run_manifest import code_versions, output_files
from dli_etl.sdtm.build import LINEAGE_TABLES, build_sdtm
from dli_etl.sdtm.define_xml import write_define
from dli_etl.sdtm.xpt import write_xpt
from dli_etl.site_profile import SiteProfile, load_profiles
from dli_etl.site_wording import site_wording
from dli_etl.trends import TREND_TABLE, empty_trends, load_trends, run_trends, trend_by_run, with_run

STUDIES = ("DLIPRO", "DLIPLX")
Echo = Callable[[str], None]


@dataclass
class StudyRun:
    """Everything one study produced in one run."""

    study: str
    ingest: IngestResult
    harmonized: HarmonizeResult
    sdtm: dict[str, pd.DataFrame] = field(default_factory=dict)
    sdtm_findings: pd.DataFrame = field(default_factory=empty_findings)  # CT, cross-domain, GX
    expectations: dict[str, bool] = field(default_factory=dict)  # GX suite success per domain
    data_docs: Path | None = None
    gates: list[GateResult] = field(default_factory=list)  # DM subjects, curated-to-SDTM reconciliation
    expectation_details: pd.DataFrame | None = None  # one row per GX expectation (EXPECTATION_COLUMNS)


@dataclass
class SdtmResult:
    """What mapping one study to SDTM gives: the domains, the findings about them, and the release gates
    that say no record was lost on the way (``dli_etl.release_gates``)."""

    domains: dict[str, pd.DataFrame]
    findings: pd.DataFrame
    expectations: dict[str, bool] = field(default_factory=dict)
    data_docs: Path | None = None
    gates: list[GateResult] = field(default_factory=list)
    expectation_details: pd.DataFrame | None = None


@dataclass
class QueryState:
    """Query state before this run: previous queries and history from the warehouse, site answers."""

    previous: pd.DataFrame = field(default_factory=empty_queries)
    history: pd.DataFrame = field(default_factory=empty_history)
    responses: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["query_id", "site_status", "response", "response_file"], dtype="string"))

    decisions: pd.DataFrame = field(default_factory=empty_decisions)
    trends: pd.DataFrame = field(default_factory=empty_trends)  # earlier runs' findings and open queries

    @property
    def accepted(self) -> set[str]:
        return accepted_ids(self.previous, self.responses, self.decisions)


def query_state(landing: Path, out: Path, warehouse_url: str | None = None) -> QueryState:
    """Read the previous run's queries and every answered workbook in the landing folder."""
    Path(out).mkdir(parents=True, exist_ok=True)
    url = warehouse_url or default_warehouse_url(out)
    previous, history = load_previous(url)
    responses = [read_responses(Path(landing) / study) for study in STUDIES]
    decisions = [read_decisions(Path(landing) / study) for study in STUDIES]
    return QueryState(previous, history, pd.concat(responses, ignore_index=True),
                      pd.concat(decisions, ignore_index=True), load_trends(url))


@dataclass
class RunSummary:
    run_id: str
    out: Path
    report: Path
    findings_xlsx: Path
    warehouse_url: str
    subjects: dict[str, int]
    findings_by_severity: dict[str, int]
    accounting: pd.DataFrame
    parquet_files: int
    sql_tables: dict[str, int]
    queries_by_status: dict[str, int] = field(default_factory=dict)
    triage_workbooks: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # repairs and stale locks taken over before publishing


def ingest(study: str, landing: Path, profiles: list[SiteProfile] | None = None) -> IngestResult:
    """Read one study's landing files through its site profiles."""
    return ingest_study(study, Path(landing), profiles if profiles is not None else load_profiles())


def harmonize(ingested: IngestResult, accepted: set[str] | None = None, out: Path | None = None) -> HarmonizeResult:
    """Typed forms, findings, quarantine and row accounting. With ``out``, each source's typed forms are
    kept under ``<cache>/harmonize/<study>`` (``run_cache.cache_root``: ``<out>/.cache`` unless
    ``$DLI_CACHE_DIR`` is set) and reused while the source is unchanged."""
    cache = cache_root(out) / "harmonize" / ingested.study if out is not None else None
    return harmonize_study(ingested, frozenset(accepted or ()), cache)


def map_sdtm(harmonized: HarmonizeResult) -> SdtmResult:
    """Every SDTM domain of the study from its curated forms, with the CT and cross-domain findings.

    ``harmonized`` is read, never changed: the findings about SDTM travel in the result.
    """
    domains, findings = build_sdtm(harmonized.study, harmonized.curated, harmonized.findings)
    gates = [dm_subjects(harmonized.study, harmonized.enrolled, domains["dm"]),
             sdtm_reconciles(harmonized.study, harmonized.curated, domains)]
    return SdtmResult(domains, findings_frame(findings) if findings else empty_findings(), gates=gates)


def check_expectations(study: str, sdtm: SdtmResult, out: Path | None, data_docs: bool = False) -> SdtmResult:
    """A new result with the Great Expectations outcome: failures added to its findings, success per
    domain, and the Data Docs index (None when not rendered). A domain unchanged since an earlier run
    into ``out`` reuses that run's outcome (``<cache>/expectations``; delete it to run every suite)."""
    from dli_etl.sdtm.expectation_suites import expectation_table, validate_domains

    # GX wants an absolute base directory; the CLI's default --out is relative
    docs = Path(out).resolve() / "data_docs" / study if (out is not None and data_docs) else None
    domains = {k: v for k, v in sdtm.domains.items() if k not in LINEAGE_TABLES}
    details: list[dict] = []
    cache = cache_root(out) / "expectations" / study if out is not None else None
    found, success, index = validate_domains(study, domains, docs, details, cache)
    findings = pd.concat([sdtm.findings, findings_frame(found)], ignore_index=True) if found else sdtm.findings
    return SdtmResult(sdtm.domains, findings, success, index, sdtm.gates, expectation_table(details))


def study_run(ingested: IngestResult, harmonized: HarmonizeResult, sdtm: SdtmResult) -> StudyRun:
    return StudyRun(harmonized.study, ingested, harmonized, sdtm.domains, sdtm.findings, sdtm.expectations,
                    sdtm.data_docs, sdtm.gates, sdtm.expectation_details)


def all_findings(runs: list[StudyRun]) -> pd.DataFrame:
    frames = [f for r in runs for f in (r.harmonized.findings, r.sdtm_findings) if not f.empty]
    if not frames:
        return empty_findings()
    return pd.concat(frames, ignore_index=True).sort_values(["study", "severity", "rule_id", "finding_id"],
                                                            kind="mergesort").reset_index(drop=True)


def all_accounting(runs: list[StudyRun]) -> pd.DataFrame:
    frames = [r.harmonized.accounting for r in runs if not r.harmonized.accounting.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(ACCOUNTING_COLUMNS))


@dataclass
class Analysis:
    """ADaM-like datasets per study, the endpoint table, the curves and the findings about them."""

    adams: dict[str, dict[str, pd.DataFrame]]
    endpoints: pd.DataFrame
    curves: pd.DataFrame
    at_risk: pd.DataFrame
    figures: list[dict]
    findings: pd.DataFrame
    gates: list[GateResult] = field(default_factory=list)  # every endpoint's N = its population


def all_coverage(runs: list[StudyRun]) -> pd.DataFrame:
    """Where every source value went, per file and sheet / item group / instrument."""
    rows = [asdict(c) for r in runs for c in r.ingest.coverage]
    columns = [f.name for f in fields(SourceCoverage)]
    return pd.DataFrame(rows, columns=columns).astype({c: "int64" for c in columns if c.startswith("values_")})


def analyse(runs: list[StudyRun], out: Path | None = None) -> Analysis:
    """ADaM from each study's SDTM, checked against its schemas; then endpoints and curves."""
    return analyse_adams({run.study: build_adam(run.study, run.sdtm) for run in runs if run.sdtm}, out)


def analyse_adams(adams: dict[str, dict[str, pd.DataFrame]], out: Path | None = None) -> Analysis:
    """Endpoints, curves and schema findings from ADaM datasets already built (e.g. by the adam asset).
    With ``out``, curve drawings are kept under ``<cache>/curves`` and reused while unchanged."""
    found = [adam_findings(study, datasets) for study, datasets in adams.items()]
    curves, at_risk, figures = study_curves(adams, cache_root(out) / "curves" if out is not None else None)
    endpoints = endpoint_table(adams)
    return Analysis(adams, endpoints, curves, at_risk, figures,
                    pd.concat(found, ignore_index=True) if found else empty_findings(),
                    [endpoint_populations(adams, endpoints)])


def output_tables(runs: list[StudyRun], analysis: Analysis | None = None,
                  ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """(Parquet path -> frame, SQL table -> frame). Parquet per study and pooled; SQL pooled by study."""
    analysis = analysis or analyse(runs)
    parquet: dict[str, pd.DataFrame] = {}
    pooled: dict[str, list[pd.DataFrame]] = {}
    for run in runs:
        for domain, frame in run.sdtm.items():
            parquet[f"sdtm/{run.study}/{domain}"] = frame
            pooled.setdefault(f"sdtm_{domain}", []).append(frame)
        for form, frame in run.harmonized.curated.items():
            parquet[f"curated/{run.study}/{form}"] = frame
            pooled.setdefault(f"curated_{form}", []).append(frame)
        for form, frame in run.harmonized.quarantine.items():
            parquet[f"quarantine/{run.study}/{form}"] = frame
            pooled.setdefault(f"quarantine_{form}", []).append(frame)
        parquet[f"quarantine/{run.study}/values"] = run.harmonized.quarantined_values
        pooled.setdefault("quarantined_values", []).append(run.harmonized.quarantined_values)
        for form, frame in run.harmonized.staged.items():
            parquet[f"staged/{run.study}/{form}"] = frame
    for study, datasets in analysis.adams.items():
        for name, frame in datasets.items():
            parquet[f"adam/{study}/{name}"] = frame
            pooled.setdefault(f"adam_{name}", []).append(frame)
    sql = {name: pd.concat(frames, ignore_index=True) for name, frames in pooled.items()}
    for name in [n for n in sql if n.startswith("adam_")]:
        parquet[f"adam/pooled/{name[5:]}"] = sql[name]
    for name, frame in (("endpoints", analysis.endpoints), ("curves", analysis.curves), ("at_risk", analysis.at_risk)):
        parquet[f"endpoints/{name}"] = frame
        sql[f"endpoint_{name}" if name != "endpoints" else "endpoints"] = frame
    for domain in [name[5:] for name in sql if name.startswith("sdtm_")]:
        if f"sdtm_{domain}" in sql:
            parquet[f"sdtm/pooled/{domain}"] = sql[f"sdtm_{domain}"]
    findings = all_findings(runs)
    if not analysis.findings.empty:
        findings = pd.concat([findings, analysis.findings], ignore_index=True)
    findings = link_root_causes(findings)
    accounting = all_accounting(runs)
    coverage = all_coverage(runs)
    parquet["findings/findings"] = findings
    parquet["findings/row_accounting"] = accounting
    parquet["findings/source_coverage"] = coverage
    sql["findings"] = findings
    sql["row_accounting"] = accounting
    sql["source_coverage"] = coverage
    return parquet, sql


def write_outputs(runs: list[StudyRun], out: Path, landing: Path, warehouse_url: str | None = None,
                  run_id: str | None = None, state: QueryState | None = None,
                  analysis: Analysis | None = None, allow_empty: bool = False,
                  submission: str = "none") -> RunSummary:
    """Publish one run: Parquet, triage workbooks, report, submission files and manifest into the run's
    release folder, SQL tables in one transaction, then switch the release live (see ``publish``).
    ``submission``: XPT + Define-XML per "study", for "all" (each study and pooled), or "none".

    Refuses (``PublishRefused``) when a study with data in the live release had no readable source this
    run, unless ``allow_empty``; raises ``ReleaseBlocked`` when a release gate fails."""
    out = Path(out)
    check_read({r.study: sum(f.status == "read" for f in r.ingest.files) for r in runs}, out, allow_empty)
    run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    state = state or QueryState()
    analysis = analysis or analyse(runs, out)
    gates = [g for r in runs for g in r.gates] + analysis.gates
    if not all(g.passed for g in gates):
        raise ReleaseBlocked(gates)
    parquet, sql = output_tables(runs, analysis)
    read_files = {f.path for r in runs for f in r.ingest.files if f.status == "read"}
    queries, new_history = update_queries(state.previous, parquet["findings/findings"], state.responses, run_id,
                                          read_files=read_files, studies_read={r.study for r in runs},
                                          history=state.history, decisions=state.decisions)
    history = pd.concat([state.history, new_history], ignore_index=True) if not state.history.empty else new_history
    sql["queries"] = queries
    sql["query_history"] = history
    published_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    sql[TREND_TABLE] = with_run(state.trends, run_trends(run_id, published_at, parquet["findings/findings"], queries))
    release = release_dir(out, run_id)
    url = warehouse_url or default_warehouse_url(out)
    with run_lock(out) as lock_note:
        repaired = reconcile_release(out, url)
        summary = _write_release(runs, parquet, sql, queries, new_history, analysis, release, out, landing, url,
                                 run_id, submission)
    summary.notes = [note for note in (lock_note, repaired) if note]
    return summary


def _write_release(runs: list[StudyRun], parquet: dict[str, pd.DataFrame], sql: dict[str, pd.DataFrame],
                   queries: pd.DataFrame, new_history: pd.DataFrame, analysis: Analysis, release: Path, out: Path,
                   landing: Path, url: str, run_id: str, submission: str = "none") -> RunSummary:
    """Every file of the release first, then the SQL transaction, then the switch: a run stopped at any
    point leaves the warehouse and ``current`` on the same release (``reconcile_release`` rolls forward
    the one window between the commit and the switch)."""
    triage = write_triage_workbooks(queries, release / "triage", site_wording([r.ingest for r in runs]),
                                    parquet["findings/findings"])
    files_written = write_release_files({**parquet, "queries/queries": queries}, out, run_id)
    sql_counts = {name: len(frame) for name, frame in sorted(sql.items())}
    findings = parquet["findings/findings"]
    accounting = parquet["findings/row_accounting"]
    xlsx = write_findings_xlsx(findings, release / "report" / "findings.xlsx", accounting)
    submission_files = write_submission_files(runs, parquet, release, submission)
    files = [asdict(f) for r in runs for f in r.ingest.files]
    subjects = {r.study: int(len(r.sdtm.get("dm", []))) for r in runs}
    context = {
        "run_id": run_id, "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "version": __version__,
        "landing": str(landing), "subjects": subjects, "findings": findings, "accounting": accounting,
        "files": files, "findings_xlsx": "findings.xlsx", "findings_parquet": "../findings/findings.parquet",
        "staged": {f"{r.study} {form}": len(frame) for r in runs for form, frame in sorted(r.harmonized.staged.items())},
        "queries": queries, "query_changes": new_history,
        "triage": [p.relative_to(release).as_posix() for p in triage],
        "completeness": completeness(runs),
        "define_files": [p.relative_to(release).as_posix() for p in submission_files if p.name == "define.xml"],
        "xpt_count": sum(1 for p in submission_files if p.suffix == ".xpt"),
        # Data Docs live beside the releases; links are relative to the public <out>/report folder
        "data_docs": {r.study: os.path.relpath(r.data_docs, out / "report") for r in runs if r.data_docs},
        "expectation_results": {r.study: r.expectations for r in runs if r.expectations},
        "expectation_failures": [row for r in runs if r.expectation_details is not None for row in
                                 _records(r.expectation_details[~r.expectation_details["success"]])],
        "expectation_counts": {r.study: (int(r.expectation_details["success"].sum()), len(r.expectation_details))
                               for r in runs if r.expectation_details is not None},
        "endpoints": analysis.endpoints, "figures": analysis.figures,
        "coverage": parquet["findings/source_coverage"].to_dict("records"),
        "trend_rows": trend_by_run(sql[TREND_TABLE]).to_dict("records"),
    }
    render_report(context, release / "report" / "dq_report.html")
    manifest = {
        "run_id": run_id, "created": context["generated"], "landing": str(landing), "inputs": files,
        "code": code_versions(), "pseudonym_key": key_fingerprint(),
        "subjects": subjects, "rows": accounting[list(ACCOUNTING_COLUMNS[4:])].sum().astype(int).to_dict()
        if not accounting.empty else {},
        "release_gates": {**{f"{r.study}:{g.gate}": {"passed": g.passed, "checked": g.checked}
                             for r in runs for g in r.gates},
                          **{g.gate: {"passed": g.passed, "checked": g.checked} for g in analysis.gates}},
        "findings_by_severity": findings.groupby("severity").size().astype(int).to_dict() if not findings.empty else {},
        "warehouse_url": redact_url(url), "sql_tables": sql_counts,
        "sql_run_id_column": RUN_ID_COLUMN, "outputs": output_files(release),
    }
    (release / "run_manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    counts = publish_sql(sql, url, run_id)
    switch_release(out, run_id)
    by_status = queries.groupby("status").size().astype(int).to_dict() if not queries.empty else {}
    return RunSummary(run_id, out, out / "report" / "dq_report.html", out / "report" / xlsx.name,
                      url, subjects, manifest["findings_by_severity"], accounting,
                      len(files_written), counts, by_status,
                      [out / p.relative_to(release) for p in triage])


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows for a template: missing values as None (pandas' NA would print as "<NA>")."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def completeness(runs: list[StudyRun]) -> pd.DataFrame:
    """Share of filled values per study, site, form and field over all rows in (curated + held back).
    A value is filled when it is not null and not blank; rows without a site are not counted."""
    from dli_etl.specs import load_spec

    rows = []
    specs = load_spec("forms")
    for run in runs:
        for form, curated in run.harmonized.curated.items():
            frame = pd.concat([curated, run.harmonized.quarantine.get(form, pd.DataFrame())], ignore_index=True)
            names = [name for name in specs[form]["fields"] if name in frame.columns]
            if frame.empty or not names:
                continue
            filled = pd.DataFrame({name: frame[name].notna() & (frame[name].astype("string").str.strip() != "")
                                   for name in names}).fillna(False).astype(bool)
            # one grouping per form: grouping each field apart was most of this table's time
            grouped = filled.groupby(frame["site"].to_numpy(), sort=True)
            sizes, shares = grouped.size(), grouped.mean()
            for name in names:
                for site, share in shares[name].items():
                    rows.append({"study": run.study, "site": site, "form": form, "field": name,
                                 "rows": int(sizes[site]), "filled_pct": round(100 * float(share), 1)})
    return pd.DataFrame(rows, columns=["study", "site", "form", "field", "rows", "filled_pct"])


SUBMISSION_SCOPES = ("none", "study", "all")


def write_submission_files(runs: list[StudyRun], parquet: dict[str, pd.DataFrame], out: Path,
                           scope: str = "all") -> list[Path]:
    """SAS XPT v5 per domain and a Define-XML 2.1: per study (``scope`` "study"), also for the pooled
    domains ("all"), or nothing ("none"). Analysts read Parquet and SQL; the XPT package is for a
    submission, and written row by row it was the slowest step of a publish, so it is made on request."""
    if scope not in SUBMISSION_SCOPES:
        raise ValueError(f"submission scope {scope!r}: expected one of {', '.join(SUBMISSION_SCOPES)}")
    written: list[Path] = []
    if scope == "none":
        return written
    groups = {r.study: {k: v for k, v in r.sdtm.items() if k not in LINEAGE_TABLES} for r in runs}
    if scope == "all":
        groups["pooled"] = {key.split("/")[-1]: frame for key, frame in parquet.items()
                            if key.startswith("sdtm/pooled/") and key.split("/")[-1] not in LINEAGE_TABLES}
    for name, domains in groups.items():
        folder = out / "sdtm" / name
        # a submission lists datasets with records only (SDTMIG 3.4: no empty datasets)
        domains = {domain: frame for domain, frame in domains.items() if not frame.empty}
        for domain, frame in sorted(domains.items()):
            written.append(write_xpt(frame, domain, folder / "xpt" / f"{domain}.xpt"))
        written.append(write_define(name, domains, folder / "define.xml"))
    return written


def redact_url(url: str) -> str:
    """Never write a warehouse password into a file."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


def require_pseudonym_key(profiles: list[SiteProfile]) -> None:
    """Refuse before reading anything when a profile pseudonymises a column and no key is set."""
    if any(action == "pseudonymize" for p in profiles for action in p.identifiers.values()):
        pseudonym_key()


def run_pipeline(landing: Path, out: Path, warehouse_url: str | None = None, profiles_dir: Path | None = None,
                 echo: Echo | None = None, expectations: bool = True, data_docs: bool = False,
                 allow_empty: bool = False, submission: str = "none", workers: int | None = 1) -> RunSummary:
    """Run every step for both studies without Dagster.

    ``expectations``: run the Great Expectations suites on SDTM (a few seconds); ``data_docs``: also
    render their Data Docs (slower). ``allow_empty``: publish even when a study that has data in the live
    release has no source this run (otherwise ``PublishRefused`` and nothing changes). ``submission``:
    XPT + Define-XML per study ("study"), also pooled ("all"), or not at all ("none"). ``workers``: the
    studies share nothing until the release, so with more than one (None: one per core) the studies
    after the first are read, harmonized, mapped and checked in forked worker processes while this one
    does the first; their progress lines come when they end. The result is the same either way.
    """
    echo = echo or (lambda _msg: None)
    steps = len(STUDIES) * (3 if expectations else 2) + 1
    done = 0

    def say(line: str) -> None:
        nonlocal done
        done += 1
        echo(progress_line(done, steps, line))

    check_landing(landing, out, allow_empty)
    profiles = load_profiles(profiles_dir)
    require_pseudonym_key(profiles)
    state = query_state(landing, out, warehouse_url)
    job = (landing, profiles, state.accepted, out, expectations, data_docs)
    # this process does the first study; the workers, the others
    pool = forked_pool(worker_count(workers, len(STUDIES)) - 1)
    if pool is None:
        runs = [_study_steps(study, *job, say) for study in STUDIES]
    else:
        with pool:
            later = [pool.submit(_study_in_worker, study, *job) for study in STUDIES[1:]]
            runs = [_study_steps(STUDIES[0], *job, say)]
            for future in later:
                run, lines = future.result()
                for line in lines:
                    say(line)
                runs.append(run)
    started = time.perf_counter()
    summary = write_outputs(runs, out, landing, warehouse_url, state=state, allow_empty=allow_empty,
                            submission=submission)
    say(f"publish: report, Parquet, warehouse, triage workbooks ({time.perf_counter() - started:.1f} s)")
    return summary


def _study_steps(study: str, landing: Path, profiles, accepted: pd.DataFrame, out: Path, expectations: bool,
                 data_docs: bool, note: Echo) -> StudyRun:
    """One study from its landing files to a checked SDTM: ``note`` gets a line per step with its time."""
    started = time.perf_counter()

    def step(what: str) -> None:
        nonlocal started
        note(f"{what} ({time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()

    ingested = ingest(study, landing, profiles)
    step(f"{study}: ingest: {len(ingested.forms)} raw forms from {len(ingested.files)} files")
    harmonized = harmonize(ingested, accepted, out)
    ingested = ingested.without_rows()  # the raw rows are curated now; free them before SDTM's peak
    sdtm = map_sdtm(harmonized)
    step(f"{study}: harmonize and map to SDTM: {len(sdtm.domains)} domains")
    if expectations:
        sdtm = check_expectations(study, sdtm, out, data_docs)
        step(f"{study}: Great Expectations suites on {len(sdtm.domains)} SDTM tables")
    return study_run(ingested, harmonized, sdtm)


def _study_in_worker(study: str, *job) -> tuple[StudyRun, list[str]]:
    lines: list[str] = []
    return _study_steps(study, *job, lines.append), lines
