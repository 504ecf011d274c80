"""The assets of one study: its sites' source files (one partition per site the study has), then the
study's harmonized forms, SDTM and ADaM. ``study_assets(study)`` builds them (the asset-factory pattern:
one set per study, keyed ``<STUDY>/<stage>``). Logic lives in ``dli_etl``; these functions only wire and
describe."""

from collections.abc import Iterator

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    AutomationCondition,
    MetadataValue,
    Output,
    asset,
)

from dli_etl import pipeline
from dli_etl.adam.build import build_adam
from dli_etl.harmonize.study import HarmonizeResult
from dli_etl.ingest.apply_profile import combine_ingested, ingest_site
from dli_etl.ingest.raw_form import IngestResult
from dli_etl.landing_watch import LANDING_DIGEST, RESPONSES_DIGEST, partition_digest, response_digests

from .checks import check_specs, run_checks
from .partitions import site_partitions, study_asset_key
from .resources import DliEtlPaths

# Runs when any site of the study changed, once no site run is still going, and never on top of a failed
# blocking check. A site partition not yet materialized must not block the others.
STUDY_ROLLUP = (
    AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())
    & AutomationCondition.all_deps_blocking_checks_passed()
)


def markdown(frame: pd.DataFrame, rows: int = 10) -> MetadataValue:
    return MetadataValue.md(frame.head(rows).to_markdown(index=False) if not frame.empty else "_empty_")


def severity_counts(findings: pd.DataFrame) -> dict[str, int]:
    counts = findings.groupby("severity").size().to_dict() if not findings.empty else {}
    return {f"findings_{s}": int(counts.get(s, 0)) for s in ("error", "warning", "info")}


def study_assets(study: str) -> list[AssetsDefinition]:
    """``<study>/source_files`` (site partitions), ``<study>/harmonized``, ``<study>/sdtm``, ``<study>/adam``."""

    @asset(key_prefix=[study], name="source_files", partitions_def=site_partitions(study), group_name=study,
           compute_kind="python", check_specs=check_specs(study, "source_files"),
           description=f"One {study} site's landing files read through its site profiles: text cells with file, "
                       "sha256 and cell lineage.")
    def source_files(context: AssetExecutionContext, paths: DliEtlPaths) -> Iterator[Output | AssetCheckResult]:
        site = context.partition_key
        profiles = paths.profiles()
        # what the landing sensor compares against when it has no cursor (a `dagster dev` on an output made
        # by `dli-etl run`): taken before reading, so a file changed during the read is seen as changed
        digest = partition_digest(paths.landing(), study, site, profiles)
        result = ingest_site(study, site, paths.landing(), profiles)
        rows: dict[str, int] = {}
        for raw in result.forms:
            rows[raw.form] = rows.get(raw.form, 0) + len(raw.frame)
        files = pd.DataFrame([{"file": f.path, "status": f.status, "sha256": f.sha256[:12]} for f in result.files])
        yield Output(result, metadata={
            "files": len(result.files), "dagster/row_count": sum(rows.values()), "rows_by_form": MetadataValue.json(rows),
            "ingest_findings": len(result.findings), "sources": markdown(files, 50), LANDING_DIGEST: digest,
        })
        yield from run_checks(study, "source_files", result)

    @asset(key_prefix=[study], name="harmonized", group_name=study, compute_kind="pandera",
           automation_condition=STUDY_ROLLUP, check_specs=check_specs(study, "harmonized"),
           ins={"source_files": AssetIn(key=study_asset_key(study, "source_files"), metadata={"allow_missing": True})},
           description=f"Typed forms of {study} in canonical units: curated records (bad values nulled), held-back "
                       "records with reasons, findings.")
    def harmonized(context: AssetExecutionContext, paths: DliEtlPaths,
                   source_files: dict[str, IngestResult]) -> Iterator[Output | AssetCheckResult]:
        ingested = combine_ingested(study, [source_files[k] for k in sorted(source_files)])
        # what the landing sensor compares answered workbooks against when it has no cursor
        responses = response_digests(paths.landing(), (study,)).get(study, "")
        state = pipeline.query_state(paths.landing(), paths.output(), paths.warehouse_url or None)
        result = pipeline.harmonize(ingested, state.accepted, paths.output())
        acc = result.accounting
        yield Output(result, metadata={
            "sites": len(source_files), "rows_in": int(acc["rows_in"].sum()), "rows_curated": int(acc["rows_curated"].sum()),
            "rows_held_back": int(acc["rows_held_back"].sum()), "dagster/row_count": int(acc["rows_curated"].sum()),
            "values_read": int(acc["values_read"].sum()), "values_nulled": int(acc["values_nulled"].sum()),
            **severity_counts(result.findings), "row_accounting": markdown(acc, 50), RESPONSES_DIGEST: responses,
            "findings_preview": markdown(result.findings[["severity", "rule_id", "site", "subjid", "message"]]
                                         if not result.findings.empty else result.findings),
        })
        yield from run_checks(study, "harmonized", result)

    @asset(key_prefix=[study], name="sdtm", group_name=study, compute_kind="sdtm", automation_condition=STUDY_ROLLUP,
           check_specs=check_specs(study, "sdtm"), ins={"harmonized": AssetIn(key=study_asset_key(study, "harmonized"))},
           description=f"SDTM domains of {study} with lineage, and the CT, cross-domain and GX findings about them.")
    def sdtm(context: AssetExecutionContext, paths: DliEtlPaths,
             harmonized: HarmonizeResult) -> Iterator[Output | AssetCheckResult]:
        result = pipeline.map_sdtm(harmonized)
        if paths.expectations:
            result = pipeline.check_expectations(study, result, paths.output(), paths.data_docs)
        meta: dict = {f"rows_{name}": len(frame) for name, frame in result.domains.items()}
        meta["dagster/row_count"] = len(result.domains["dm"])
        meta |= severity_counts(result.findings)
        meta["gx_suites_failed"] = MetadataValue.json(sorted(d for d, ok in result.expectations.items() if not ok))
        if result.data_docs:
            meta["data_docs"] = MetadataValue.path(str(result.data_docs))
        yield Output(result, metadata=meta | {"dm_preview": markdown(result.domains["dm"], 5)})
        yield from run_checks(study, "sdtm", result)

    @asset(key_prefix=[study], name="adam", group_name=study, compute_kind="adam", automation_condition=STUDY_ROLLUP,
           check_specs=check_specs(study, "adam"), ins={"sdtm": AssetIn(key=study_asset_key(study, "sdtm"))},
           description=f"ADaM-like ADSL, ADTTE, ADAE, ADLB and ADRS of {study}, derived only from its SDTM.")
    def adam(context: AssetExecutionContext, sdtm: pipeline.SdtmResult) -> Iterator[Output | AssetCheckResult]:
        datasets = build_adam(study, sdtm.domains)
        yield Output(datasets, metadata={f"rows_{name}": len(frame) for name, frame in datasets.items()}
                     | {"dagster/row_count": len(datasets["adsl"]),
                        "adtte_events": markdown(datasets["adtte"].groupby(["PARAMCD", "EVSTAT"]).size()
                                                 .rename("subjects").reset_index(), 40)})
        yield from run_checks(study, "adam", datasets)

    return [source_files, harmonized, sdtm, adam]


STAGES = ("source_files", "harmonized", "sdtm", "adam")
ROLLUP_STAGES = ("harmonized", "sdtm", "adam")
