"""The run-level asset: publish every study's tables, the report and the manifest as one release."""

from dagster import AssetExecutionContext, AssetIn, AssetSelection, AutomationCondition, MetadataValue, asset

from dli_etl import pipeline
from dli_etl.ingest.apply_profile import combine_ingested

from .partitions import study_asset_key
from .resources import DliEtlPaths
from .study_assets import STAGES

# After a study's roll-up updated (the site files alone are not enough: their study must be rolled up
# first), once nothing upstream is running; never from a study whose blocking check failed.
PUBLISH = (
    AutomationCondition.any_deps_match(AutomationCondition.newly_updated())
    .ignore(AssetSelection.assets(*(study_asset_key(s, "source_files") for s in pipeline.STUDIES)))
    .since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & AutomationCondition.all_deps_blocking_checks_passed()
)


@asset(
    group_name="publish", compute_kind="sqlalchemy", automation_condition=PUBLISH,
    # a study with no source yet has nothing upstream: publish the studies that exist
    ins={f"{study}__{stage}": AssetIn(key=study_asset_key(study, stage), metadata={"allow_missing": True})
         for study in pipeline.STUDIES for stage in STAGES},
    description="One release: Parquet, SQL warehouse tables (one transaction), findings workbook, HTML report, "
                "triage workbooks and the run manifest, switched live atomically.",
)
def published(context: AssetExecutionContext, paths: DliEtlPaths, **stages: object) -> dict[str, object]:
    runs, adams = [], {}
    for study in pipeline.STUDIES:
        source_files, harmonized, sdtm, adam = (stages[f"{study}__{stage}"] for stage in STAGES)
        if harmonized is None or sdtm is None:
            continue
        parts = [source_files[k] for k in sorted(source_files or {})]
        runs.append(pipeline.study_run(combine_ingested(study, parts), harmonized, sdtm))
        if adam is not None:
            adams[study] = adam
    state = pipeline.query_state(paths.landing(), paths.output(), paths.warehouse_url or None)
    analysis = pipeline.analyse_adams(adams, paths.output())
    summary = pipeline.write_outputs(runs, paths.output(), paths.landing(), paths.warehouse_url or None,
                                     run_id=context.run_id, state=state, analysis=analysis,
                                     allow_empty=paths.allow_empty, submission=paths.submission)
    totals = summary.accounting[["rows_in", "rows_curated", "rows_held_back", "values_read", "values_curated",
                                 "values_nulled", "values_held_back"]].sum().astype(int).to_dict()
    context.add_output_metadata({
        "release": MetadataValue.path(str(paths.output() / "runs" / summary.run_id)),
        "report": MetadataValue.path(str(summary.report)),
        "findings_xlsx": MetadataValue.path(str(summary.findings_xlsx)),
        "warehouse": pipeline.redact_url(summary.warehouse_url),
        **totals, "findings": MetadataValue.json(summary.findings_by_severity),
        "parquet_files": summary.parquet_files, "sql_tables": MetadataValue.json(summary.sql_tables),
        "subjects": MetadataValue.json(summary.subjects), "queries": MetadataValue.json(summary.queries_by_status),
        "endpoints_preview": MetadataValue.md(analysis.endpoints[["STUDYID", "ANALYSIS_GROUP", "ENDPOINT", "MEASURE", "ESTIMATE"]]
                                              .head(15).round(3).to_markdown(index=False)),
        "triage_workbooks": MetadataValue.md("\n".join(f"- `{p}`" for p in summary.triage_workbooks) or "_none_"),
    })
    return {"run_id": summary.run_id, "report": str(summary.report), "subjects": summary.subjects,
            "findings_by_severity": summary.findings_by_severity, "sql_tables": summary.sql_tables,
            "parquet_files": summary.parquet_files, "warehouse_url": summary.warehouse_url,
            "findings_xlsx": str(summary.findings_xlsx), "queries_by_status": summary.queries_by_status,
            "triage": [str(p) for p in summary.triage_workbooks], "notes": summary.notes,
            "accounting": summary.accounting.to_dict("records")}
