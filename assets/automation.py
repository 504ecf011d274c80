"""Unattended running: a sensor on the landing folder (content hashes, not timestamps), a daily full
rebuild, and the automation sensor that rolls site changes up to the study assets and the release."""

import json
from collections.abc import Iterable

from dagster import (
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

from dli_etl.landing_watch import (
    LANDING_DIGEST,
    RESPONSES_DIGEST,
    changed_partitions,
    partition_digests,
    response_digests,
)
from dli_etl.pipeline import STUDIES

from .partitions import site_partitions, study_asset_key
from .publishing import published
from .resources import DliEtlPaths
from .study_assets import ROLLUP_STAGES


def ingest_job_name(study: str) -> str:
    return f"ingest_sites_{study}"


def rollup_job_name(study: str) -> str:
    return f"study_rollup_{study}"


INGEST_JOBS = {study: define_asset_job(ingest_job_name(study), selection=AssetSelection.assets(study_asset_key(study, "source_files")),
                                       partitions_def=site_partitions(study),
                                       description=f"Read one {study} site's landing files (one run per site partition).")
               for study in STUDIES}
ROLLUP_JOBS = {study: define_asset_job(rollup_job_name(study),
                                       selection=AssetSelection.assets(*(study_asset_key(study, s) for s in ROLLUP_STAGES)),
                                       description=f"Harmonize, map to SDTM and derive ADaM for {study}.")
               for study in STUDIES}
publish_job = define_asset_job("publish", selection=AssetSelection.assets(published),
                               description="Publish every study as one release.")


def _requests(digests: dict[str, str], keys: list[str], prefix: str) -> list[RunRequest]:
    requests = []
    for key in keys:
        study, site = key.split("|", 1)
        digest = digests.get(key, "removed")
        requests.append(RunRequest(job_name=ingest_job_name(study), run_key=f"{prefix}{key}|{digest[:16]}",
                                   partition_key=site,
                                   tags={"dli_etl/trigger": prefix.rstrip(":") or "landing", "dli_etl/files_sha256": digest[:16]}))
    return requests


def materialized_digests(instance: DagsterInstance, keys: Iterable[str]) -> dict[str, str]:
    """``"STUDY|SITE" -> digest`` of the landing files each site partition's latest ``source_files``
    materialization read (recorded in its metadata); partitions never materialized are left out."""
    out: dict[str, str] = {}
    for key in keys:
        study, site = key.split("|", 1)
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=study_asset_key(study, "source_files"), asset_partitions=[site]), limit=1).records
        materialization = records[0].asset_materialization if records else None
        value = materialization.metadata.get(LANDING_DIGEST) if materialization is not None else None
        if value is not None:
            out[key] = str(value.value)
    return out


def materialized_responses(instance: DagsterInstance) -> dict[str, str]:
    """``STUDY -> digest`` of the answered workbooks each study's latest ``harmonized`` materialization
    applied (recorded in its metadata); a study with none recorded is left out."""
    out: dict[str, str] = {}
    for study in STUDIES:
        event = instance.get_latest_materialization_event(study_asset_key(study, "harmonized"))
        value = event.asset_materialization.metadata.get(RESPONSES_DIGEST) if event and event.asset_materialization else None
        if value is not None and str(value.value):
            out[study] = str(value.value)
    return out


@sensor(name="landing_files", jobs=[*INGEST_JOBS.values(), *ROLLUP_JOBS.values()], minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Hashes every landing file; requests a run for each site whose files changed, adds a site "
                    "partition to its study when a new site folder appears, and re-harmonizes a study whose sites "
                    "sent answered query workbooks back.")
def landing_files(context: SensorEvaluationContext, paths: DliEtlPaths) -> SensorResult:
    sites = partition_digests(paths.landing(), STUDIES, paths.profiles())
    # no cursor yet (a new deployment, or `dagster dev` over an output `dli-etl run` made): what each site
    # partition was last materialized from counts as seen, so only sites whose files differ are read again
    previous = json.loads(context.cursor) if context.cursor else {
        "sites": materialized_digests(context.instance, sites), "responses": materialized_responses(context.instance)}
    responses = response_digests(paths.landing(), STUDIES)
    additions = []
    for study in STUDIES:
        partitions = site_partitions(study)
        known = set(context.instance.get_dynamic_partitions(partitions.name))
        new_sites = sorted({key.split("|", 1)[1] for key in sites if key.split("|", 1)[0] == study} - known)
        if new_sites:
            additions.append(partitions.build_add_request(new_sites))
    changed = changed_partitions(previous.get("sites", {}), sites)
    requests = _requests(sites, changed, "")
    rolled_up = {key.split("|", 1)[0] for key in changed}
    for study in changed_partitions(previous.get("responses", {}), responses):
        if study not in rolled_up:  # a site run of the study already leads to its roll-up
            digest = responses.get(study, "removed")
            requests.append(RunRequest(job_name=rollup_job_name(study), run_key=f"responses:{study}|{digest[:16]}",
                                       tags={"dli_etl/trigger": "query_responses"}))
    return SensorResult(run_requests=requests, cursor=json.dumps({"sites": sites, "responses": responses}, sort_keys=True),
                        dynamic_partitions_requests=additions)


@schedule(name="daily_full_rebuild", job_name=ingest_job_name(STUDIES[0]), cron_schedule="0 2 * * *",
          execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING,
          description="Every night: re-read every site's files; the study assets and the release follow by automation.")
def daily_full_rebuild(context: ScheduleEvaluationContext, paths: DliEtlPaths) -> list[RunRequest]:
    current = partition_digests(paths.landing(), STUDIES, paths.profiles())
    known = {(study, site) for study in STUDIES
             for site in context.instance.get_dynamic_partitions(site_partitions(study).name)}
    keys = [k for k in sorted(current) if tuple(k.split("|", 1)) in known]
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return _requests(current, keys, f"daily:{day}:")


def study_rollups(assets: list) -> AutomationConditionSensorDefinition:
    """The automation sensor over every study's roll-up assets and the release."""
    return AutomationConditionSensorDefinition(
        "study_rollups", target=AssetSelection.assets(*assets) - AssetSelection.assets(
            *(study_asset_key(s, "source_files") for s in STUDIES)),
        default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
        description="Materializes a study's assets after its sites changed, then the release; respects blocking checks.")
