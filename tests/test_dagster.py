"""The graph under Dagster on a real instance: partitions, the landing sensor, automation roll-ups, the
schedule, blocking and warning checks, and the multiprocess executor."""

import gc
import json
import os
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    build_reconstructable_job,
    build_schedule_context,
    build_sensor_context,
    evaluate_automation_conditions,
    execute_job,
)
from dli_etl.assets.automation import daily_full_rebuild, landing_files
from dli_etl.assets.definitions import ALL_ASSETS, build_definitions
from dli_etl.assets.resources import DliEtlPaths

from dli_etl.landing_watch import partition_digests
from dli_etl.orchestrate import materialize_all
from dli_etl.pipeline import STUDIES

REPO = Path(__file__).resolve().parents[1]
ROLLUP = ("harmonized", "sdtm", "adam")


def key(study: str, stage: str) -> AssetKey:
    return AssetKey([study, stage])


@pytest.fixture(autouse=True)
def _forget_closed_instances():
    """A run that fails a blocking check inside ``with instance:`` leaves Dagster 1.13's context variable
    for the definitions-state storage pointing at the closed instance, and the next definitions load in
    this process fails ("undefined DagsterInstance weakref"). Tests share one process; a deployment does
    not, so reset it between tests. Collect garbage first: an instance entered and never left (a
    schedule or sensor context not used as a context manager) resets the variable when it is collected,
    which can happen in the middle of a later test."""
    yield
    from dagster._core.storage.defs_state.base import _current_storage

    gc.collect()
    _current_storage.set(None)


def test_code_location_loads_partitions_jobs_sensors_schedule(monkeypatch, tmp_path):
    monkeypatch.setenv("DLI_OUTPUT_DIR", str(tmp_path))
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {
        f"{study}/{stage}" for study in STUDIES for stage in ("source_files", "harmonized", "sdtm", "adam")} | {"published"}
    # each study has its own site partitions: only the pairs that exist, never DLIPLX x S01
    assert graph.get(key("DLIPRO", "source_files")).partitions_def.name == "DLIPRO_sites"
    assert graph.get(key("DLIPLX", "source_files")).partitions_def.name == "DLIPLX_sites"
    assert graph.get(key("DLIPRO", "harmonized")).partitions_def is None
    checks = {(spec.asset_key.to_user_string(), spec.name): spec.blocking
              for asset in ALL_ASSETS for spec in asset.check_specs}
    assert checks[("DLIPRO/harmonized", "row_accounting_balanced")] and checks[("DLIPLX/adam", "adam_schemas_pass")]
    assert not checks[("DLIPRO/sdtm", "gx_suites_pass")] and not checks[("DLIPLX/source_files", "files_readable")]
    assert checks[("DLIPRO/sdtm", "sdtm_keeps_every_record")]
    for job in ("ingest_sites_DLIPRO", "ingest_sites_DLIPLX", "study_rollup_DLIPRO", "study_rollup_DLIPLX", "publish"):
        assert defs.resolve_job_def(job) is not None
    assert {defs.resolve_sensor_def(n).name for n in ("landing_files", "study_rollups")} == {"landing_files", "study_rollups"}
    assert defs.resolve_schedule_def("daily_full_rebuild").cron_schedule == "0 2 * * *"


def test_workspace_yaml_points_at_the_definitions_file():
    text = (REPO / "workspace.yaml").read_text()
    assert "dli_etl/definitions.py" in text and (REPO / "dli_etl" / "definitions.py").exists()


@pytest.fixture(scope="module")
def deployed(generated_defects, tmp_path_factory):
    """A landing folder of our own, materialized once the way `dli-etl demo` does (one run per partition)."""
    root = tmp_path_factory.mktemp("deployed")
    landing = root / "landing"
    shutil.copytree(generated_defects.landing, landing)
    out = root / "out"
    progress: list[str] = []
    # two workers whatever the machine: the site runs, then the two roll-ups, go side by side
    run = materialize_all(landing, out, expectations=False, data_docs=False, echo=progress.append, workers=2)
    return {"root": root, "progress": progress, "landing": landing, "out": out, "run": run,
            "findings": pd.read_parquet(out / "findings" / "findings.parquet"),
            "paths": DliEtlPaths(landing_dir=str(landing), output_dir=str(out), expectations=False, data_docs=False)}


def test_one_run_per_partition_then_the_release(deployed, run_defects):
    run = deployed["run"]
    assert run.success, run.failed_steps
    assert all(run.check_results.values()), {k: v for k, v in run.check_results.items() if not v}
    assert any(k.startswith("DLIPRO/source_files[S03]") for k in run.check_results)
    with DagsterInstance.local_temp(tempdir=str(deployed["out"] / ".dagster_home")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 7 + 1 + 2 + 1  # DLIPRO EDC + 6 sites, DLIPLX JLU; two studies; the release
        assert instance.get_dynamic_partitions("DLIPRO_sites") == ["EDC", "S01", "S02", "S03", "S04", "S05", "S06"]
        assert instance.get_dynamic_partitions("DLIPLX_sites") == ["JLU"]
        event = instance.get_latest_materialization_event(key("DLIPRO", "harmonized"))
        metadata = event.asset_materialization.metadata
        assert metadata["rows_in"].value == metadata["rows_curated"].value + metadata["rows_held_back"].value
        assert metadata["values_read"].value > metadata["values_nulled"].value > 0
        assert metadata["findings_error"].value > 0 and "row_accounting" in metadata
        # the site runs and the roll-ups ran in worker processes, the release in this one
        pids: dict[str, set[int]] = {}
        for record in runs:
            job = "publish" if record.job_name == "publish" else record.job_name.rsplit("_", 1)[0]
            pids.setdefault(job, set()).update(
                e.dagster_event.pid for e in instance.all_logs(record.run_id)
                if e.dagster_event and e.dagster_event.event_type_value == "STEP_START")
    assert len(pids["ingest_sites"]) == 2 and os.getpid() not in pids["ingest_sites"] | pids["study_rollup"]
    # the roll-ups' workers were forked after the site batch, once this process had loaded what they import
    assert not pids["study_rollup"] & pids["ingest_sites"] and pids["publish"] == {os.getpid()}
    lines = deployed["progress"]
    # one line per run as it ends, counted in order whichever worker ran it; the release last
    assert [line.split("] ")[1].split(" ")[0] for line in lines] == [f"{n}/11" for n in range(1, 12)]
    assert sum(": ok (" in line for line in lines) == 11 and "publish: ok" in lines[-1]
    # the Dagster graph and the plain pipeline find the same problems
    plain = pd.read_parquet(run_defects.out / "findings" / "findings.parquet")
    ours = deployed["findings"]
    gx_free = plain[~plain["rule_id"].str.startswith("GX-")]  # this deployment runs without GX
    assert set(ours["finding_id"]) == set(gx_free["finding_id"])
    assert (deployed["out"] / "report" / "dq_report.html").exists()


def _materialized(instance, asset: AssetKey) -> dict[str, int]:
    """How many times each partition of an asset was materialized."""
    from dagster import AssetRecordsFilter

    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=asset), limit=1000).records
    counts: dict[str, int] = {}
    for record in records:
        partition = record.partition_key or ""
        counts[partition] = counts.get(partition, 0) + 1
    return counts


def test_sensor_runs_only_changed_sites_and_automation_rolls_up_one_study(deployed, generated_clean):
    landing, paths = deployed["landing"], deployed["paths"]
    defs = build_definitions(paths)
    with DagsterInstance.local_temp(tempdir=str(deployed["out"] / ".dagster_home")) as instance:
        first = landing_files(build_sensor_context(instance=instance, resources={"paths": paths}))
        # no cursor, but every site was materialized from these very files: `dagster dev` starts quiet
        assert first.run_requests == []
        assert len(json.loads(first.cursor)["sites"]) == 8
        baseline = evaluate_automation_conditions(defs=defs, instance=instance)
        assert baseline.total_requested == 0  # everything is up to date after the initial runs
        watched = {"sites": key("DLIPRO", "source_files"), "pro": key("DLIPRO", "harmonized"),
                   "plx": key("DLIPLX", "harmonized")}
        before = {name: _materialized(instance, asset) for name, asset in watched.items()}

        # a touch is not a change; a re-sent S03 workbook and a new site folder are
        s03 = next((landing / "DLIPRO" / "sites" / "S03").glob("*.xlsx"))
        s03.touch()
        same = landing_files(build_sensor_context(instance=instance, cursor=first.cursor, resources={"paths": paths}))
        assert same.run_requests == []
        shutil.copy(next((generated_clean.landing / "DLIPRO" / "sites" / "S03").glob("*.xlsx")), s03)
        new_site = landing / "DLIPRO" / "sites" / "S07"
        new_site.mkdir()
        shutil.copy(next((landing / "DLIPRO" / "sites" / "S01").glob("*.xlsx")), new_site / "DLIPRO_S07_local_labs.xlsx")
        tick = landing_files(build_sensor_context(instance=instance, cursor=first.cursor, resources={"paths": paths}))
        requested = sorted((r.job_name, r.partition_key) for r in tick.run_requests)
        assert requested == [("ingest_sites_DLIPRO", "S03"), ("ingest_sites_DLIPRO", "S07")]
        assert [(r.partitions_def_name, r.partition_keys) for r in tick.dynamic_partitions_requests] == [
            ("DLIPRO_sites", ["S07"])]  # a partition of DLIPRO only
        assert json.loads(tick.cursor)["sites"]["DLIPRO|S03"] != json.loads(first.cursor)["sites"]["DLIPRO|S03"]
        instance.add_dynamic_partitions("DLIPRO_sites", ["S07"])  # what the daemon does with the request
        for request in tick.run_requests:
            assert defs.resolve_job_def(request.job_name).execute_in_process(
                instance=instance, partition_key=request.partition_key).success

        rollup = evaluate_automation_conditions(defs=defs, instance=instance, cursor=baseline.cursor)
        for stage in ROLLUP:
            assert rollup.get_num_requested(key("DLIPRO", stage)) == 1, stage
            assert rollup.get_num_requested(key("DLIPLX", stage)) == 0, stage
        assert rollup.get_num_requested(AssetKey("published")) == 0  # waits for the study run
        assert defs.resolve_job_def("study_rollup_DLIPRO").execute_in_process(instance=instance).success
        release = evaluate_automation_conditions(defs=defs, instance=instance, cursor=rollup.cursor)
        assert release.get_num_requested(AssetKey("published")) == 1
        assert release.get_num_requested(key("DLIPRO", "harmonized")) == 0

        after = {name: _materialized(instance, asset) for name, asset in watched.items()}
        changed = {p for p in after["sites"] if after["sites"][p] != before["sites"].get(p, 0)}
        assert changed == {"S03", "S07"}  # no other site was read again
        assert sum(after["pro"].values()) == sum(before["pro"].values()) + 1
        assert after["plx"] == before["plx"]  # the other study did not run


def test_a_new_instance_reads_every_site_and_a_changed_file_is_read_again_without_a_cursor(deployed, tmp_path):
    """Nothing materialized: every study x site is requested. On the instance `dli-etl run` left, only a
    site whose files differ from what its partition was materialized from."""
    paths = deployed["paths"]
    sites = partition_digests(deployed["landing"], STUDIES, paths.profiles())  # an earlier test may add S07
    with DagsterInstance.ephemeral() as fresh:
        first = landing_files(build_sensor_context(instance=fresh, resources={"paths": paths}))
    assert sorted(f"{r.job_name.removeprefix('ingest_sites_')}|{r.partition_key}" for r in first.run_requests) == \
        sorted(sites)
    landing = tmp_path / "landing"
    shutil.copytree(deployed["landing"], landing)
    jlu = next((landing / "DLIPLX" / "sites" / "JLU").glob("*.xlsx"))
    jlu.write_bytes(jlu.read_bytes() + b"\0")  # other bytes: another file as far as the digest goes
    changed = DliEtlPaths(landing_dir=str(landing), output_dir=paths.output_dir, expectations=False, data_docs=False)
    with DagsterInstance.local_temp(tempdir=str(deployed["out"] / ".dagster_home")) as instance:
        tick = landing_files(build_sensor_context(instance=instance, resources={"paths": changed}))
    assert [(r.job_name, r.partition_key) for r in tick.run_requests] == [("ingest_sites_DLIPLX", "JLU")]


def test_answered_query_workbooks_re_harmonize_their_study(deployed, tmp_path):
    """A site sends its triage workbook back: no file is re-read, the study is harmonized again."""
    landing, paths = deployed["landing"], deployed["paths"]
    with DagsterInstance.local_temp(tempdir=str(deployed["out"] / ".dagster_home")) as instance:
        first = landing_files(build_sensor_context(instance=instance, resources={"paths": paths}))
        workbook = next((deployed["out"] / "triage" / "DLIPLX").glob("*.xlsx"))
        answers = landing / "DLIPLX" / "query_responses"
        answers.mkdir(exist_ok=True)
        shutil.copy(workbook, answers / workbook.name)
        tick = landing_files(build_sensor_context(instance=instance, cursor=first.cursor, resources={"paths": paths}))
        # without a cursor too: no roll-up has applied these answers yet
        fresh = landing_files(build_sensor_context(instance=instance, resources={"paths": paths}))
        assert [r.job_name for r in fresh.run_requests] == ["study_rollup_DLIPLX"]
        # once the roll-up ran, it recorded what it applied: a sensor without a cursor starts quiet
        assert build_definitions(paths).resolve_job_def("study_rollup_DLIPLX").execute_in_process(instance=instance).success
        quiet = landing_files(build_sensor_context(instance=instance, resources={"paths": paths}))
        assert quiet.run_requests == []
    assert [(r.job_name, r.partition_key) for r in tick.run_requests] == [("study_rollup_DLIPLX", None)]
    assert tick.run_requests[0].tags["dli_etl/trigger"] == "query_responses"


def test_a_failed_gx_suite_warns_and_the_study_still_reaches_the_release(deployed, tmp_path, monkeypatch):
    """An adverse event whose term the site left blank (REQ-MISSING, the value null in SDTM) fails AE's
    not-null expectation: the check warns, ADaM is built and the release is requested, as a plain run
    publishes it. Held for a site's blank cell, a study would wait on the site."""
    from dli_etl import pipeline

    out = tmp_path / "out"
    shutil.copytree(deployed["out"], out, symlinks=True)
    paths = DliEtlPaths(landing_dir=str(deployed["landing"]), output_dir=str(out), expectations=True, data_docs=False)
    real = pipeline.harmonize

    def blank_ae_term(*args, **kwargs):
        result = real(*args, **kwargs)
        ae = result.curated["adverse_event"]
        result.curated["adverse_event"] = ae.assign(aeterm=ae["aeterm"].mask(ae.index == ae.index[0]))
        return result

    monkeypatch.setattr(pipeline, "harmonize", blank_ae_term)
    defs = build_definitions(paths)
    with DagsterInstance.local_temp(tempdir=str(out / ".dagster_home")) as instance:
        before = evaluate_automation_conditions(defs=defs, instance=instance).cursor  # automation's last look
        rollup = defs.resolve_job_def("study_rollup_DLIPLX").execute_in_process(instance=instance, raise_on_error=False)
        assert rollup.success
        gx = [e for e in rollup.get_asset_check_evaluations() if e.check_name == "gx_suites_pass"]
        assert len(gx) == 1 and not gx[0].passed and gx[0].severity == AssetCheckSeverity.WARN
        assert "AE" in gx[0].metadata["failed"].value
        assert {e.asset_key.to_user_string() for e in rollup.get_asset_materialization_events()} == {
            "DLIPLX/harmonized", "DLIPLX/sdtm", "DLIPLX/adam"}
        automation = evaluate_automation_conditions(defs=defs, instance=instance, cursor=before)
        assert automation.get_num_requested(AssetKey("published")) == 1


def test_daily_schedule_requests_every_known_site(deployed):
    home = str(deployed["out"] / ".dagster_home")
    # the schedule context enters the instance again and must leave it: left open, its garbage collection
    # later resets Dagster's definitions-state storage to this closed instance
    with DagsterInstance.local_temp(tempdir=home) as instance, build_schedule_context(
            instance=instance, resources={"paths": deployed["paths"]},
            scheduled_execution_time=datetime(2026, 11, 24, 2, tzinfo=UTC)) as context:
        requests = daily_full_rebuild(context)
    keys = sorted((r.job_name, r.partition_key) for r in requests)
    assert ("ingest_sites_DLIPRO", "EDC") in keys and ("ingest_sites_DLIPLX", "JLU") in keys
    assert len(keys) == len(set(keys)) >= 8
    assert all(r.run_key.startswith("daily:2026-11-24:") for r in requests)


def test_blocking_check_stops_downstream_and_warning_does_not(generated_clean, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    shutil.copytree(generated_clean.landing, landing)
    broken = next((landing / "DLIPLX" / "sites" / "JLU").glob("*.xlsx"))
    broken.write_bytes(b"this is not a workbook")  # an unreadable file: a warning, never a stop
    paths = DliEtlPaths(landing_dir=str(landing), output_dir=str(tmp_path / "out"), expectations=False, data_docs=False)
    defs = build_definitions(paths)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("DLIPLX_sites", ["JLU"])
        warned = defs.resolve_job_def("ingest_sites_DLIPLX").execute_in_process(
            instance=instance, partition_key="JLU", raise_on_error=False)
        assert warned.success
        readable = [e for e in warned.get_asset_check_evaluations() if e.check_name == "files_readable"]
        assert len(readable) == 1 and not readable[0].passed
        rollup = defs.resolve_job_def("study_rollup_DLIPLX").execute_in_process(instance=instance, raise_on_error=False)
        assert rollup.success  # the warning let harmonized, sdtm and adam run
        assert {e.asset_key.to_user_string() for e in rollup.get_asset_materialization_events()} == {
            "DLIPLX/harmonized", "DLIPLX/sdtm", "DLIPLX/adam"}

        # a bug upstream that loses a row: rows in != curated + quarantined stops the study at harmonized
        from dli_etl import pipeline

        real = pipeline.harmonize

        def losing_a_row(*args, **kwargs):
            result = real(*args, **kwargs)
            result.accounting.loc[result.accounting.index[0], "rows_curated"] -= 1
            return result

        monkeypatch.setattr(pipeline, "harmonize", losing_a_row)
        stopped = defs.resolve_job_def("study_rollup_DLIPLX").execute_in_process(instance=instance, raise_on_error=False)
        assert not stopped.success
        assert {e.asset_key.to_user_string() for e in stopped.get_asset_materialization_events()} == {"DLIPLX/harmonized"}
        failed = {e.check_name: e.severity for e in stopped.get_asset_check_evaluations() if not e.passed}
        assert failed == {"row_accounting_balanced": AssetCheckSeverity.ERROR, "no_unreadable_files": AssetCheckSeverity.WARN}
        automation = evaluate_automation_conditions(defs=defs, instance=instance)
        assert automation.get_num_requested(AssetKey("published")) == 0  # never published from a failed check

        # a bug that loses a subject between curated forms and DM fails a release gate and stops at sdtm
        monkeypatch.setattr(pipeline, "harmonize", real)
        real_build = pipeline.build_sdtm

        def losing_a_subject(*args, **kwargs):
            domains, found = real_build(*args, **kwargs)
            return {**domains, "dm": domains["dm"].iloc[1:]}, found

        monkeypatch.setattr(pipeline, "build_sdtm", losing_a_subject)
        gated = defs.resolve_job_def("study_rollup_DLIPLX").execute_in_process(instance=instance, raise_on_error=False)
        assert not gated.success
        assert {e.asset_key.to_user_string() for e in gated.get_asset_materialization_events()} == {
            "DLIPLX/harmonized", "DLIPLX/sdtm"}
        failed = {e.check_name for e in gated.get_asset_check_evaluations() if not e.passed}
        assert "sdtm_keeps_every_record" in failed


def test_multiprocess_executor_runs_two_partitions_in_parallel(generated_clean, tmp_path, monkeypatch):
    monkeypatch.setenv("DLI_LANDING_DIR", str(generated_clean.landing))
    monkeypatch.setenv("DLI_OUTPUT_DIR", str(tmp_path / "out"))
    (tmp_path / "home").mkdir()
    results = {}
    with DagsterInstance.local_temp(tempdir=str(tmp_path / "home")) as instance:
        # built inside the instance context: Dagster resolves definitions against the current instance
        job = build_reconstructable_job("dli_etl.assets.definitions", "job_from_environment",
                                        reconstructable_args=("ingest_sites_DLIPRO",))
        instance.add_dynamic_partitions("DLIPRO_sites", ["S01", "S02"])

        def launch(site):
            results[site] = execute_job(job, instance=instance, tags={"dagster/partition": site},
                                        run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}})

        threads = [threading.Thread(target=launch, args=(site,)) for site in ("S01", "S02")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        windows = []
        for site, result in results.items():
            assert result.success, site
            record = instance.get_run_record_by_id(result.run_id)
            windows.append((record.start_time, record.end_time))
            assert instance.get_run_by_id(result.run_id).tags["dagster/partition"] == site
            logs = instance.all_logs(result.run_id)
            # the step ran in a worker process of the multiprocess executor, not in the test process
            step_pids = {e.dagster_event.pid for e in logs
                         if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"}
            assert step_pids and os.getpid() not in step_pids
            materialized = [e for e in logs if e.dagster_event and e.dagster_event.is_step_materialization]
            assert [e.dagster_event.partition for e in materialized] == [site]
    (a_start, a_end), (b_start, b_end) = windows
    assert a_start < b_end and b_start < a_end  # the two partitions' runs overlapped in time


def test_a_landing_with_one_site_runs_in_dagster_mode(generated_defects, tmp_path):
    """A legitimate first transfer (only Study B's REDCap export) once failed with DagsterTypeCheckDidNotPass:
    one upstream partition reaches an asset as the value itself, not as a dict, and the other study has none."""
    shutil.copytree(generated_defects.landing / "DLIPLX" / "redcap", tmp_path / "landing" / "DLIPLX" / "redcap")
    run = materialize_all(tmp_path / "landing", tmp_path / "out", expectations=False, data_docs=False)
    assert run.success, run.failed_steps
    assert run.published["subjects"] == {"DLIPLX": 28}
    assert pd.read_parquet(tmp_path / "out" / "sdtm" / "DLIPLX" / "dm.parquet").shape[0] == 28


def test_a_failed_site_partition_does_not_stop_the_other_sites(generated_clean, tmp_path, monkeypatch):
    """One site that cannot be ingested: the other sites still run and record their checks, that study is
    not rolled up and nothing is released (the previous release stays live), and the error is one line."""
    import dli_etl.assets.study_assets as study_assets

    real = study_assets.ingest_site

    def broken_for_s03(study, site, landing, profiles):
        if site == "S03":
            raise RuntimeError("simulated reader crash on S03")
        return real(study, site, landing, profiles)

    monkeypatch.setattr(study_assets, "ingest_site", broken_for_s03)
    landing = tmp_path / "landing"
    shutil.copytree(generated_clean.landing, landing)
    progress: list[str] = []
    # one run after the other in this process (workers=1): the path a one-core machine takes
    run = materialize_all(landing, tmp_path / "out", expectations=False, data_docs=False, echo=progress.append,
                          workers=1)
    assert not run.success and run.published is None
    assert any("S03" in line and "simulated reader crash on S03" in line for line in run.errors)
    ran = [line for line in progress if "ingest_sites" in line]
    assert len(ran) == 8 and sum("FAILED" in line for line in ran) == 1  # every other site still ran
    assert any("study_rollup DLIPLX: ok" in line for line in progress)
    assert any("study_rollup DLIPRO: skipped" in line for line in progress)
    assert any("publish: skipped" in line for line in progress)
    assert any(k.startswith("DLIPRO/source_files[S04]") for k in run.check_results)


def test_a_worker_that_dies_fails_its_runs_and_nothing_is_released(generated_clean, tmp_path, monkeypatch):
    """A worker process killed in the middle of a site run (as the kernel's OOM killer would): the run
    never hangs, the runs it took are failed by name, the study is not rolled up and nothing is released."""
    import signal

    import dli_etl.assets.study_assets as study_assets

    real = study_assets.ingest_site

    def killed_on_s03(study, site, landing, profiles):
        if site == "S03":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(study, site, landing, profiles)

    monkeypatch.setattr(study_assets, "ingest_site", killed_on_s03)
    progress: list[str] = []
    run = materialize_all(generated_clean.landing, tmp_path / "out", expectations=False, data_docs=False,
                          echo=progress.append, workers=2)
    assert not run.success and run.published is None
    assert any(line.startswith("ingest_sites DLIPRO|S03: a worker process died") for line in run.errors)
    assert any("ingest_sites DLIPRO|S03: FAILED (a worker process died)" in line for line in progress)
    assert any("study_rollup DLIPRO: skipped" in line for line in progress)
    assert any("publish: skipped" in line for line in progress)
    assert not (tmp_path / "out" / "current").exists()


def test_a_failed_roll_up_stops_the_release_and_says_so(generated_clean, tmp_path, monkeypatch):
    """A blocking check failing in one study's roll-up (a bug that loses a row): the other study still
    rolls up, the release is skipped with a line naming the study, and nothing is published."""
    from dli_etl import pipeline

    real = pipeline.harmonize

    def losing_a_dliplx_row(ingested, *args, **kwargs):
        result = real(ingested, *args, **kwargs)
        if ingested.study == "DLIPLX":
            result.accounting.loc[result.accounting.index[0], "rows_curated"] -= 1
        return result

    monkeypatch.setattr(pipeline, "harmonize", losing_a_dliplx_row)
    landing = tmp_path / "landing"  # Study A's EDC export only: one site run per study keeps this short
    shutil.copytree(generated_clean.landing, landing, ignore=shutil.ignore_patterns("sites"))
    progress: list[str] = []
    run = materialize_all(landing, tmp_path / "out", expectations=False, data_docs=False,
                          echo=progress.append, workers=2)
    assert not run.success and run.published is None
    assert run.check_results["DLIPLX/harmonized:row_accounting_balanced"] is False
    assert any("study_rollup DLIPRO: ok" in line for line in progress)
    assert any("study_rollup DLIPLX: FAILED" in line for line in progress)
    assert "publish: skipped, the roll-up of DLIPLX failed" in progress[-1] and progress[-1].startswith("[#")
    assert not (tmp_path / "out" / "current").exists()
