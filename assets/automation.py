"""Unattended running: a sensor on the landing folder (content hashes, not timestamps), a daily full
rebuild, and the automation sensor that rolls site changes up to the study assets and the release."""

import json
from collections.abc import Iterable

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    schedule,
    sensor,
)

from dli_etl.landing_watch import LANDING_DIGEST, changed_partitions, partition_digests, response_digests
from dli_etl.pipeline import STUDIES

from .partitions import site_partitions, study_site_key, study_site_partitions
from .publishing import published
from .resources import DliEtlPaths
from .study_assets import adam, harmonized, sdtm, source_files

ingest_sites_job = define_asset_job("ingest_sites", selection=AssetSelection.assets(source_files),
                                    partitions_def=study_site_partitions,
                                    description="Read one site's landing files (one run per study x site partition).")
study_rollup_job = define_asset_job("study_rollup", selection=AssetSelection.assets(harmonized, sdtm, adam),
                                    description="Harmonize, map to SDTM and derive ADaM for one study partition.")
publish_job = define_asset_job("publish", selection=AssetSelection.assets(published),
                               description="Publish every study as one release.")


def _requests(digests: dict[str, str], keys: list[str], prefix: str) -> list[RunRequest]:
    requests = []
    for key in keys:
        study, site = key.split("|", 1)
        digest = digests.get(key, "removed")
        requests.append(RunRequest(job_name=ingest_sites_job.name, run_key=f"{prefix}{key}|{digest[:16]}",
                                   partition_key=study_site_key(study, site),
                                   tags={"dli_etl/trigger": prefix.rstrip(":") or "landing", "dli_etl/files_sha256": digest[:16]}))
    return requests


def materialized_digests(instance: DagsterInstance, keys: Iterable[str]) -> dict[str, str]:
    """``"STUDY|SITE" -> digest`` of the landing files each site partition's latest ``source_files``
    materialization read (recorded in its metadata); partitions never materialized are left out."""
    out: dict[str, str] = {}
    for key in keys:
        study, site = key.split("|", 1)
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("source_files"), asset_partitions=[str(study_site_key(study, site))]),
            limit=1).records
        materialization = records[0].asset_materialization if records else None
        value = materialization.metadata.get(LANDING_DIGEST) if materialization is not None else None
        if value is not None:
            out[key] = str(value.value)
    return out


@sensor(name="landing_files", jobs=[ingest_sites_job, study_rollup_job], minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Hashes every landing file; requests a run for each study x site whose files changed, adds a "
                    "site partition when a new site folder appears, and re-harmonizes a study whose sites "
                    "sent answered query workbooks back.")
def landing_files(context: SensorEvaluationContext, paths: DliEtlPaths) -> SensorResult:
    sites = partition_digests(paths.landing(), STUDIES, paths.profiles())
    # no cursor yet (a new deployment, or `dagster dev` over an output `dli-etl run` made): what each site
    # partition was last materialized from counts as seen, so only sites whose files differ are read again
    previous = json.loads(context.cursor) if context.cursor else {"sites": materialized_digests(context.instance, sites)}
    responses = response_digests(paths.landing(), STUDIES)
    known = set(context.instance.get_dynamic_partitions(site_partitions.name))
    new_sites = sorted({key.split("|", 1)[1] for key in sites} - known)
    changed = changed_partitions(previous.get("sites", {}), sites)
    requests = _requests(sites, changed, "")
    rolled_up = {key.split("|", 1)[0] for key in changed}
    for study in changed_partitions(previous.get("responses", {}), responses):
        if study not in rolled_up:  # a site run of the study already leads to its roll-up
            digest = responses.get(study, "removed")
            requests.append(RunRequest(job_name=study_rollup_job.name, partition_key=study,
                                       run_key=f"responses:{study}|{digest[:16]}",
                                       tags={"dli_etl/trigger": "query_responses"}))
    return SensorResult(
        run_requests=requests,
        cursor=json.dumps({"sites": sites, "responses": responses}, sort_keys=True),
        dynamic_partitions_requests=[site_partitions.build_add_request(new_sites)] if new_sites else [],
    )


@schedule(name="daily_full_rebuild", job=ingest_sites_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING,
          description="Every night: re-read every site's files; the study assets and the release follow by automation.")
def daily_full_rebuild(context: ScheduleEvaluationContext, paths: DliEtlPaths) -> list[RunRequest]:
    current = partition_digests(paths.landing(), STUDIES, paths.profiles())
    known = set(context.instance.get_dynamic_partitions(site_partitions.name))
    keys = [k for k in sorted(current) if k.split("|", 1)[1] in known]
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return _requests(current, keys, f"daily:{day}:")


study_rollups = AutomationConditionSensorDefinition(
    "study_rollups", target=AssetSelection.assets(harmonized, sdtm, adam, published),
    default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
    description="Materializes the study assets after their sites changed, then the release; respects blocking checks.")
